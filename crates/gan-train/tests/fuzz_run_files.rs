//! Mutation fuzzing of a run directory's text files as gan-train reads them:
//! `config.toml` ([config] via `rundir::read_config` / `Config::load` / `Config::from_toml`,
//! [run] via `rundir::read_run_info`), `latest.toml` (`rundir::read_latest`) and
//! `metrics.csv` (`metrics::read_metrics`). Seeded random mutations (gan-fuzz) plus
//! hand-written edits: invalid UTF-8, huge numbers, negative counts, NaN/inf, a line with
//! too many fields. Every case is accepted or refused with an error naming the file;
//! none panics.
//!
//! The allocation bound enforced: peak heap on this thread at most `128 * file length +
//! 1 MiB` (the file is read whole and parsed into a table, about 80 bytes per nesting
//! level of `[[[...`; nothing is sized by a number
//! read from it).
//!
//! `GAN_FUZZ_CASES=N` sets the random cases per target (default 1500).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use gan_fuzz::{case_count, check_cases, mutations, seed, Case, CountingAlloc};
use gan_train::metrics::{read_metrics, write_metrics, Metrics};
use gan_train::rundir::{self, LatestState};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn max_alloc(len: usize) -> usize {
    128 * len + (1 << 20)
}

/// The config.toml a real run wrote.
const CONFIG: &[u8] = include_bytes!("../../../docs/runs/mnist-mlp-default/config.toml");

fn tmp_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gan-train-fuzz-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn latest_bytes() -> Vec<u8> {
    let state = LatestState {
        step: 4000,
        epoch: 8.547,
        checkpoint: rundir::checkpoint_name(4000),
        config_hash: "53ef4f7d5d5d9370".into(),
        elapsed_s: 612.25,
        adapter: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
        dropout: BTreeMap::from([("d.2".to_string(), 4000u64), ("d.5".to_string(), 4000)]),
        pending_metrics: None,
    };
    toml::to_string(&state).unwrap().into_bytes()
}

fn metrics_bytes(dir: &Path) -> Vec<u8> {
    let rows: Vec<Metrics> = (1..=6u64)
        .map(|i| Metrics {
            step: i * 100,
            epoch: i as f64 * 0.21,
            d_loss: 1.38 / i as f32,
            g_loss: 0.69 * i as f32,
            d_real: 0.5,
            d_fake: 0.49,
            value: -1.3862944,
            elapsed: i as f64 * 1.5,
        })
        .collect();
    write_metrics(dir, &rows).unwrap();
    fs::read(dir.join(rundir::METRICS)).unwrap()
}

/// Hand-written edits of a text file: invalid UTF-8, huge numbers, negative counts,
/// NaN/inf, values of the wrong type, and `extra` (file-specific lines).
fn text_cases(valid: &[u8], replace: &[(&str, &str)], extra: &[&str]) -> Vec<Case> {
    let text = String::from_utf8(valid.to_vec()).unwrap();
    let mut out = Vec::new();
    for (from, to) in replace {
        assert!(text.contains(from), "{from}");
        out.push(Case {
            what: format!("`{from}` -> `{to}`"),
            bytes: text.replacen(from, to, 1).into_bytes(),
        });
    }
    for line in extra {
        out.push(Case {
            what: format!("line `{line}` appended"),
            bytes: format!("{text}{line}\n").into_bytes(),
        });
    }
    let mut utf8 = valid.to_vec();
    utf8.splice(utf8.len() / 2..utf8.len() / 2, [0xFF, 0xFE, 0xC3]);
    out.push(Case {
        what: "invalid UTF-8 in the middle".into(),
        bytes: utf8,
    });
    out.push(Case {
        what: "a UTF-8 BOM".into(),
        bytes: [&[0xEF, 0xBB, 0xBF][..], valid].concat(),
    });
    out.push(Case {
        what: "1 MiB of one line".into(),
        bytes: [valid, &vec![b'9'; 1 << 20]].concat(),
    });
    out.push(Case {
        what: "deeply nested arrays".into(),
        bytes: [valid, b"x = ", &vec![b'['; 100_000]].concat(),
    });
    out
}

