//! `gan serve`: a local web page over a run's generator (seed, latent sliders, class,
//! truncation, checkpoint, an interpolation strip, D's score under each image) and the
//! small JSON API it calls, which returns PNGs.
//!
//! One thread answers the requests in turn ([`tiny_http`]'s queue): it owns the GPU
//! context and the loaded players, so nothing GPU-side is shared between threads. The
//! page, its script and style are compiled into the binary (no build step).

pub mod api;
pub mod models;

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;
use gan_tensor::Context;
use serde_json::json;
use tiny_http::{Header, Method, Request, Response, Server};

pub use api::ServeError;
use api::{Format, GenerateRequest, InterpolateRequest, MAX_BODY};
use models::{Images, Run};

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/style.css");

/// Flags of `gan serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// A run directory written by `gan train`.
    #[arg(long, value_name = "RUN_DIR", required_unless_present = "pretrained")]
    pub run: Option<PathBuf>,
    /// Instead of --run: a pretrained generator shipped in the repository
    /// (`gan list-pretrained`), e.g. mnist.
    #[arg(long, value_name = "NAME", conflicts_with = "run")]
    pub pretrained: Option<String>,
    /// Address to listen on; 127.0.0.1 keeps the page on this machine (0.0.0.0 opens it
    /// to the network, without any authentication).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on; 0 picks a free one. The first line printed is the page's URL.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

/// The run directory `gan serve` shows: `--run DIR` or `--pretrained NAME`.
pub fn resolve_run(args: &ServeArgs) -> Result<PathBuf> {
    let dir = crate::pretrained::run_dir(args.run.as_deref(), args.pretrained.as_deref())?;
    crate::generate::check_run_dir(&dir)?;
    Ok(dir)
}

/// `gan serve`: loads the run, binds, prints the URL (first line of stdout) and answers
/// requests until killed.
pub fn run(args: &ServeArgs) -> Result<()> {
    let dir = resolve_run(args)?;
    let ctx = Context::new().context("opening the GPU adapter")?;
    let mut run = Run::open(&ctx, &dir)?;
    let addr = format!("{}:{}", args.host, args.port);
    let server = Server::http(&addr).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e}; pick another --port (0 picks a free one) or --host"
        )
    })?;
    let url = match server.server_addr().to_ip() {
        Some(a) => format!("http://{a}/"),
        None => format!("http://{addr}/"),
    };
    println!("gan serve: listening on {url}");
    println!("adapter: {}", ctx.adapter());
    println!(
        "run: {} ({} latent dims, checkpoints {:?}); JSON API: GET /api/info, POST \
         /api/generate, POST /api/interpolate (see the README)",
        dir.display(),
        run.facts.latent_dim,
        run.facts.steps
    );
    if args.host != "127.0.0.1" && args.host != "localhost" {
        eprintln!(
            "warning: --host {} exposes the page beyond this machine, without authentication",
            args.host
        );
    }
    for request in server.incoming_requests() {
        let line = format!("{} {}", request.method(), request.url());
        match answer(&mut run, request) {
            Ok(status) if status >= 400 => eprintln!("{line} -> {status}"),
            Ok(_) => {}
            Err(e) => eprintln!("{line}: could not send the response: {e}"),
        }
    }
    Ok(())
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Reply {
    Response::from_data(body)
        .with_status_code(status)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
}

fn json_reply(status: u16, v: &serde_json::Value) -> Reply {
    bytes(status, "application/json", v.to_string().into_bytes())
}

fn error_reply(e: &ServeError) -> Reply {
    json_reply(e.status, &json!({ "error": e.message }))
}

/// Answers one request; returns the status sent.
fn answer(run: &mut Run, mut request: Request) -> std::io::Result<u16> {
    let reply = route(run, &mut request).unwrap_or_else(|e| error_reply(&e));
    let status = reply.status_code().0;
    request.respond(reply)?;
    Ok(status)
}

fn read_body(request: &mut Request) -> Result<Vec<u8>, ServeError> {
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| ServeError::new(400, format!("reading the request body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(ServeError::new(
            413,
            format!("the request body is over {MAX_BODY} bytes; requests are small JSON objects"),
        ));
    }
    Ok(body)
}

fn internal(e: anyhow::Error) -> ServeError {
    ServeError::new(500, format!("{e:#}"))
}

fn route(run: &mut Run, request: &mut Request) -> Result<Reply, ServeError> {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().clone();
    let allowed = match path.as_str() {
        "/" | "/index.html" | "/app.js" | "/style.css" | "/api/info" => Method::Get,
        "/api/generate" | "/api/interpolate" => Method::Post,
        _ => {
            return Err(ServeError::new(
                404,
                format!(
                    "no such page: {path}; the page is / and the API is GET /api/info, POST \
                     /api/generate, POST /api/interpolate"
                ),
            ))
        }
    };
    if method != allowed {
        return Err(ServeError::new(
            405,
            format!("{path} answers {allowed} requests, not {method}"),
        ));
    }
    Ok(match path.as_str() {
        "/" | "/index.html" => bytes(200, "text/html; charset=utf-8", PAGE.into()),
        "/app.js" => bytes(200, "text/javascript; charset=utf-8", SCRIPT.into()),
        "/style.css" => bytes(200, "text/css; charset=utf-8", STYLE.into()),
        "/api/info" => json_reply(200, &run.info),
        "/api/generate" => {
            let req: GenerateRequest = api::parse(&read_body(request)?, "generate")?;
            let step = req.check(&run.facts)?;
            let images = run.generate(&req, step).map_err(internal)?;
            images_reply(run, &images, req.seed, req.format)?
        }
        _ => {
            let req: InterpolateRequest = api::parse(&read_body(request)?, "interpolate")?;
            let (step, spherical) = req.check(&run.facts)?;
            let images = run.interpolate(&req, step, spherical).map_err(internal)?;
            images_reply(run, &images, req.seed, req.format)?
        }
    })
}

fn images_reply(
    run: &Run,
    images: &Images,
    seed: u64,
    format: Format,
) -> Result<Reply, ServeError> {
    Ok(match format {
        Format::Json => json_reply(200, &images.to_json(seed, run.pack()).map_err(internal)?),
        Format::Png => bytes(200, "image/png", images.grid_png().map_err(internal)?)
            .with_header(header("X-Gan-Scores", &images.scores_header()))
            .with_header(header("X-Gan-Step", &images.step.to_string()))
            .with_header(header("X-Gan-Columns", &images.columns.to_string())),
    })
}
