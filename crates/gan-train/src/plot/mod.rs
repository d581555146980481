//! PNG figures: sample grids (gan-data's `make_grid`), and line and scatter plots drawn
//! with [plotters](https://docs.rs/plotters) on its bitmap backend, with titles, axis
//! labels and legends in DejaVu Sans, embedded in the binary (no system fonts needed).
//! One module for the run plots ([`write_run_plots`]), the theory figures
//! ([`line_plot_png`]) and the mode scatters ([`scatter_chart_png`]). PNG encoding is
//! gan-data's `encode_png_rgb`.

mod lines;
mod runs;
mod scatter;

use std::sync::Once;

use gan_data::{encode_png_rgb, make_grid, GridOptions, ImageShape};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{Result, TrainError};

pub use lines::{chart_png, line_plot_png, Chart, Line, RefLine, Series};
pub use runs::{d_outputs_png, running_mean, write_run_plots};
pub use scatter::{scatter_chart_png, scatter_png, Circles, Points, Scatter};

/// DejaVu Sans (Bitstream Vera license, `assets/fonts/DejaVuSans-LICENSE`).
static FONT: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
/// The family name the embedded font is registered under.
const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font, checked by the tests.
        if register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded DejaVu Sans font does not parse");
        }
    });
}

/// A font of the embedded family at `size` pixels.
fn font(size: f64) -> FontDesc<'static> {
    register();
    FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Normal)
}

/// Renders with `draw` onto a white `w` x `h` RGB canvas and encodes it as PNG.
fn render(
    w: u32,
    h: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> DrawResult,
) -> Result<Vec<u8>> {
    register();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root).map_err(|e| TrainError::Config(format!("drawing a plot failed: {e}")))?;
        root.present()
            .map_err(|e| TrainError::Config(format!("drawing a plot failed: {e}")))?;
    }
    encode(w, h, &buf)
}

/// What a drawing closure returns: plotters' errors as text.
type DrawResult = std::result::Result<(), String>;

/// Turns any plotters error into text for [`DrawResult`].
fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn encode(w: u32, h: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    encode_png_rgb(w, h, rgb).map_err(|e| TrainError::Config(format!("PNG encoding failed: {e}")))
}

/// `c` as a plotters colour.
fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// `c` mixed with white, `alpha` of `c` (0..1): faint lines stay opaque, so their
/// pixels do not depend on what lies under them.
fn faint(c: [u8; 3], alpha: f64) -> RGBColor {
    let m = |v: u8| (v as f64 * alpha + 255.0 * (1.0 - alpha)).round() as u8;
    RGBColor(m(c[0]), m(c[1]), m(c[2]))
}

/// Red, the first series.
pub const RED: [u8; 3] = [214, 39, 40];
/// Blue, the second series.
pub const BLUE: [u8; 3] = [31, 119, 180];
/// Green, the third series.
pub const GREEN: [u8; 3] = [44, 160, 44];
/// Black, for text.
pub const BLACK: [u8; 3] = [0, 0, 0];
/// The colour of the dashed reference lines.
pub const REF_GRAY: [u8; 3] = [110, 110, 110];

/// A grid of images (values in [-1, 1]) as PNG bytes.
pub fn grid_png(values: &[f32], shape: ImageShape, columns: usize) -> Result<Vec<u8>> {
    let g = make_grid(
        values,
        shape,
        GridOptions {
            columns,
            padding: 2,
            pad_value: 1.0,
        },
    )?;
    let rgb: Vec<u8> = if g.channels == 1 {
        g.pixels.iter().flat_map(|&v| [v, v, v]).collect()
    } else {
        g.pixels.clone()
    };
    encode(g.width, g.height, &rgb)
}
