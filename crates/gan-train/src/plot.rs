//! PNG output without fonts or system libraries: sample grids (gan-data's `make_grid`),
//! 2-D scatter plots and line plots drawn pixel by pixel with the `image` crate. Axis
//! numbers, titles and legends use a built-in 3x5 font (digits, capitals, a few signs;
//! lower case is drawn as capitals).

use std::path::Path;

use gan_data::{encode_png_rgb, make_grid, GridOptions, ImageShape};
use image::{Rgb, RgbImage};

use crate::config::GLoss;
use crate::error::{Result, TrainError};
use crate::metrics::Metrics;
use crate::rundir::write_atomic;

fn encode(img: &RgbImage) -> Result<Vec<u8>> {
    encode_png_rgb(img.width(), img.height(), img.as_raw())
        .map_err(|e| TrainError::Config(format!("PNG encoding failed: {e}")))
}

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
    let mut img = RgbImage::new(g.width, g.height);
    for (i, px) in img.pixels_mut().enumerate() {
        *px = if g.channels == 1 {
            let v = g.pixels[i];
            Rgb([v, v, v])
        } else {
            Rgb([g.pixels[3 * i], g.pixels[3 * i + 1], g.pixels[3 * i + 2]])
        };
    }
    encode(&img)
}

// 3x5 glyphs, rows top to bottom, 3 bits each (MSB = left).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        'k' => [4, 5, 6, 5, 5],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        '=' => [0, 7, 0, 7, 0],
        '+' => [0, 2, 7, 2, 0],
        ',' => [0, 0, 0, 2, 4],
        ':' => [0, 2, 0, 2, 0],
        '/' => [1, 1, 2, 4, 4],
        '^' => [2, 5, 0, 0, 0],
        c if c.is_ascii_lowercase() => return glyph(c.to_ascii_uppercase()),
        _ => return None,
    })
}

/// Draws `text` with its top-left corner at (x, y), each font pixel `scale` pixels.
fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, color: Rgb<u8>, scale: i64) {
    let mut cx = x;
    for c in s.chars() {
        if let Some(g) = glyph(c) {
            for (row, bits) in g.iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                put(
                                    img,
                                    cx + col * scale + dx,
                                    y + row as i64 * scale + dy,
                                    color,
                                );
                            }
                        }
                    }
                }
            }
        }
        cx += 4 * scale;
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn line(img: &mut RgbImage, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: Rgb<u8>) {
    let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as i64).max(1);
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        put(img, x.round() as i64, y.round() as i64, c);
        put(img, x.round() as i64, y.round() as i64 + 1, c);
    }
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 1000.0 && (v / 1000.0).fract().abs() < 1e-9 {
        format!("{}k", (v / 1000.0) as i64)
    } else if v.fract().abs() < 1e-9 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').to_string()
    }
}

fn nice_step(range: f64, ticks: f64) -> f64 {
    let raw = (range / ticks).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f < 1.5 {
        1.0
    } else if f < 3.5 {
        2.0
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    }
}

/// A series for [`line_plot_png`].
pub struct Series<'a> {
    /// (x, y) points.
    pub points: &'a [(f64, f64)],
    /// Line colour.
    pub color: [u8; 3],
}

pub const RED: [u8; 3] = [214, 39, 40];
pub const BLUE: [u8; 3] = [31, 119, 180];
pub const GREEN: [u8; 3] = [44, 160, 44];
const GRAY: Rgb<u8> = Rgb([150, 150, 150]);
const LIGHT: Rgb<u8> = Rgb([232, 232, 232]);

/// A run of title text in one colour: a title line is a few of these side by side, so a
/// label drawn in a series' colour is that series' legend entry.
#[derive(Clone, Copy, Debug)]
pub struct Label<'a> {
    /// The text (3x5 font: digits, letters, `( ) = + - , : / ^ .`).
    pub text: &'a str,
    /// Its colour.
    pub color: [u8; 3],
}

/// Black, for title text.
pub const BLACK: [u8; 3] = [0, 0, 0];
/// The colour of the dashed reference lines, for their legend entries.
pub const REF_GRAY: [u8; 3] = [150, 150, 150];

