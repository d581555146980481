//! What the `gan serve` tests share: tiny runs, a server child process that is killed
//! when dropped, and a blocking HTTP client that returns 4xx answers instead of errors.

#![allow(dead_code)] // each test file uses part of it

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn gan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .output()
        .expect("running gan")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn ok(args: &[&str]) -> String {
    let out = gan(args);
    let t = text(&out);
    assert!(out.status.success(), "gan {args:?} failed:\n{t}");
    t
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn tmp() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

/// A 4-step MLP run on 256 MNIST images with 8 latent dims, checkpoints of steps 2 and 4
/// kept; `extra` flags added (e.g. `--conditional`).
pub fn tiny_run(extra: &[&str]) -> PathBuf {
    let dir = tmp().join("run");
    let mut args = vec![
        "train",
        "mnist",
        "--limit",
        "256",
        "--steps",
        "4",
        "--batch-size",
        "32",
        "--latent-dim",
        "8",
        "--g-hidden",
        "32",
        "--d-hidden",
        "32",
        "--checkpoint-every",
        "2",
        "--keep-checkpoints",
        "--log-every",
        "2",
        "--no-progress",
        "--out",
        s(&dir),
    ];
    args.extend_from_slice(extra);
    ok(&args);
    dir
}

/// A running `gan serve`, killed when dropped.
pub struct Server {
    child: Child,
    /// The URL of its page, from the first line it prints.
    pub url: String,
}

impl Server {
    /// Starts `gan serve --run RUN --port 0` and reads its URL.
    pub fn start(run: &Path) -> Server {
        Server::start_with(&["serve", "--run", s(run), "--port", "0"])
    }

    /// Starts `gan ARGS` and reads the URL from the first line of its stdout.
    pub fn start_with(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gan"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting gan serve");
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut first).unwrap();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("gan serve's first line has no URL: {first:?}")
            })
            .trim_end_matches('/')
            .to_string();
        Server { child, url }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client for which 4xx and 5xx are answers, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// An answer: status, headers we read, body.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub scores: Option<String>,
    pub step: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `error` message of a 4xx answer.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .expect("an error message")
            .to_string()
    }
}

fn answer(mut res: ureq::http::Response<ureq::Body>) -> Answer {
    let h = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (content_type, scores, step) = (
        h("content-type").unwrap_or_default(),
        h("x-gan-scores"),
        h("x-gan-step"),
    );
    let body = res
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    Answer {
        status: res.status().as_u16(),
        content_type,
        scores,
        step,
        body,
    }
}

pub fn get(url: &str) -> Answer {
    answer(agent().get(url).call().expect("GET"))
}

pub fn post(url: &str, body: &str) -> Answer {
    answer(
        agent()
            .post(url)
            .header("Content-Type", "application/json")
            .send(body)
            .expect("POST"),
    )
}

/// Pixels of a PNG as 8-bit RGBA, with its size.
pub fn pixels(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory(png).expect("a PNG").to_rgba8();
    (img.width(), img.height(), img.into_raw())
}

/// Asserts that two PNGs hold the same pixels (a short message, not the pixel dump).
pub fn same_image(a: &[u8], b: &[u8], what: &str) {
    let (a, b) = (pixels(a), pixels(b));
    assert_eq!((a.0, a.1), (b.0, b.1), "{what}: sizes differ");
    let differ = a.2.iter().zip(&b.2).filter(|(x, y)| x != y).count();
    assert_eq!(differ, 0, "{what}: {differ} of {} bytes differ", a.2.len());
}