/// Runs `reader` on `dir/name` over random and hand-written cases; refusals must name
/// the file.
fn fuzz(
    target: &str,
    name: &str,
    valid: &[u8],
    hand: Vec<Case>,
    seed_offset: u64,
    reader: impl Fn(&Path) -> Result<(), String>,
) {
    let dir = tmp_dir(target);
    let path = dir.join(name);
    let mut cases = mutations(valid, &[], case_count(1500), seed() + seed_offset);
    cases.extend(hand);
    let t0 = std::time::Instant::now();
    let mut unnamed = Vec::new();
    let (ok, refused) = check_cases(target, &cases, max_alloc, |bytes| {
        fs::write(&path, bytes).unwrap();
        let r = reader(&dir);
        if let Err(e) = &r {
            if !e.contains(&path.display().to_string()) {
                unnamed.push(e.clone());
            }
        }
        r
    });
    eprintln!(
        "{target}: {} cases ({ok} accepted, {refused} refused) in {:.1}s",
        cases.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        unnamed.is_empty(),
        "{target}: errors not naming the file: {unnamed:#?}"
    );
    assert!(refused > 0);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fuzz_config_toml() {
    let hand = text_cases(
        CONFIG,
        &[
            ("batch_size = 128", "batch_size = 18446744073709551615"),
            ("batch_size = 128", "batch_size = -128"),
            ("latent_dim = 100", "latent_dim = 99999999999999999999999"),
            ("steps = 4000", "steps = -1"),
            ("dropout = 0.3", "dropout = nan"),
            ("lr_g = 0.0002", "lr_g = inf"),
            ("lr_d = 0.0002", "lr_d = -inf"),
            (
                "g_hidden = [256, 512, 1024]",
                "g_hidden = [9223372036854775807]",
            ),
            ("arch = \"mlp\"", "arch = \"transformer\""),
            ("seed = 1", "seed = \"one\""),
            ("[config]", "[[config]]"),
        ],
        &["unknown_key = 1", "batch_size = 64", "[config]"],
    );
    fuzz("config-toml", rundir::CONFIG, CONFIG, hand, 10, |dir| {
        rundir::read_config(dir)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}

#[test]
fn fuzz_config_toml_run_table() {
    let hand = text_cases(
        CONFIG,
        &[
            ("total_steps = 4000", "total_steps = -4000"),
            ("g_parameters = 1486352", "g_parameters = 1e400"),
            ("item_shape = [1, 28, 28]", "item_shape = [1, 28]"),
            ("item_shape = [1, 28, 28]", "item_shape = [-1, 28, 28]"),
            ("[run]", "[run.run]"),
        ],
        &["total_steps = 5"],
    );
    fuzz("config-toml-run", rundir::CONFIG, CONFIG, hand, 20, |dir| {
        rundir::read_run_info(dir)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}

#[test]
fn fuzz_latest_toml() {
    let valid = latest_bytes();
    let hand = text_cases(
        &valid,
        &[
            ("step = 4000", "step = -1"),
            ("step = 4000", "step = 18446744073709551616"),
            ("epoch = 8.547", "epoch = nan"),
            ("elapsed_s = 612.25", "elapsed_s = -inf"),
            ("\"d.2\" = 4000", "\"d.2\" = -4000"),
            ("checkpoint = ", "checkpoint = 5 #"),
        ],
        &["step = 1", "[dropout]"],
    );
    fuzz("latest-toml", rundir::LATEST, &valid, hand, 30, |dir| {
        rundir::read_latest(dir)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
}

#[test]
fn fuzz_metrics_csv() {
    let dir = tmp_dir("metrics-valid");
    let valid = metrics_bytes(&dir);
    fs::remove_dir_all(&dir).unwrap();
    let hand = text_cases(
        &valid,
        &[
            ("\n100,", "\n-100,"),
            ("\n100,", "\n18446744073709551616,"),
            ("\n200,", "\n1e3,"),
            (",1.38,", ",NaN,"),
            (",0.69,", ",inf,"),
            (",0.69,", ",1e999,"),
            ("0.5,", ",,"),
        ],
        &[
            "700,1.0,1,1,1,1,1,1,9",
            "700,1.0,1,1",
            "",
            "700;1.0;1;1;1;1;1;1",
            &"1,".repeat(100_000),
        ],
    );
    fuzz("metrics-csv", rundir::METRICS, &valid, hand, 40, |dir| {
        read_metrics(dir).map(|_| ()).map_err(|e| e.to_string())
    });
}

#[test]
fn metrics_csv_errors_name_the_line_and_the_field() {
    let dir = tmp_dir("metrics_fields");
    let header = "step,epoch,d_loss,g_loss,d_real,d_fake,value,elapsed\n";
    let cases = [
        (
            "1,0.1,0.5,x,0.5,0.5,-1.3,0.2\n",
            "line 2: g_loss = \"x\" is not a number",
        ),
        (
            "1,0.1,0.5,0.7,0.5\n",
            "line 2: 5 fields, a metrics row has 8",
        ),
        (
            "-1,0.1,0.5,0.7,0.5,0.5,-1.3,0.2\n",
            "line 2: step = \"-1\" is not a number",
        ),
    ];
    for (row, want) in cases {
        fs::write(dir.join("metrics.csv"), format!("{header}{row}")).unwrap();
        let err = read_metrics(&dir).unwrap_err().to_string();
        assert!(err.contains(want) && err.contains("metrics.csv"), "{err}");
    }
    let _ = fs::remove_dir_all(&dir);
}