/// A line plot (800 x 450) of `series` with dashed horizontal reference lines at `refs`,
/// light grid lines and numbered axes.
pub fn line_plot_png(series: &[Series<'_>], refs: &[f64]) -> Result<Vec<u8>> {
    line_plot_titled_png(series, refs, &[])
}

/// [`line_plot_png`] with title lines above the plot (each a row of coloured [`Label`]s:
/// the title and the legend).
pub fn line_plot_titled_png(
    series: &[Series<'_>],
    refs: &[f64],
    title: &[&[Label<'_>]],
) -> Result<Vec<u8>> {
    let title_h = 14.0 * title.len() as f64;
    let (w, h) = (800u32, 450u32 + title_h as u32);
    let (left, right, top, bottom) = (60.0, 20.0, 20.0 + title_h, 40.0);
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    for (i, row) in title.iter().enumerate() {
        let mut x = left as i64;
        for l in row.iter() {
            text(&mut img, x, 6 + 14 * i as i64, l.text, Rgb(l.color), 2);
            x += 8 * l.text.chars().count() as i64;
        }
    }
    let pts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    for &r in refs {
        y0 = y0.min(r);
        y1 = y1.max(r);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    (y0, y1) = (y0 - pad, y1 + pad);
    let pw = w as f64 - left - right;
    let ph = h as f64 - top - bottom;
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| top + (1.0 - (y - y0) / (y1 - y0)) * ph;
    // Grid and ticks.
    let ystep = nice_step(y1 - y0, 6.0);
    let mut y = (y0 / ystep).ceil() * ystep;
    while y <= y1 {
        line(&mut img, (left, sy(y)), (left + pw, sy(y)), LIGHT);
        text(
            &mut img,
            4,
            sy(y).round() as i64 - 5,
            &fmt_tick(y),
            Rgb([0, 0, 0]),
            2,
        );
        y += ystep;
    }
    let xstep = nice_step(x1 - x0, 8.0);
    let mut x = (x0 / xstep).ceil() * xstep;
    while x <= x1 {
        line(&mut img, (sx(x), top), (sx(x), top + ph), LIGHT);
        let label = fmt_tick(x);
        let lx = sx(x).round() as i64 - (label.len() as i64 * 8) / 2;
        text(
            &mut img,
            lx,
            (top + ph + 10.0) as i64,
            &label,
            Rgb([0, 0, 0]),
            2,
        );
        x += xstep;
    }
    // Reference lines, dashed.
    for &r in refs {
        let yy = sy(r);
        let mut xx = left;
        while xx < left + pw {
            line(&mut img, (xx, yy), ((xx + 8.0).min(left + pw), yy), GRAY);
            xx += 14.0;
        }
    }
    for s in series {
        let c = Rgb(s.color);
        for win in s.points.windows(2) {
            let (a, b) = (win[0], win[1]);
            if a.1.is_finite() && b.1.is_finite() {
                line(&mut img, (sx(a.0), sy(a.1)), (sx(b.0), sy(b.1)), c);
            }
        }
        if s.points.len() == 1 {
            let p = s.points[0];
            line(
                &mut img,
                (sx(p.0) - 2.0, sy(p.1)),
                (sx(p.0) + 2.0, sy(p.1)),
                c,
            );
        }
    }
    // Frame.
    let black = Rgb([0, 0, 0]);
    line(&mut img, (left, top), (left, top + ph), black);
    line(&mut img, (left, top + ph), (left + pw, top + ph), black);
    encode(&img)
}

/// A scatter plot (512 x 512) of real 2-D points (gray) and generated ones (red).
pub fn scatter_png(real: &[f32], fake: &[f32]) -> Result<Vec<u8>> {
    let size = 512u32;
    let mut img = RgbImage::from_pixel(size, size, Rgb([255, 255, 255]));
    let lim = real
        .iter()
        .chain(fake.iter().filter(|v| v.is_finite() && v.abs() < 10.0))
        .fold(1.0f32, |m, v| m.max(v.abs()))
        * 1.1;
    let to_px = |v: f32| ((v / lim * 0.5 + 0.5) * (size - 1) as f32).round() as i64;
    let mid = (size / 2) as f64;
    line(&mut img, (0.0, mid), (size as f64, mid), LIGHT);
    line(&mut img, (mid, 0.0), (mid, size as f64), LIGHT);
    let mut dot = |x: f32, y: f32, c: Rgb<u8>, r: i64| {
        let (px, py) = (to_px(x), to_px(-y));
        for dy in -r..=r {
            for dx in -r..=r {
                put(&mut img, px + dx, py + dy, c);
            }
        }
    };
    for p in real.chunks_exact(2) {
        dot(p[0], p[1], Rgb([170, 170, 170]), 0);
    }
    for p in fake.chunks_exact(2) {
        dot(p[0], p[1], Rgb(RED), 1);
    }
    encode(&img)
}

/// Mean D(x) (red) and mean D(G(z)) (blue) against the step, with the equilibrium's 1/2.
pub fn d_outputs_png(d_real: &[(f64, f64)], d_fake: &[(f64, f64)]) -> Result<Vec<u8>> {
    line_plot_png(
        &[
            Series {
                points: d_real,
                color: RED,
            },
            Series {
                points: d_fake,
                color: BLUE,
            },
        ],
        &[0.5],
    )
}

/// The name of the value metric in plot legends, for each loss (see
/// [`GLoss::value_meaning`]).
fn value_legend(loss: GLoss) -> &'static str {
    match loss {
        GLoss::Minimax | GLoss::NonSaturating => "V = E LOG D(X) + E LOG(1-D(G(Z)))",
        GLoss::Hinge | GLoss::LeastSquares => "V = -(D LOSS)",
    }
}

/// Writes `plots/losses.png` (D loss, G loss, V; reference: V at the equilibrium of
/// `loss`, [`GLoss::equilibrium_value`]) and `plots/d_outputs.png` (mean sigmoid of D's
/// output on real and generated items; reference 1/2 for the BCE losses, none for hinge
/// and least squares, whose output is not a logit of a probability), each titled with
/// the loss and a legend.
pub fn write_run_plots(dir: &Path, rows: &[Metrics], loss: GLoss) -> Result<()> {
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| TrainError::io(&plots, e))?;
    let col = |f: fn(&Metrics) -> f32| -> Vec<(f64, f64)> {
        rows.iter().map(|r| (r.step as f64, f(r) as f64)).collect()
    };
    let (d, g, v) = (col(|r| r.d_loss), col(|r| r.g_loss), col(|r| r.value));
    let name = format!("LOSSES, LOSS = {loss}");
    let eq = format!("  - - V AT EQUILIBRIUM = {:.4}", loss.equilibrium_value());
    let v_name = format!("  {}", value_legend(loss));
    let label = |text, color| Label { text, color };
    let losses = line_plot_titled_png(
        &[
            Series {
                points: &d,
                color: RED,
            },
            Series {
                points: &g,
                color: BLUE,
            },
            Series {
                points: &v,
                color: GREEN,
            },
        ],
        &[loss.equilibrium_value()],
        &[
            &[label(&name, BLACK)],
            &[
                label("D LOSS", RED),
                label("  G LOSS", BLUE),
                label(&v_name, GREEN),
                label(&eq, REF_GRAY),
            ],
        ],
    )?;
    write_atomic(&plots.join("losses.png"), &losses)?;
    let (real, fake) = (col(|r| r.d_real), col(|r| r.d_fake));
    let series = [
        Series {
            points: &real,
            color: RED,
        },
        Series {
            points: &fake,
            color: BLUE,
        },
    ];
    let (refs, note): (&[f64], &str) = if loss.is_bce() {
        (&[0.5], "  - - 1/2 AT EQUILIBRIUM")
    } else {
        (&[], "  (NOT A PROBABILITY FOR THIS LOSS)")
    };
    let name = format!("D OUTPUTS, LOSS = {loss}");
    let outs = line_plot_titled_png(
        &series,
        refs,
        &[
            &[label(&name, BLACK)],
            &[
                label("MEAN SIGMOID D(X)", RED),
                label("  MEAN SIGMOID D(G(Z))", BLUE),
                label(note, REF_GRAY),
            ],
        ],
    )?;
    write_atomic(&plots.join("d_outputs.png"), &outs)
}
