//! The plots drawn with plotters: they decode as PNGs of the expected size, carry the
//! series' colours (the bold lines and their legend entries), and change with the data.

use gan_train::plot::{self, chart_png, line_plot_png, Chart, Line, RefLine, Series};
use gan_train::plot::{BLUE, GREEN, RED};
use gan_train::{GLoss, Metrics};
use image::RgbImage;

fn decode(png: &[u8]) -> RgbImage {
    image::load_from_memory(png).expect("a PNG").to_rgb8()
}

/// Pixels of exactly `c` in the rectangle [x0, x1) x [y0, y1).
fn count(img: &RgbImage, c: [u8; 3], (x0, x1): (u32, u32), (y0, y1): (u32, u32)) -> usize {
    (y0..y1.min(img.height()))
        .flat_map(|y| (x0..x1.min(img.width())).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 == c)
        .count()
}

fn rows(n: u64, wobble: f32) -> Vec<Metrics> {
    (1..=n)
        .map(|i| {
            let t = i as f32;
            Metrics {
                step: i * 10,
                epoch: t as f64 * 0.1,
                d_loss: 1.2 + wobble * (t * 1.7).sin(),
                g_loss: 0.8 + 0.01 * t + wobble * (t * 2.3).cos(),
                d_real: 0.6 + 0.1 * (t * 0.9).sin(),
                d_fake: 0.4 + 0.1 * (t * 1.1).cos(),
                value: -1.3 + wobble * (t * 0.5).sin(),
                elapsed: t as f64,
            }
        })
        .collect()
}

#[test]
fn run_plots_render_with_legends_and_follow_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let render = |name: &str, wobble: f32| {
        let dir = tmp.path().join(name);
        plot::write_run_plots(&dir, &rows(60, wobble), GLoss::NonSaturating).unwrap();
        let read = |f: &str| decode(&std::fs::read(dir.join("plots").join(f)).unwrap());
        (read("losses.png"), read("d_outputs.png"))
    };
    let (losses, outs) = render("a", 0.2);
    assert_eq!(losses.dimensions(), (900, 520));
    assert_eq!(outs.dimensions(), (900, 520));
    let (w, h) = losses.dimensions();
    for (c, name) in [(RED, "D loss"), (BLUE, "G loss"), (GREEN, "V")] {
        let all = count(&losses, c, (0, w), (0, h));
        assert!(all > 300, "{name}: its bold curve has {all} pixels");
    }
    for c in [RED, BLUE] {
        assert!(count(&outs, c, (0, w), (0, h)) > 300);
    }
    // Text (title, labels, legend) is drawn: dark pixels above the plot area.
    let dark = |img: &RgbImage| {
        (0..w)
            .flat_map(|x| (0..30).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 100))
            .count()
    };
    assert!(dark(&losses) > 100, "no title text");
    let (other, _) = render("b", 0.05);
    assert_ne!(losses, other, "different data gave the same loss plot");
    // Same data, same image.
    assert_eq!(losses, render("c", 0.2).0);
}

#[test]
fn a_run_plot_of_one_row_and_non_finite_values_still_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = rows(3, 0.1);
    r[1].d_loss = f32::NAN;
    r[2].g_loss = f32::INFINITY;
    plot::write_run_plots(tmp.path(), &r, GLoss::Hinge).unwrap();
    plot::write_run_plots(tmp.path(), &r[..1], GLoss::LeastSquares).unwrap();
    plot::write_run_plots(tmp.path(), &[], GLoss::Minimax).unwrap();
    decode(&std::fs::read(tmp.path().join("plots/losses.png")).unwrap());
}

#[test]
fn line_plots_and_scatters_keep_their_sizes() {
    let a: Vec<(f64, f64)> = (0..50)
        .map(|i| (i as f64, (i as f64 * 0.2).sin()))
        .collect();
    let png = line_plot_png(
        &[Series {
            points: &a,
            color: RED,
        }],
        &[0.5],
    )
    .unwrap();
    let img = decode(&png);
    assert_eq!(img.dimensions(), (800, 450));
    assert!(count(&img, RED, (0, 800), (0, 450)) > 200);
    let real: Vec<f32> = (0..200)
        .flat_map(|i| [(i as f32).cos(), (i as f32).sin()])
        .collect();
    let fake = [0.5f32, 0.5, -0.5, 0.25];
    let img = decode(&plot::scatter_png(&real, &fake).unwrap());
    assert_eq!(img.dimensions(), (512, 512));
    let none = decode(&plot::scatter_png(&real, &[]).unwrap());
    let extra = count(&img, RED, (0, 512), (0, 512)) - count(&none, RED, (0, 512), (0, 512));
    assert_eq!(extra, 2 * 9, "two generated points, 3x3 squares each");
}

#[test]
fn the_legend_shows_each_labelled_series_in_its_colour() {
    let a: Vec<(f64, f64)> = (0..40)
        .map(|i| (i as f64, (i as f64 * 0.3).sin()))
        .collect();
    let b: Vec<(f64, f64)> = a.iter().map(|p| (p.0, p.1 * 0.5 - 1.0)).collect();
    let chart = |labelled: bool| {
        let label = |s| labelled.then_some(s);
        let line = |points, color, name| Line {
            label: label(name),
            ..Line::new(points, color, name)
        };
        decode(
            &chart_png(&Chart {
                title: "Two curves",
                subtitle: "",
                x_label: "step",
                y_label: "value",
                lines: vec![line(&a, RED, "first"), line(&b, BLUE, "second")],
                refs: vec![RefLine {
                    y: 0.5,
                    label: label("one half"),
                }],
                size: (640, 400),
            })
            .unwrap(),
        )
    };
    let (with, without) = (chart(true), chart(false));
    assert_eq!(with.dimensions(), (640, 400));
    let all = (0, 640);
    for c in [RED, BLUE] {
        let _ = all;
        // Pixels of the colour that only the labelled chart has: its legend marker, a
        // 20 x 3 stroke.
        let extra = with
            .enumerate_pixels()
            .filter(|(x, y, p)| p.0 == c && without.get_pixel(*x, *y).0 != c)
            .count();
        assert!(extra >= 40, "legend marker of {c:?}: {extra} pixels");
    }
}
