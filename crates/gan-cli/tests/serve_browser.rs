//! `gan serve`'s page end to end in a real headless browser: Debian's Chromium driven by
//! chromedriver over the W3C WebDriver protocol (https://www.w3.org/TR/webdriver2/). The
//! page loads, the first images appear with D's scores, a new seed and a click on
//! Generate change the image, and a screenshot is not blank.
//!
//! Needs `apt-get install -y chromium chromium-driver` (/usr/bin/chromium,
//! /usr/bin/chromedriver); `.ci/run` installs them and runs
//! `cargo test -p gan-cli --test serve_browser -- --ignored`. Set GAN_SERVE_SCREENSHOT=FILE
//! to keep the screenshot.

mod serve_common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use serve_common::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One WebDriver command: its `value`, or a panic with the driver's error.
fn wd(method: &str, url: &str, body: Option<Value>) -> Value {
    let agent = agent();
    let res = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, b) => agent.post(url).send_json(b.unwrap_or_else(|| json!({}))),
    };
    let mut res = res.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = res.status().as_u16();
    let v: Value = res
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_json()
        .unwrap();
    assert!(
        status < 400
            || v["value"]["error"] == "no such element"
            || v["value"]["error"] == "stale element reference",
        "{method} {url} -> {status}: {v}"
    );
    v["value"].clone()
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Session {
    base: String,
}

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        wd(method, &format!("{}{path}", self.base), body)
    }

    /// The first element matching a CSS selector, if any.
    fn find(&self, css: &str) -> Option<String> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().map(String::from)
    }

    fn property(&self, el: &str, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{el}/property/{name}"), None)
    }

    fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Mean and variance of a screenshot's gray levels.
fn gray_stats(png: &[u8]) -> (f64, f64) {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let px: Vec<f64> = img.pixels().map(|p| p.0[0] as f64).collect();
    let mean = px.iter().sum::<f64>() / px.len() as f64;
    let var = px.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / px.len() as f64;
    (mean, var)
}

#[test]
#[ignore = "needs chromium and chromium-driver (apt-get install -y chromium chromium-driver)"]
fn the_page_generates_in_a_headless_browser() {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: install Chromium and its WebDriver with \
             `apt-get install -y chromium chromium-driver` (Debian), as .ci/run does"
        );
    }
    let run = std::env::var("GAN_SERVE_RUN")
        .map(Into::into)
        .unwrap_or_else(|_| tiny_run(&[]));
    let server = Server::start(&run);

    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    wait_for("chromedriver", || {
        let v = agent()
            .get(format!("{}/status", driver.url))
            .call()
            .ok()?
            .body_mut()
            .read_json::<Value>()
            .ok()?;
        v["value"]["ready"].as_bool().filter(|r| *r)
    });
    // Without the background-networking flags Chromium's own connections are refused on
    // a closed network and the session stalls.
    let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
        "binary": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1100,1150"]
    }}}});
    let created = wd("POST", &format!("{}/session", driver.url), Some(caps));
    let id = created["sessionId"]
        .as_str()
        .expect("a session id")
        .to_string();
    let session = Session {
        base: format!("{}/session/{id}", driver.url),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(&session, &server.url)
    }));
    wd("DELETE", &session.base, None);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn drive(session: &Session, url: &str) {
    session.cmd("POST", "/url", Some(json!({"url": format!("{url}/")})));
    let title = session.cmd("GET", "/title", None);
    assert_eq!(title, "gan serve");

    // The first images and their scores appear on their own.
    // The page may redraw the grid between a find and a read: a stale element
    // reads as an error object, not a string, and the wait tries again.
    let src = wait_for("the first image", || {
        let first = session.find("#grid img.sample")?;
        session.property(&first, "src").as_str().map(String::from)
    });
    assert!(src.starts_with("data:image/png;base64,"), "{src:.40}");
    let caption = wait_for("a D score", || {
        let el = session.find("#grid figcaption.score")?;
        Some(session.text(&el)).filter(|t| t.starts_with("D = "))
    });
    let d: f64 = caption[4..9].parse().unwrap();
    assert!((0.0..=1.0).contains(&d), "{caption}");
    wait_for("the interpolation strip", || {
        session.find("#strip img.sample")
    });

    // A new seed and a click: the first image changes.
    let seed = session.find("#seed").unwrap();
    session.cmd("POST", &format!("/element/{seed}/clear"), None);
    session.cmd(
        "POST",
        &format!("/element/{seed}/value"),
        Some(json!({"text": "12345"})),
    );
    let button = session.find("#generate").unwrap();
    session.cmd("POST", &format!("/element/{button}/click"), None);
    wait_for("a new image", || {
        let el = session.find("#grid img.sample")?;
        let now = session.property(&el, "src");
        now.as_str().filter(|s| *s != src).map(String::from)
    });
    let status = session.text(&session.find("#status").unwrap());
    assert!(status.contains("seed 12345"), "{status}");
    let error = session.text(&session.find("#error").unwrap());
    assert!(error.is_empty(), "the page shows an error: {error}");

    let shot = session.cmd("GET", "/screenshot", None);
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot.as_str().unwrap())
        .unwrap();
    let (mean, var) = gray_stats(&png);
    assert!(
        var > 100.0,
        "the screenshot is blank: gray mean {mean:.1}, variance {var:.1}"
    );
    if let Ok(path) = std::env::var("GAN_SERVE_SCREENSHOT") {
        std::fs::write(&path, &png).unwrap();
    }
}
