use super::table::{from_csv, mean_se, paper_row, paper_row_stacked, section, to_csv};
use super::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| a.to_string()).collect()
}

fn row(pack: usize, seed: u64, modes: usize, hq: f64, kl: Option<f64>) -> Row {
    Row {
        table: "ring8".into(),
        pack,
        seed,
        steps: 5000,
        modes,
        high_quality: Some(hq),
        reverse_kl: kl,
        train_seconds: 600.0,
        adapter: "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)".into(),
    }
}

#[test]
fn plans_parse_with_the_papers_defaults() {
    let p = Plan::parse(&s(&["grid25"])).unwrap();
    assert_eq!(
        (p.seeds, p.steps, p.packs.clone()),
        (10, 400_000, vec![1, 2, 3, 4])
    );
    let p = Plan::parse(&s(&[
        "ring8", "--steps", "5000", "--seeds", "3", "--packs", "1, 2",
    ]))
    .unwrap();
    assert_eq!((p.seeds, p.steps, p.packs.clone()), (3, 5000, vec![1, 2]));
    assert_eq!(
        p.run_dir(2, 3),
        PathBuf::from("runs/paper/ring8/s5000/pac2-seed3")
    );
    let p = Plan::parse(&s(&["stacked", "--seeds", "2"])).unwrap();
    assert_eq!((p.seeds, p.steps, p.stacked()), (2, 100_000, true));
    assert_eq!(
        p.run_dir(1, 2),
        PathBuf::from("runs/paper/stacked/s100000/pac1-seed2")
    );
    for bad in [
        &["mnist"][..],
        &["stacked-mnist"],
        &[],
        &["ring8", "--steps"],
        &["ring8", "--steps", "0"],
        &["ring8", "--packs", "1,x"],
        &["ring8", "--speed", "3"],
    ] {
        assert!(Plan::parse(&s(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn train_args_are_a_valid_gan_train_command_of_the_preset() {
    let p = Plan::parse(&s(&["grid25", "--steps", "2000"])).unwrap();
    let args = p.train_args(3, 7);
    assert_eq!(&args[..3], &s(&["grid25", "--preset", "pacgan"])[..]);
    // The same parser and config building as `gan train`, without training.
    let parsed = gan_cli::train::parse_args(&args).unwrap();
    let (cfg, _notes) = gan_cli::train::build_config(&parsed, None).unwrap();
    assert_eq!((cfg.pack, cfg.seed, cfg.steps), (3, 7, 2000));
    assert_eq!(cfg.batch_size, 300, "100 packs of 3");
    assert_eq!(cfg.checkpoint_every, 200);
    assert_eq!(cfg.out_dir, p.run_dir(3, 7));
    assert_eq!(cfg.g_hidden, vec![400; 4]);
}

#[test]
fn stacked_train_args_are_the_stacked_mnist_protocol() {
    let p = Plan::parse(&s(&["stacked", "--steps", "30000"])).unwrap();
    let args = p.train_args(2, 4);
    assert_eq!(
        &args[..3],
        &s(&["stacked-mnist", "--preset", "pacgan-stacked"])[..]
    );
    let parsed = gan_cli::train::parse_args(&args).unwrap();
    let (cfg, _notes) = gan_cli::train::build_config(&parsed, None).unwrap();
    assert_eq!((cfg.pack, cfg.seed, cfg.steps), (2, 4, 30_000));
    assert_eq!(cfg.dataset, "stacked-mnist");
    assert_eq!(cfg.arch, gan_train::Arch::DcganTf);
    assert_eq!(
        (cfg.batch_size, cfg.g_steps, cfg.ngf),
        (128, 2, 64),
        "64 packs of 2"
    );
    assert_eq!(cfg.checkpoint_every, 1500, "30000 / 20");
    let long = Plan::parse(&s(&["stacked"])).unwrap().train_args(1, 1);
    let i = long.iter().position(|a| a == "--checkpoint-every").unwrap();
    assert_eq!(
        long[i + 1],
        "5000",
        "at most 5000 steps between checkpoints"
    );
}

#[test]
fn scores_become_the_tables_columns() {
    use gan_train::eval::{stacked::stacked_scores, Scores};
    let dir = Path::new("runs/x");
    // Digit triples 1-2-3 twice and 4-5-6 once: 2 modes.
    let stacked = Scores {
        stacked: Some(stacked_scores(&[1, 2, 3, 1, 2, 3, 4, 5, 6])),
        ..Default::default()
    };
    let (modes, hq, kl) = scores_of(true, stacked.clone(), dir).unwrap();
    assert_eq!((modes, hq), (2, None));
    // KL(p || uniform over 1000) = sum p ln(1000 p)
    let want = (2.0 / 3.0) * (2000.0f64 / 3.0).ln() + (1.0 / 3.0) * (1000.0f64 / 3.0).ln();
    assert!((kl.unwrap() - want).abs() < 1e-9, "{kl:?} vs {want}");
    let e = format!("{:#}", scores_of(false, stacked, dir).unwrap_err());
    assert!(e.contains("no mode scores") && e.contains("runs/x"), "{e}");
    let e = format!("{:#}", scores_of(true, Scores::default(), dir).unwrap_err());
    assert!(e.contains("no Stacked MNIST scores"), "{e}");
}

#[test]
fn rows_round_trip_through_csv() {
    let mut stacked = row(2, 1, 1000, 0.0, Some(0.0612));
    stacked.table = "stacked".into();
    stacked.high_quality = None;
    let rows = vec![
        row(1, 1, 6, 97.25, Some(0.4321)),
        row(2, 1, 0, 0.0, None),
        stacked,
    ];
    let back = from_csv(&to_csv(&rows)).unwrap();
    assert_eq!(back, rows);
    assert!(from_csv("a,b\n").is_err());
    let broken = to_csv(&rows).replace("97.25", "ninety");
    assert!(from_csv(&broken).is_err());
}

/// A table finished across sittings: rows saved earlier whose run directories are gone
/// stay, a run found again replaces its row, new runs are added.
#[test]
fn saved_rows_survive_runs_that_are_not_here() {
    let saved = vec![
        row(1, 1, 18, 9.3, Some(0.97)),
        row(3, 1, 18, 2.2, Some(0.56)),
    ];
    let fresh = vec![row(3, 1, 20, 4.0, Some(0.5)), row(3, 2, 21, 3.0, None)];
    let mut merged = table::merge_rows(saved, fresh);
    merged.sort_by_key(|r| (r.pack, r.seed));
    let keys: Vec<(usize, u64, usize)> = merged.iter().map(|r| (r.pack, r.seed, r.modes)).collect();
    assert_eq!(keys, [(1, 1, 18), (3, 1, 20), (3, 2, 21)]);
}

#[test]
fn mean_and_standard_error() {
    let (m, se) = mean_se(&[1.0, 2.0, 3.0, 4.0]);
    assert!((m - 2.5).abs() < 1e-12);
    // sample sd = sqrt(5/3); se = sd / 2
    assert!((se - (5.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-12, "{se}");
    assert_eq!(mean_se(&[7.0]), (7.0, 0.0));
}

#[test]
fn a_section_puts_the_papers_row_beside_ours() {
    let rows = vec![
        row(1, 1, 6, 90.0, Some(0.5)),
        row(1, 2, 8, 96.0, Some(0.1)),
        row(2, 1, 8, 95.0, None),
    ];
    let md = section("ring8", 5000, &rows);
    assert!(md.contains("cargo xtask paper ring8 --steps 5000"), "{md}");
    assert!(md.contains("| GAN | 2 | 7.0 ± 1.0 | 93.0 ± 3.0 | 0.30 ± 0.20 | 6.3 ± 0.5 | 98.2 ± 0.2 | 0.45 ± 0.09 |"), "{md}");
    assert!(md.contains("| PacGAN2 | 1 |"), "{md}");
    assert!(md.contains("| - | 7.9 ± 0.1"), "{md}");
    assert_eq!(paper_row("grid25", 4).unwrap()[0], (24.8, 0.2));
    assert!(paper_row("grid25", 5).is_none());
}

/// A table of 2 tiny runs on the real adapter: finished runs are skipped, a cut run is
/// resumed to the plan's length, a run cut before its first checkpoint starts again.
#[test]
fn runs_are_skipped_when_done_and_resumed_when_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = Plan {
        table: "ring8".into(),
        seeds: 1,
        steps: 6,
        packs: vec![2],
        out: tmp.path().to_path_buf(),
        variant: Variant::Paper,
    };
    let ctx = gan_tensor::Context::new().unwrap();
    let row = finish_run(&ctx, &plan, 2, 1).unwrap();
    assert_eq!(
        (row.table.as_str(), row.pack, row.seed, row.steps),
        ("ring8", 2, 1, 6)
    );
    assert!(row.modes <= 8 && (0.0..=100.0).contains(&row.high_quality.unwrap()));
    let dir = plan.run_dir(2, 1);
    let cfg = gan_train::read_config(&dir).unwrap();
    assert_eq!(
        (cfg.batch_size, cfg.d_maxout),
        (200, 5),
        "the preset's protocol"
    );
    // Done: read back, not retrained (the planted value survives).
    let path = dir.join("eval").join(RESULT);
    let text = std::fs::read_to_string(&path).unwrap();
    let planted = text.replace(&format!("\"modes\": {}", row.modes), "\"modes\": 99");
    std::fs::write(&path, planted).unwrap();
    assert_eq!(finish_run(&ctx, &plan, 2, 1).unwrap().modes, 99);
    // Cut at step 3 of 6: resumed to 6.
    let mut cut = plan.train_args(2, 2);
    let i = cut.iter().position(|a| a == "--steps").unwrap();
    cut[i + 1] = "3".into();
    gan_cli::train::run_from_args(&cut).unwrap();
    assert_eq!(gan_train::read_latest(&plan.run_dir(2, 2)).unwrap().step, 3);
    assert_eq!(finish_run(&ctx, &plan, 2, 2).unwrap().steps, 6);
    // A directory without a checkpoint is started again.
    let empty = plan.run_dir(2, 3);
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("stray.txt"), "x").unwrap();
    assert_eq!(finish_run(&ctx, &plan, 2, 3).unwrap().steps, 6);
    assert!(!empty.join("stray.txt").exists());
}

#[test]
fn the_stacked_section_has_table_2s_columns() {
    let mut rows = vec![row(1, 1, 80, 0.0, Some(4.0)), row(1, 2, 90, 0.0, Some(5.0))];
    rows.push(row(2, 1, 1000, 0.0, Some(0.06)));
    for r in &mut rows {
        r.table = "stacked".into();
        r.steps = 1000;
        r.high_quality = None;
    }
    let md = section("stacked", 1000, &rows);
    assert!(md.contains("(1.0% of the paper's 100,000)"), "{md}");
    assert!(
        md.contains("cargo xtask paper stacked --steps 1000 --seeds 2 --packs 1,2"),
        "{md}"
    );
    assert!(
        md.contains("| method | seeds | modes (max 1000) | KL | paper: modes | paper: KL |"),
        "{md}"
    );
    assert!(
        md.contains("| DCGAN | 2 | 85.0 ± 5.0 | 4.50 ± 0.50 | 78.9 ± 6.46 | 4.50 ± 0.127 |"),
        "{md}"
    );
    assert!(
        md.contains("| PacDCGAN2 | 1 | 1000.0 | 0.06 | 1000.0 ± 0.00 | 0.06 ± 0.003 |"),
        "{md}"
    );
    assert!(!md.contains("high quality"), "{md}");
    assert_eq!(paper_row_stacked(4).unwrap()[1], (0.07, 0.005));
    assert!(paper_row_stacked(5).is_none());
    let ring = section("ring8", 5000, &[row(1, 1, 8, 60.0, Some(0.4))]);
    assert!(ring.contains("(1.2% of the paper's 400,000)"), "{ring}");
}

#[test]
fn the_page_puts_the_pytorch_reference_after_our_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("benchmarks");
    std::fs::create_dir_all(folder.join("pytorch")).unwrap();
    std::fs::write(
        folder.join("ring8-s5000.csv"),
        to_csv(&[row(1, 1, 8, 60.0, Some(0.4))]),
    )
    .unwrap();
    let mut torch = row(1, 1, 7, 90.0, Some(0.2));
    torch.adapter = "PyTorch 2.15.0 CPU, 2 threads".into();
    std::fs::write(folder.join("pytorch/ring8-s5000.csv"), to_csv(&[torch])).unwrap();
    std::fs::write(folder.join("notes.txt"), "not a table").unwrap();
    let out = tmp.path().join("benchmarks.md");
    write_doc(&folder, &out).unwrap();
    let page = std::fs::read_to_string(&out).unwrap();
    let ours = page
        .find("cargo xtask paper ring8 --steps 5000 --seeds 1 --packs 1")
        .unwrap();
    let reference = page
        .find("benches/pytorch/pacgan_2d.py ring8 --steps 5000")
        .unwrap();
    assert!(ours < reference, "{page}");
    assert!(page.contains("| GAN | 1 | 7.0 | 90.0 |"), "{page}");
    // Table 2 comes after Table 1's mixtures, whatever the order of the files.
    let mut stacked = row(1, 1, 99, 0.0, Some(3.4));
    stacked.table = "stacked".into();
    stacked.high_quality = None;
    std::fs::write(folder.join("a-stacked-s5000.csv"), to_csv(&[stacked])).unwrap();
    write_doc(&folder, &out).unwrap();
    let page = std::fs::read_to_string(&out).unwrap();
    let (ring, table2) = (
        page.find("### ring8, 5000 steps").unwrap(),
        page.find("### stacked, 5000 steps").unwrap(),
    );
    assert!(ring < table2, "{page}");
    assert!(page.contains("| DCGAN | 1 | 99.0 | 3.40 |"), "{page}");
    // A broken file is named in the error.
    std::fs::write(folder.join("grid25-s5000.csv"), "garbage\n").unwrap();
    let e = format!("{:#}", write_doc(&folder, &out).unwrap_err());
    assert!(e.contains("grid25-s5000.csv"), "{e}");
}

/// `--variant ema` adds G_ema to every run, keeps its runs and rows apart from the
/// protocol's, and its section says so and how to reproduce it.
#[test]
fn the_ema_variant_has_its_own_runs_rows_and_section() {
    let p = Plan::parse(&s(&["ring8", "--steps", "5000", "--variant", "ema"])).unwrap();
    assert_eq!(p.variant, Variant::Ema);
    assert_eq!(
        p.run_dir(2, 1),
        PathBuf::from("runs/paper/ring8/s5000-ema/pac2-seed1")
    );
    assert_eq!(p.csv_name(), "ring8-s5000-ema.csv");
    let args = p.train_args(2, 1);
    let at = args.iter().position(|a| a == "--ema-decay").unwrap();
    assert_eq!(args[at + 1], "0.999");
    assert!(!Plan::parse(&s(&["ring8"]))
        .unwrap()
        .train_args(1, 1)
        .contains(&"--ema-decay".to_string()));
    assert!(Plan::parse(&s(&["ring8", "--variant", "best"])).is_err());
    assert_eq!(Variant::of_file("ring8-s5000-ema"), Variant::Ema);
    assert_eq!(Variant::of_file("ring8-s5000"), Variant::Paper);

    let tmp = tempfile::tempdir().unwrap();
    let rows = vec![row(1, 1, 8, 60.0, Some(0.4))];
    std::fs::write(tmp.path().join("ring8-s5000.csv"), to_csv(&rows)).unwrap();
    let ema = vec![row(1, 1, 8, 87.5, Some(0.3))];
    std::fs::write(tmp.path().join("ring8-s5000-ema.csv"), to_csv(&ema)).unwrap();
    let out = tmp.path().join("benchmarks.md");
    table::write_doc(tmp.path(), &out).unwrap();
    let md = std::fs::read_to_string(&out).unwrap();
    let (plain, with) = (
        md.find("5000 steps per run (1.2% of the paper's 400,000): gan\n")
            .unwrap(),
        md.find("): gan + G_ema").unwrap(),
    );
    assert!(plain < with, "the protocol's section comes first");
    assert!(md.contains("--packs 1 --variant ema` (resumable)"), "{md}");
    assert!(md[with..].contains("| GAN | 1 | 8.0 | 87.5 | 0.30 |"));
}
