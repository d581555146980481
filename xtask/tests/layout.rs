//! The workspace's layout rules, checked on the sources (no GPU):
//!
//! - no import circle inside a crate: no module imports one that imports it back, directly
//!   or through a chain (an import is a `use` or a path in the module's code; a `pub use`
//!   that only re-exports is not one, so `lib.rs` and `mod.rs` facades do not count);
//! - no hand-written source file over 600 lines.

mod modgraph;

use std::path::{Path, PathBuf};

use modgraph::{cycles, ModuleGraph};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

const CRATES: &[&str] = &[
    "crates/gan-tensor",
    "crates/gan-nn",
    "crates/gan-data",
    "crates/gan-train",
    "crates/gan-theory",
    "crates/gan-cli",
];

#[test]
fn no_crate_has_an_import_circle() {
    let mut report = String::new();
    for krate in CRATES {
        let graph = ModuleGraph::of_crate(&root().join(krate).join("src"));
        assert!(
            graph.modules() > 1,
            "{krate}: found {} modules",
            graph.modules()
        );
        for unresolved in graph.unresolved() {
            report.push_str(&format!("{krate}: cannot resolve {unresolved}\n"));
        }
        for cycle in cycles(&graph) {
            report.push_str(&format!("{krate}: import circle {}\n", cycle.join(" -> ")));
        }
    }
    assert!(report.is_empty(), "\n{report}");
}

#[test]
fn the_trainer_is_the_loop_over_the_gan() {
    let graph = ModuleGraph::of_crate(&root().join("crates/gan-train/src"));
    let trainer = graph.imports("trainer");
    for m in ["gan", "step", "eval", "feed", "metrics", "report", "rundir"] {
        assert!(
            trainer.contains(&m.to_string()),
            "trainer imports {trainer:?}"
        );
    }
    // Nothing below the loop reaches back into it.
    for m in [
        "gan", "step", "eval", "infer", "rundir", "report", "plot", "metrics",
    ] {
        assert!(
            !graph.imports(m).contains(&"trainer".to_string()),
            "{m} imports the trainer"
        );
    }
    assert!(graph.imports("eval").contains(&"gan".to_string()));
    assert!(graph.imports("infer").contains(&"gan".to_string()));
}

#[test]
fn the_checker_finds_a_planted_circle() {
    let dir = std::env::temp_dir().join(format!("gan-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("b")).unwrap();
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\npub use a::Thing;\n"),
        ("a.rs", "use crate::b::helper;\npub struct Thing;\n"),
        ("b/mod.rs", "mod inner;\npub use inner::helper;\n"),
        ("b/inner.rs", "pub fn helper() { let _ = crate::c::f(); }\n"),
        // A comment and a string that mention crate::a must not count.
        ("c.rs", "// crate::a::Thing\npub fn f() -> &'static str { \"crate::a\" }\nfn g() -> crate::Thing { crate::Thing }\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let graph = ModuleGraph::of_crate(&dir);
    let found = cycles(&graph);
    assert_eq!(
        found,
        vec![vec![
            "a".to_string(),
            "b::inner".into(),
            "c".into(),
            "a".into()
        ]],
        "{graph:?}"
    );
    std::fs::write(dir.join("c.rs"), "pub fn f() {}\n").unwrap();
    assert!(cycles(&ModuleGraph::of_crate(&dir)).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    for dir in CRATES
        .iter()
        .chain(&["crates/gan-fuzz", "xtask", "benches"])
    {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let generated = text.starts_with("// @generated");
            let n = text.lines().count();
            (n > 600 && !generated).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:#?}");
}
