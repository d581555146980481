//! `gan serve`'s JSON API over plain HTTP (no browser): its images against `gan generate`
//! and the library, D's scores against `Gan::judge`, the checkpoint picker, the sliders'
//! latent, and the 4xx answers to bad requests after which the server keeps serving.

mod serve_common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{json, Value};
use serve_common::*;

fn run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| tiny_run(&[]))
}

fn file(p: PathBuf) -> Vec<u8> {
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn data_url(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    let b64 = s
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URL");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// D(x) and the latents of `count` images of `seed` at checkpoint `step`, by the library.
fn reference(step: u64, seed: u64, count: usize) -> (Vec<f32>, Vec<f32>) {
    let ctx = gan_tensor::Context::new().unwrap();
    let gan = gan_train::load_gan(&ctx, run(), Some(step)).unwrap();
    let g = gan.sample(count, seed, None).unwrap();
    let z = gan_train::sample_prior(&ctx, gan.game.prior, count, 8, seed, 0)
        .unwrap()
        .to_vec()
        .unwrap();
    (gan.judge(&g.values).unwrap(), z)
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
    }
}

#[test]
fn images_and_scores_match_gan_generate_and_the_library() {
    let server = Server::start(run());
    let u = &server.url;
    let page = get(&format!("{u}/"));
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains("id=\"generate\"") && html.contains("/app.js"),
        "{html}"
    );
    assert!(get(&format!("{u}/app.js"))
        .content_type
        .contains("javascript"));

    let info = get(&format!("{u}/api/info")).json();
    assert_eq!(info["latent_dim"], 8);
    assert_eq!(info["steps"], json!([2, 4]));
    assert_eq!(info["latest_step"], 4);
    assert_eq!(info["classes"], Value::Null);
    assert_eq!(info["item_shape"], json!([1, 28, 28]));

    // The PNG variant is `gan generate --grid`'s sample sheet, pixel for pixel.
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(run()),
        "--seed",
        "3",
        "--count",
        "4",
        "--grid",
        "--out",
        s(&out),
    ]);
    let a = post(&format!("{u}/api/generate"), r#"{"seed": 3, "count": 4}"#);
    assert_eq!((a.status, a.content_type.as_str()), (200, "image/png"));
    same_image(&a.body, &file(out.join("grid.png")), "grid.png");
    assert_eq!(a.step.as_deref(), Some("4"));
    let scores: Vec<f32> = a
        .scores
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let (d4, z) = reference(4, 3, 4);
    close(&scores, &d4, 1e-5);

    // Truncation on the server's CPU equals `gan generate --truncation` on the GPU.
    ok(&[
        "generate",
        "--run",
        s(run()),
        "--seed",
        "3",
        "--count",
        "4",
        "--grid",
        "--truncation",
        "0.5",
        "--out",
        s(&out),
    ]);
    let a = post(
        &format!("{u}/api/generate"),
        r#"{"seed": 3, "count": 4, "truncation": 0.5}"#,
    );
    same_image(&a.body, &file(out.join("grid.png")), "grid.png");

    // The JSON variant at the older checkpoint: its own scores, each tile its own PNG.
    let j = post(
        &format!("{u}/api/generate"),
        r#"{"seed": 3, "count": 4, "step": 2, "format": "json"}"#,
    )
    .json();
    assert_eq!(j["step"], 2);
    let (d2, _) = reference(2, 3, 4);
    close(&floats(&j["scores"]), &d2, 1e-6);
    assert_ne!(d2, d4, "the checkpoints of steps 2 and 4 judge alike");
    assert_eq!(j["images"].as_array().unwrap().len(), 4);
    let tile = pixels(&data_url(&j["images"][0]));
    assert_eq!((tile.0, tile.1), (28, 28));
    close(&floats(&j["z_head"]), &z[..8], 0.0);

    // Sliders: a whole latent given makes every image the same; a head changes image 0.
    let z_all = json!([0.5, -1.0, 0.25, 0.0, 1.5, -0.5, 0.1, 2.0]);
    let j = post(
        &format!("{u}/api/generate"),
        &json!({"seed": 3, "count": 2, "z": z_all, "format": "json"}).to_string(),
    )
    .json();
    same_image(
        &data_url(&j["images"][0]),
        &data_url(&j["images"][1]),
        "one latent, two images",
    );
    close(&floats(&j["z_head"]), &floats(&z_all), 0.0);
    let plain = post(
        &format!("{u}/api/generate"),
        r#"{"seed": 3, "count": 1, "format": "json"}"#,
    )
    .json();
    let moved = post(
        &format!("{u}/api/generate"),
        r#"{"seed": 3, "count": 1, "z": [2.5, -2.5], "format": "json"}"#,
    )
    .json();
    assert_ne!(data_url(&plain["images"][0]), data_url(&moved["images"][0]));
    close(&floats(&moved["z_head"])[2..], &z[2..8], 0.0);

    // The interpolation strip is `gan generate --interpolate`'s row.
    ok(&[
        "generate",
        "--run",
        s(run()),
        "--seed",
        "2",
        "--interpolate",
        "5",
        "--out",
        s(&out),
    ]);
    let a = post(
        &format!("{u}/api/interpolate"),
        r#"{"seed": 2, "steps": 5}"#,
    );
    assert_eq!(a.status, 200);
    same_image(
        &a.body,
        &file(out.join("interpolation.png")),
        "interpolation.png",
    );
    assert_eq!(a.scores.unwrap().split(',').count(), 5);
}

