//! Scatter plots of 2-D points: generated samples over the data ([`scatter_png`]) and
//! the mode plots of the mixture metrics ([`Scatter`] with [`Circles`]).

use plotters::prelude::*;

use super::{err, font, render, rgb, DrawResult, BLACK, RED};
use crate::error::Result;

/// A group of points of a [`Scatter`], drawn as squares in one exact colour.
#[derive(Clone, Copy, Debug)]
pub struct Points<'a> {
    /// Coordinates x0, y0, x1, y1 ...; non-finite points are skipped.
    pub xy: &'a [f32],
    /// Their colour.
    pub color: [u8; 3],
    /// Side of each square in pixels.
    pub size: u32,
    /// Legend entry.
    pub label: &'a str,
}

/// Circles of one radius (data units) around centres, each centre dotted black.
#[derive(Clone, Copy, Debug)]
pub struct Circles<'a> {
    /// The centres.
    pub centres: &'a [[f32; 2]],
    /// Radius in data units.
    pub radius: f32,
    /// Least radius in pixels, so that narrow circles stay visible.
    pub min_pixels: f64,
    /// Stroke colour.
    pub color: [u8; 3],
    /// Legend entry.
    pub label: &'a str,
}

/// A square scatter plot over [-lim, lim]^2.
#[derive(Clone, Debug)]
pub struct Scatter<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Point groups, drawn in order.
    pub points: Vec<Points<'a>>,
    /// Circles drawn over the points.
    pub circles: Option<Circles<'a>>,
    /// Half the side of the view in data units.
    pub lim: f64,
    /// Side of the image in pixels.
    pub size: u32,
}

/// Renders `s` as PNG bytes.
pub fn scatter_chart_png(s: &Scatter<'_>) -> Result<Vec<u8>> {
    render(s.size, s.size, |root| draw(root, s))
}

fn draw(root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, s: &Scatter) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let lim = s.lim;
    let mut ch = ChartBuilder::on(root)
        .caption(s.title, font(20.0).color(&rgb(BLACK)))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(-lim..lim, -lim..lim)
        .map_err(err)?;
    ch.configure_mesh()
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(220, 220, 220))
        .x_desc("x")
        .y_desc("y")
        .axis_desc_style(font(15.0))
        .label_style(font(12.0))
        .draw()
        .map_err(err)?;
    for p in &s.points {
        let color = rgb(p.color);
        let side = p.size.max(1) as i32;
        let o = -side / 2;
        let finite =
            p.xy.chunks_exact(2)
                // Points outside the view would be clamped onto its edge: leave them out.
                .filter(|q| (q[0] as f64).abs() <= lim && (q[1] as f64).abs() <= lim);
        let squares = finite.map(|q| {
            let at = (q[0] as f64, q[1] as f64);
            EmptyElement::at(at) + Rectangle::new([(o, o), (o + side, o + side)], color.filled())
        });
        ch.draw_series(squares)
            .map_err(err)?
            .label(p.label)
            .legend(move |(x, y)| {
                Rectangle::new([(x + 6, y - 3), (x + 12, y + 3)], color.filled())
            });
    }
    if let Some(c) = &s.circles {
        let color = rgb(c.color);
        let px = ch.plotting_area().dim_in_pixel().0.max(1) as f64;
        let r = (c.radius as f64).max(c.min_pixels * 2.0 * lim / px);
        for (i, m) in c.centres.iter().enumerate() {
            let (cx, cy) = (m[0] as f64, m[1] as f64);
            let ring = (0..=96).map(|k| {
                let a = std::f64::consts::TAU * k as f64 / 96.0;
                (cx + r * a.cos(), cy + r * a.sin())
            });
            let drawn = ch
                .draw_series(LineSeries::new(ring, color.stroke_width(2)))
                .map_err(err)?;
            if i == 0 {
                drawn
                    .label(c.label)
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, color.stroke_width(2)));
            }
        }
        let dots = c.centres.iter().map(|m| {
            EmptyElement::at((m[0] as f64, m[1] as f64))
                + Rectangle::new([(0, 0), (1, 1)], BLACK_COLOR.filled())
        });
        ch.draw_series(dots).map_err(err)?;
    }
    ch.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(190, 190, 190))
        .label_font(font(13.0))
        .draw()
        .map_err(err)?;
    Ok(())
}

const BLACK_COLOR: RGBColor = RGBColor(0, 0, 0);

/// A scatter plot (512 x 512) of real 2-D points (gray) and generated ones (red).
pub fn scatter_png(real: &[f32], fake: &[f32]) -> Result<Vec<u8>> {
    let lim = real
        .iter()
        .chain(fake.iter().filter(|v| v.is_finite() && v.abs() < 10.0))
        .fold(1.0f32, |m, v| m.max(v.abs()))
        * 1.1;
    scatter_chart_png(&Scatter {
        title: "Generated samples over the data",
        points: vec![
            Points {
                xy: real,
                color: [170, 170, 170],
                size: 1,
                label: "data",
            },
            Points {
                xy: fake,
                color: RED,
                size: 3,
                label: "generated",
            },
        ],
        circles: None,
        lim: lim as f64,
        size: 512,
    })
}
