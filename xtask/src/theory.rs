//! `cargo xtask theory [--quick] [--out DIR] [--doc FILE]`: runs the experiments of
//! gan-theory (D vs D*, V vs -log 4 + 2 JSD, the 1-D game, gradient saturation,
//! each player alone on MNIST), prints the markdown report with every parameter and
//! writes the figures (default `docs/figures/`, relative to the workspace root).
//! `--doc FILE` (`--doc` alone: docs/theory.md) also writes the report's sections into
//! the file's `<!-- BEGIN theory:KEY -->` ... `<!-- END theory:KEY -->` blocks.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use gan_theory::run::{run as run_theory, TheoryConfig};

pub fn run(args: &[String]) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let (mut quick, mut out, mut doc) = (false, root.join("docs/figures"), None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--doc" => doc = Some(root.join("docs/theory.md")),
            a if a.starts_with("--doc=") => doc = Some(root.join(&a["--doc=".len()..])),
            "--out" => {
                let dir = it
                    .next()
                    .context("--out needs a directory, e.g. --out docs/figures")?;
                out = root.join(PathBuf::from(dir));
            }
            other => {
                bail!("unknown argument {other:?}; usage: cargo xtask theory [--quick] [--out DIR] [--doc | --doc=FILE]")
            }
        }
    }
    let start = std::time::Instant::now();
    let ctx = gan_tensor::Context::new().context("opening the GPU (wgpu adapter)")?;
    let cfg = TheoryConfig::new(quick);
    let report = run_theory(&ctx, &cfg, |line| eprintln!("theory: {line}"))?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (name, png) in &report.figures {
        let path = out.join(name);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", report.markdown);
    if let Some(path) = doc {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let adapter = format!(
            "{}\n\nMeasured with `cargo xtask theory{}` (release build) on {}: {:.0} s wall in all.",
            report.markdown.lines().next().unwrap_or_default().replace(" Every number below comes from this run.", ""),
            if quick { " --quick" } else { "" },
            today(),
            start.elapsed().as_secs_f64()
        );
        let new = splice(&text, &report.markdown, &adapter)?;
        std::fs::write(&path, new).with_context(|| format!("writing {}", path.display()))?;
        println!("Updated the measured blocks of {}.", path.display());
    }
    println!(
        "Figures written to {} ({} files). cargo xtask theory{}: {:.1} s wall.",
        out.display(),
        report.figures.len(),
        if quick { " --quick" } else { "" },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The report's sections by key: `## 1-2. ...` is "1-2", `### 3b. ...` is "3b"; each
/// body runs to the next heading, without the closing `Total:` line.
fn sections(report: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in report.lines() {
        let heading = line
            .strip_prefix("### ")
            .or_else(|| line.strip_prefix("## "));
        match heading.and_then(|h| h.split_once(". ")) {
            Some((key, _)) => out.push((key.to_string(), String::new())),
            None => {
                if let Some((_, body)) = out.last_mut() {
                    if !line.starts_with("Total: ") {
                        body.push_str(line);
                        body.push('\n');
                    }
                }
            }
        }
    }
    for (_, body) in &mut out {
        *body = body.trim().to_string();
    }
    out
}

/// `doc` with each `<!-- BEGIN theory:KEY -->` ... `<!-- END theory:KEY -->` block
/// replaced by the report's section KEY (`adapter`: the adapter and date lines). Every
/// block must have its section and every section a block.
fn splice(doc: &str, report: &str, adapter: &str) -> Result<String> {
    let mut blocks = sections(report);
    blocks.push(("adapter".into(), adapter.to_string()));
    let mut out = doc.to_string();
    for (key, body) in &blocks {
        let begin = format!("<!-- BEGIN theory:{key} -->\n");
        let end = format!("<!-- END theory:{key} -->");
        let (Some(a), Some(b)) = (out.find(&begin), out.find(&end)) else {
            bail!("the doc has no block `theory:{key}` (add {begin:?} and {end:?})");
        };
        if b < a {
            bail!("the doc's block `theory:{key}` ends before it begins");
        }
        out.replace_range(a + begin.len()..b, &format!("{body}\n"));
    }
    let marks = out.matches("<!-- BEGIN theory:").count();
    if marks != blocks.len() {
        bail!(
            "the doc has {marks} theory blocks, the report {} sections: {:?}",
            blocks.len(),
            blocks.iter().map(|b| &b.0).collect::<Vec<_>>()
        );
    }
    Ok(out)
}

/// Today's date (UTC), YYYY-MM-DD (civil-from-days, H. Hinnant's algorithm).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Adapter: `x` (Vulkan). Every number below comes from this run.\n\n\
        ## 1-2. First\n\n| a |\n\n## 3. Second\n\nrow 3\n\n### 3b. Third\n\nrow 3b\n\nTotal: 9 s.\n";

    #[test]
    fn splice_replaces_each_block_and_keeps_the_prose() {
        let doc = "intro\n<!-- BEGIN theory:adapter -->\nold\n<!-- END theory:adapter -->\ntext\n\
            <!-- BEGIN theory:1-2 -->\nold\n<!-- END theory:1-2 -->\nprose\n\
            <!-- BEGIN theory:3 -->\n<!-- END theory:3 -->\n<!-- BEGIN theory:3b -->\nold\n<!-- END theory:3b -->\n";
        let out = splice(doc, REPORT, "Adapter: `x`.").unwrap();
        assert_eq!(
            out,
            "intro\n<!-- BEGIN theory:adapter -->\nAdapter: `x`.\n<!-- END theory:adapter -->\ntext\n\
            <!-- BEGIN theory:1-2 -->\n| a |\n<!-- END theory:1-2 -->\nprose\n\
            <!-- BEGIN theory:3 -->\nrow 3\n<!-- END theory:3 -->\n<!-- BEGIN theory:3b -->\nrow 3b\n<!-- END theory:3b -->\n"
        );
    }

    #[test]
    fn splice_refuses_a_missing_or_extra_block() {
        let missing = "<!-- BEGIN theory:adapter -->\n<!-- END theory:adapter -->\n";
        assert!(splice(missing, REPORT, "a")
            .unwrap_err()
            .to_string()
            .contains("theory:1-2"));
        let doc = "<!-- BEGIN theory:adapter -->\n<!-- END theory:adapter -->\n\
            <!-- BEGIN theory:1-2 -->\n<!-- END theory:1-2 -->\n<!-- BEGIN theory:3 -->\n<!-- END theory:3 -->\n\
            <!-- BEGIN theory:3b -->\n<!-- END theory:3b -->\n<!-- BEGIN theory:9 -->\n<!-- END theory:9 -->\n";
        assert!(splice(doc, REPORT, "a")
            .unwrap_err()
            .to_string()
            .contains("4 sections"));
    }

    #[test]
    fn today_is_a_date() {
        let t = today();
        assert_eq!((t.len(), &t[4..5], &t[7..8]), (10, "-", "-"), "{t}");
        assert!(t.as_str() >= "2026-01-01", "{t}");
    }
}