#[test]
fn bad_requests_get_4xx_with_a_message_and_the_server_keeps_serving() {
    let mut server = Server::start(run());
    let g = format!("{}/api/generate", server.url);
    let cases: &[(&str, u16, &str)] = &[
        ("{\"seed\": 1,", 400, "not a valid request"),
        ("[1, 2]", 400, "not a valid request"),
        (r#"{"seed": 1, "cont": 3}"#, 400, "unknown field `cont`"),
        (r#"{"count": 0}"#, 400, "count = 0"),
        (r#"{"count": 1000000}"#, 413, "at most 64"),
        (r#"{"class": 3}"#, 400, "unconditional"),
        (r#"{"truncation": 0}"#, 400, "(0, 1]"),
        (r#"{"truncation": 1.5}"#, 400, "(0, 1]"),
        (r#"{"step": 3}"#, 404, "kept steps [2, 4]"),
        (r#"{"z": [1, 2, 3, 4, 5, 6, 7, 8, 9]}"#, 400, "8 dimensions"),
        (r#"{"seed": -1}"#, 400, "not a valid request"),
    ];
    for (body, status, says) in cases {
        let a = post(&g, body);
        assert_eq!(
            a.status,
            *status,
            "{body}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert!(a.error().contains(says), "{body}: {}", a.error());
    }
    let i = format!("{}/api/interpolate", server.url);
    assert_eq!(post(&i, r#"{"steps": 1}"#).status, 400);
    assert_eq!(post(&i, r#"{"path": "zigzag"}"#).status, 400);
    let huge = format!("{{\"seed\": 1, \"pad\": \"{}\"}}", "x".repeat(100_000));
    assert_eq!(post(&g, &huge).status, 413);
    let a = get(&format!("{}/api/nothing", server.url));
    assert_eq!(a.status, 404);
    assert!(a.error().contains("no such page"));
    let a = get(&g);
    assert_eq!(a.status, 405);
    assert!(a.error().contains("POST"));

    // Still serving: a good request after all of them.
    assert!(server.alive());
    let a = post(&g, r#"{"seed": 5, "count": 2}"#);
    assert_eq!(a.status, 200);
    assert_eq!(pixels(&a.body).0, 2 * 28 + 3 * 2);
}

#[test]
fn a_conditional_run_takes_classes() {
    let cond = tiny_run(&["--conditional"]);
    let server = Server::start(&cond);
    let u = &server.url;
    assert_eq!(get(&format!("{u}/api/info")).json()["classes"], 10);
    let out = tmp();
    ok(&[
        "generate",
        "--run",
        s(&cond),
        "--seed",
        "1",
        "--count",
        "4",
        "--class",
        "3",
        "--grid",
        "--out",
        s(&out),
    ]);
    let a = post(
        &format!("{u}/api/generate"),
        r#"{"seed": 1, "count": 4, "class": 3}"#,
    );
    assert_eq!(a.status, 200);
    same_image(&a.body, &file(out.join("grid.png")), "grid.png");
    // Without a class: the classes in turn, one row each, as `gan generate --grid`.
    ok(&[
        "generate",
        "--run",
        s(&cond),
        "--seed",
        "1",
        "--count",
        "20",
        "--grid",
        "--out",
        s(&out),
    ]);
    let a = post(&format!("{u}/api/generate"), r#"{"seed": 1, "count": 20}"#);
    same_image(&a.body, &file(out.join("grid.png")), "grid.png");
    let j = post(
        &format!("{u}/api/generate"),
        r#"{"count": 20, "format": "json"}"#,
    )
    .json();
    let rows: Vec<u32> = (0..20).map(|i| i / 2).collect();
    assert_eq!(j["classes"], json!(rows));
    assert_eq!(j["columns"], 2);
    let a = post(&format!("{u}/api/generate"), r#"{"class": 10}"#);
    assert_eq!(a.status, 400);
    assert!(a.error().contains("0 to 9"), "{}", a.error());
    let a = post(&format!("{u}/api/interpolate"), r#"{"steps": 3}"#);
    assert_eq!(a.status, 400);
    assert!(a.error().contains("give \"class\""), "{}", a.error());
    assert_eq!(
        post(
            &format!("{u}/api/interpolate"),
            r#"{"steps": 3, "class": 9}"#
        )
        .status,
        200
    );
}

#[test]
fn serve_refuses_what_it_cannot_show_and_says_so() {
    let out = gan(&["serve", "--run", "/no/such/run", "--port", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no such run directory"),
        "{}",
        text(&out)
    );

    let server = Server::start(run());
    let port = server.url.rsplit(':').next().unwrap();
    let out = gan(&["serve", "--run", s(run()), "--port", port]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot listen on 127.0.0.1:"),
        "{}",
        text(&out)
    );

    let ring = tmp().join("ring");
    ok(&[
        "train",
        "ring8",
        "--steps",
        "2",
        "--log-every",
        "1",
        "--no-progress",
        "--out",
        s(&ring),
    ]);
    let out = gan(&["serve", "--run", s(&ring), "--port", "0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("2-D points"), "{}", text(&out));
}

/// `gan serve --pretrained mnist` serves the generator shipped in the repository: its
/// facts and a PNG grid of 28 x 28 digits with D's scores.
#[test]
fn serve_shows_a_pretrained_generator() {
    let server = Server::start_with(&["serve", "--pretrained", "mnist", "--port", "0"]);
    let info = get(&format!("{}/api/info", server.url)).json();
    assert_eq!(info["latent_dim"], 100, "{info}");
    let a = post(
        &format!("{}/api/generate", server.url),
        r#"{"seed": 3, "count": 4}"#,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, "image/png");
    let scores = a.scores.expect("D's scores");
    assert_eq!(scores.split(',').count(), 4, "{scores}");
    let (w, h, _) = pixels(&a.body);
    assert!(w >= 56 && h >= 56, "{w}x{h}");
    let out = gan(&["serve", "--pretrained", "nope", "--port", "0"]);
    assert!(!out.status.success() && text(&out).contains("available: mnist"));
}
