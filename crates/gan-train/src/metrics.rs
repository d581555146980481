//! The metrics of training: computed on the GPU every step and added into one small
//! buffer ([`MetricsBuffer`]), read back every `log_every` steps as a [`Metrics`] row of
//! `metrics.csv`: each row holds the means over the steps since the previous row (one
//! readback per row, none per step), so the curves are not single-batch noise.

use std::path::Path;

use gan_tensor::{Context, Tensor};

use crate::error::{Result, TrainError};
use crate::rundir::{write_atomic, METRICS};

/// A row of `metrics.csv`: the step it was logged at and the means of the step metrics
/// over the steps since the previous row (this one included).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics {
    /// Generator steps done (1 after the first).
    pub step: u64,
    /// Epochs of real data consumed.
    pub epoch: f64,
    /// D's loss of the last discriminator step (for the BCE losses BCE(D(x), real label)
    /// + BCE(D(G(z)), 0); see [`crate::Objective`]).
    pub d_loss: f32,
    /// The generator's loss (its objective, see [`crate::GLoss`]).
    pub g_loss: f32,
    /// Mean D(x) = sigmoid(D's output) over the real batch (before D's update): a
    /// probability for the BCE losses, only a squashed score for hinge and least squares.
    pub d_real: f32,
    /// Mean D(G(z)) = sigmoid(D's output) over the generated batch (before D's update).
    pub d_fake: f32,
    /// Minus D's loss with unsmoothed labels ([`crate::Objective::value`]): for the BCE
    /// losses the batch estimate of V(D, G) = E log D(x) + E log(1 - D(G(z))), -log 4 at
    /// the game's equilibrium; for hinge and least squares what D maximises, -2 and
    /// -0.25 at equilibrium ([`crate::GLoss::value_meaning`]).
    pub value: f32,
    /// Seconds of training so far (resumed runs include the earlier sessions).
    pub elapsed: f64,
}

/// Number of GPU-side metrics of a step.
pub const NUM_METRICS: usize = 5;
/// Their names, in the buffer's order.
pub const METRIC_NAMES: [&str; NUM_METRICS] = ["d_loss", "g_loss", "d_real", "d_fake", "value"];
// `rundir::PendingMetrics` holds the sums as `[u32; 5]`.
const _: () = assert!(NUM_METRICS == 5);

/// One aligned slot per metric in one GPU buffer: every step adds its five scalars there
/// without a readback; [`MetricsBuffer::read`] returns the means over the steps since the
/// previous read and starts a new interval. A non-finite value in any step of the
/// interval makes its sum, hence its mean, non-finite, so divergence is still seen.
pub struct MetricsBuffer {
    ctx: Context,
    buf: Tensor,
    views: Vec<Tensor>,
    steps: u32,
}

impl MetricsBuffer {
    /// A zeroed buffer.
    pub fn new(ctx: &Context) -> Result<MetricsBuffer> {
        let align = ctx.view_alignment();
        let buf = Tensor::zeros(ctx, &[NUM_METRICS * align])?;
        let views = (0..NUM_METRICS)
            .map(|i| buf.view(i * align, &[1]))
            .collect::<gan_tensor::Result<Vec<_>>>()?;
        Ok(MetricsBuffer {
            ctx: ctx.clone(),
            buf,
            views,
            steps: 0,
        })
    }

    /// Adds the step's scalars (`[1]` each, in [`METRIC_NAMES`] order) to the interval's
    /// sums, on the GPU.
    pub fn record(&mut self, values: [&Tensor; NUM_METRICS]) -> Result<()> {
        for (view, t) in self.views.iter().zip(values) {
            view.add_assign(t)?;
        }
        self.steps += 1;
        Ok(())
    }

    /// Steps recorded since the last [`MetricsBuffer::read`].
    pub fn pending_steps(&self) -> u32 {
        self.steps
    }

    /// Reads the interval's sums back without ending the interval (e.g. to save them
    /// with a checkpoint taken between two log steps).
    pub fn sums(&self) -> Result<[f32; NUM_METRICS]> {
        let all = self.buf.to_vec()?;
        let align = self.ctx.view_alignment();
        Ok(std::array::from_fn(|i| all[i * align]))
    }

    /// The means over the steps recorded since the last read (one readback), and starts
    /// a new interval. An error when no step was recorded.
    pub fn read(&mut self) -> Result<[f32; NUM_METRICS]> {
        if self.steps == 0 {
            return Err(TrainError::Config(
                "no training step recorded since the metrics were last read".into(),
            ));
        }
        let n = self.steps as f32;
        let means = self.sums()?.map(|s| s / n);
        self.buf.fill_(0.0)?;
        self.steps = 0;
        Ok(means)
    }

    /// Sets the interval's sums and step count (a resumed run continues the interval its
    /// checkpoint was taken in).
    pub fn restore(&mut self, sums: [f32; NUM_METRICS], steps: u32) -> Result<()> {
        self.buf.fill_(0.0)?;
        for (view, s) in self.views.iter().zip(sums) {
            view.fill_(s)?;
        }
        self.steps = steps;
        Ok(())
    }

    /// The first metric that is not finite, as (name, value).
    pub fn first_non_finite(values: &[f32; NUM_METRICS]) -> Option<(&'static str, f32)> {
        METRIC_NAMES
            .iter()
            .zip(values)
            .find(|(_, v)| !v.is_finite())
            .map(|(n, v)| (*n, *v))
    }
}

const HEADER: &str = "step,epoch,d_loss,g_loss,d_real,d_fake,value,elapsed";

/// Writes `dir/metrics.csv` (atomically) with one line per row.
pub fn write_metrics(dir: &Path, rows: &[Metrics]) -> Result<()> {
    let mut s = String::with_capacity(64 * (rows.len() + 1));
    s.push_str(HEADER);
    s.push('\n');
    for r in rows {
        // f32 Display is the shortest representation that reads back bit-exact.
        s.push_str(&format!(
            "{},{:.4},{},{},{},{},{},{:.3}\n",
            r.step, r.epoch, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.value, r.elapsed
        ));
    }
    write_atomic(&dir.join(METRICS), s.as_bytes())
}

/// Reads a run directory's `metrics.csv` (empty when there is none).
pub fn read_metrics(dir: &Path) -> Result<Vec<Metrics>> {
    let path = dir.join(METRICS);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(&path, e)),
    };
    let columns: Vec<&str> = HEADER.split(',').collect();
    let bad = |line: usize, what: String| TrainError::CorruptCheckpoint {
        path: path.clone(),
        msg: format!("line {line}: {what}"),
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != columns.len() {
            let what = format!(
                "{} fields, a metrics row has {} ({HEADER})",
                f.len(),
                columns.len()
            );
            return Err(bad(i + 1, what));
        }
        // The field's name and its text in the message: `step = "x" is not a number`.
        let field = |k: usize| {
            bad(
                i + 1,
                format!("{} = {:?} is not a number", columns[k], f[k]),
            )
        };
        let p32 = |k: usize| f[k].parse::<f32>().map_err(|_| field(k));
        let p64 = |k: usize| f[k].parse::<f64>().map_err(|_| field(k));
        rows.push(Metrics {
            step: f[0].parse().map_err(|_| field(0))?,
            epoch: p64(1)?,
            d_loss: p32(2)?,
            g_loss: p32(3)?,
            d_real: p32(4)?,
            d_fake: p32(5)?,
            value: p32(6)?,
            elapsed: p64(7)?,
        });
    }
    Ok(rows)
}
