//! Line plots: [`Chart`] (title, axis labels, legend, labelled dashed reference lines)
//! and the unlabelled [`line_plot_png`] of the theory figures.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::{err, faint, font, render, rgb, DrawResult, BLACK, REF_GRAY};
use crate::error::Result;

/// A series for [`line_plot_png`].
pub struct Series<'a> {
    /// (x, y) points.
    pub points: &'a [(f64, f64)],
    /// Line colour.
    pub color: [u8; 3],
}

/// A series of a [`Chart`].
#[derive(Clone, Copy, Debug)]
pub struct Line<'a> {
    /// (x, y) points; non-finite y values break the line.
    pub points: &'a [(f64, f64)],
    /// Its colour.
    pub color: [u8; 3],
    /// Its legend entry (none when `None`).
    pub label: Option<&'a str>,
    /// Stroke width in pixels.
    pub width: u32,
    /// Share of the colour against white (1 = the colour itself, lower is fainter).
    pub alpha: f64,
}

impl<'a> Line<'a> {
    /// A 2-pixel line in `color` with a legend entry.
    pub fn new(points: &'a [(f64, f64)], color: [u8; 3], label: &'a str) -> Line<'a> {
        Line {
            points,
            color,
            label: Some(label),
            width: 2,
            alpha: 1.0,
        }
    }
}

/// A dashed horizontal reference line.
#[derive(Clone, Copy, Debug)]
pub struct RefLine<'a> {
    /// Where it lies.
    pub y: f64,
    /// Its legend entry (none when `None`).
    pub label: Option<&'a str>,
}

/// A line plot.
#[derive(Clone, Debug)]
pub struct Chart<'a> {
    /// Title above the plot (none when empty).
    pub title: &'a str,
    /// A smaller line under the title (none when empty).
    pub subtitle: &'a str,
    /// Label of the x axis.
    pub x_label: &'a str,
    /// Label of the y axis.
    pub y_label: &'a str,
    /// The series, drawn in order (later ones on top).
    pub lines: Vec<Line<'a>>,
    /// Dashed horizontal lines.
    pub refs: Vec<RefLine<'a>>,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

/// The plotted ranges: every finite point and reference line, y padded by 5%.
fn ranges(chart: &Chart<'_>) -> ((f64, f64), (f64, f64)) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let pts = chart.lines.iter().flat_map(|l| l.points.iter());
    for &(x, y) in pts.filter(|p| p.0.is_finite() && p.1.is_finite()) {
        (x0, x1) = (x0.min(x), x1.max(x));
        (y0, y1) = (y0.min(y), y1.max(y));
    }
    for r in chart.refs.iter().filter(|r| r.y.is_finite()) {
        (y0, y1) = (y0.min(r.y), y1.max(r.y));
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    ((x0, x1), (y0 - pad, y1 + pad))
}

/// The runs of consecutive finite points of `points`.
fn segments(points: &[(f64, f64)]) -> impl Iterator<Item = &[(f64, f64)]> {
    points
        .split(|p| !(p.0.is_finite() && p.1.is_finite()))
        .filter(|s| !s.is_empty())
}

/// A number on an axis: integers plainly, thousands as `k`, others with few digits.
fn tick(v: f64) -> String {
    if v.abs() >= 1000.0 && (v / 1000.0).fract().abs() < 1e-9 {
        format!("{}k", (v / 1000.0) as i64)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// Renders `chart` as PNG bytes.
pub fn chart_png(chart: &Chart<'_>) -> Result<Vec<u8>> {
    let (w, h) = chart.size;
    render(w, h, |root| draw(root, chart))
}

fn draw(root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, c: &Chart) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let mut area = root.clone();
    if !c.title.is_empty() {
        area = area
            .titled(c.title, font(22.0).color(&rgb(BLACK)))
            .map_err(err)?;
    }
    if !c.subtitle.is_empty() {
        let (top, rest) = area.split_vertically(20);
        let style = font(14.0)
            .color(&RGBColor(80, 80, 80))
            .pos(text_anchor::Pos::new(
                text_anchor::HPos::Center,
                text_anchor::VPos::Top,
            ));
        top.draw_text(c.subtitle, &style, ((w_of(&top) / 2) as i32, 0))
            .map_err(err)?;
        area = rest;
    }
    let ((x0, x1), (y0, y1)) = ranges(c);
    let mut ch = ChartBuilder::on(&area)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    ch.configure_mesh()
        .light_line_style(RGBColor(236, 236, 236))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(c.x_label)
        .y_desc(c.y_label)
        .axis_desc_style(font(16.0))
        .label_style(font(13.0))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()
        .map_err(err)?;
    let gray = rgb(REF_GRAY);
    for r in c.refs.iter().filter(|r| r.y.is_finite()) {
        let style = gray.stroke_width(2);
        let s = DashedLineSeries::new([(x0, r.y), (x1, r.y)], 8, 6, style);
        let drawn = ch.draw_series(s).map_err(err)?;
        if let Some(label) = r.label {
            drawn.label(label).legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 20, y)], 5, 3, style)
            });
        }
    }
    for l in &c.lines {
        let color = faint(l.color, l.alpha);
        let style = color.stroke_width(l.width);
        for (i, seg) in segments(l.points).enumerate() {
            let drawn = if seg.len() == 1 {
                let p = seg[0];
                ch.draw_series([Circle::new(p, 2, style.filled())])
                    .map_err(err)?
            } else {
                ch.draw_series(LineSeries::new(seg.iter().copied(), style))
                    .map_err(err)?
            };
            if let (0, Some(label)) = (i, l.label) {
                let lw = l.width.max(3);
                drawn.label(label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(lw))
                });
            }
        }
    }
    let labelled = c
        .lines
        .iter()
        .any(|l| l.label.is_some() && !l.points.is_empty())
        || c.refs.iter().any(|r| r.label.is_some());
    if labelled {
        ch.configure_series_labels()
            .position(legend_corner(c, (x0, x1), (y0, y1)))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(190, 190, 190))
            .label_font(font(14.0))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// The place (a corner first, then the middle of a side or the centre) with the fewest
/// points under the legend's box (about 45% of the width and 30% of the height), so the
/// legend hides as little of the curves as it can.
fn legend_corner(c: &Chart<'_>, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> SeriesLabelPosition {
    use SeriesLabelPosition as P;
    // (position, horizontal span, vertical span) in fractions of the plot.
    let (l, hm, r) = ((0.0, 0.45), (0.275, 0.725), (0.55, 1.0));
    let (lo, vm, up) = ((0.0, 0.3), (0.35, 0.65), (0.7, 1.0));
    let places = [
        (P::UpperRight, r, up),
        (P::LowerRight, r, lo),
        (P::UpperLeft, l, up),
        (P::LowerLeft, l, lo),
        (P::MiddleRight, r, vm),
        (P::MiddleLeft, l, vm),
        (P::UpperMiddle, hm, up),
        (P::LowerMiddle, hm, lo),
        (P::MiddleMiddle, hm, vm),
    ];
    let inside = |v: f64, (a, b): (f64, f64)| v >= a && v <= b;
    let under = |h: (f64, f64), v: (f64, f64)| {
        let pts = c.lines.iter().flat_map(|l| l.points.iter()).copied();
        let on_refs = c.refs.iter().filter(|r| inside((r.y - y0) / (y1 - y0), v));
        let curves = pts
            .filter(|&(x, y)| inside((x - x0) / (x1 - x0), h) && inside((y - y0) / (y1 - y0), v));
        // A reference line crosses every box at its height: count it as a curve's worth.
        curves.count() + 20 * on_refs.count()
    };
    let mut best = (usize::MAX, P::UpperRight);
    for (pos, h, v) in places {
        let n = under(h, v);
        if n < best.0 {
            best = (n, pos);
        }
    }
    best.1
}

fn w_of(a: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> u32 {
    a.dim_in_pixel().0
}

/// A line plot (800 x 450) of `series` with dashed horizontal reference lines at `refs`,
/// light grid lines and numbered axes; no title, axis labels or legend (the theory
/// figures describe their colours in their docs).
pub fn line_plot_png(series: &[Series<'_>], refs: &[f64]) -> Result<Vec<u8>> {
    chart_png(&Chart {
        title: "",
        subtitle: "",
        x_label: "",
        y_label: "",
        lines: series
            .iter()
            .map(|s| Line {
                points: s.points,
                color: s.color,
                label: None,
                width: 2,
                alpha: 1.0,
            })
            .collect(),
        refs: refs.iter().map(|&y| RefLine { y, label: None }).collect(),
        size: (800, 450),
    })
}
