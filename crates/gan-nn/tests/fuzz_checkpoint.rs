//! Mutation fuzzing of the safetensors readers (`checkpoint::load`, `load_optimizer`):
//! seeded random mutations of a valid model file and a valid Adam state file (gan-fuzz),
//! plus structured edits of the JSON header. Every case must be refused with an error
//! (or accepted, when the mutation left the file valid), never panic, and never allocate
//! more than the file could justify.
//!
//! The allocation bound enforced: the reader's peak heap on this thread is at most
//! `ALLOC_FACTOR * file length + ALLOC_SLACK` bytes (the file is read whole, its header
//! parsed, and an accepted file's tensors copied and uploaded: a small multiple of the
//! file's length, plus a fixed allowance for the device's command buffers). A header that
//! promises terabytes (header length, shape or data_offsets) is refused before anything
//! of that size is allocated.
//!
//! `GAN_FUZZ_CASES=N` sets the random cases per target (default 1500), `GAN_FUZZ_SEED`
//! moves the seed.

use std::fs;
use std::path::{Path, PathBuf};

use gan_fuzz::{case_count, check_cases, mutations, seed, Case, CountingAlloc, Field};
use gan_nn::checkpoint;
use gan_nn::{Adam, AdamConfig, BatchNorm1d, Linear, Module, ParamStore, Sequential, StoreConfig};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const ALLOC_FACTOR: usize = 32;
const ALLOC_SLACK: usize = 4 << 20;

fn max_alloc(len: usize) -> usize {
    ALLOC_FACTOR * len + ALLOC_SLACK
}

fn model() -> Sequential {
    Sequential::new()
        .add(Linear::new(3, 4))
        .add(BatchNorm1d::new(4))
}

fn store(m: &dyn Module, seed: u64) -> ParamStore {
    let ctx = gan_tensor::testing::shared_context().clone();
    ParamStore::build(&ctx, m, &StoreConfig::seed(seed)).unwrap()
}

fn tmp_dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gan-nn-fuzz-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// The valid model file and optimizer file of a fresh model, as bytes.
fn valid_files(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let m = model();
    let s = store(&m, 1);
    let opt = Adam::new(&s, AdamConfig::adam(1e-3)).unwrap();
    let p = dir.join("valid.safetensors");
    checkpoint::save(&p, &s).unwrap();
    let op = checkpoint::optimizer_path(&p);
    checkpoint::save_optimizer(&op, &opt).unwrap();
    (fs::read(&p).unwrap(), fs::read(&op).unwrap())
}

/// The header length field (u64 LE at offset 0) and the first bytes of the JSON header.
fn fields() -> Vec<Field> {
    vec![
        Field {
            name: "header_len",
            offset: 0,
            width: 8,
            big_endian: false,
        },
        Field {
            name: "header_start",
            offset: 8,
            width: 4,
            big_endian: false,
        },
    ]
}

/// The header's entries as (key, JSON text) in file order, and the data section.
fn split(valid: &[u8]) -> (Vec<(String, String)>, Vec<u8>) {
    let n = u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&valid[8..8 + n]).unwrap();
    let entries = header
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    (entries, valid[8 + n..].to_vec())
}

/// A safetensors file from header entries (written verbatim, duplicates kept) and data.
fn join(entries: &[(String, String)], data: &[u8]) -> Vec<u8> {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k.clone())))
        .collect();
    let header = format!("{{{}}}", body.join(","));
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn edit(
    entries: &[(String, String)],
    name: &str,
    f: impl Fn(&mut serde_json::Value),
) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(k, v)| {
            if k == name {
                let mut j: serde_json::Value = serde_json::from_str(v).unwrap();
                f(&mut j);
                (k.clone(), j.to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Structured edits of the header, each with the words its error must contain (besides
/// the file's path).
fn structured(valid: &[u8], tensor: &str) -> Vec<(Case, Vec<String>)> {
    let (entries, data) = split(valid);
    let t = tensor.to_string();
    let mut out: Vec<(Case, Vec<String>)> = Vec::new();
    let mut add = |what: &str, bytes: Vec<u8>, words: &[&str]| {
        out.push((
            Case {
                what: what.into(),
                bytes,
            },
            words.iter().map(|s| s.to_string()).collect(),
        ))
    };
    let offsets = |e: &[(String, String)]| -> (u64, u64) {
        let v: serde_json::Value =
            serde_json::from_str(&e.iter().find(|(k, _)| *k == t).unwrap().1).unwrap();
        (
            v["data_offsets"][0].as_u64().unwrap(),
            v["data_offsets"][1].as_u64().unwrap(),
        )
    };
    let (s, e) = offsets(&entries);
    for dtype in ["F64", "I32", "F16", "BOOL", "Q9"] {
        add(
            &format!("{t}: dtype {dtype}"),
            join(&edit(&entries, &t, |j| j["dtype"] = dtype.into()), &data),
            &[&t],
        );
    }
    let shapes: Vec<(&str, serde_json::Value)> = vec![
        ("a 0 in the shape", serde_json::json!([0, 4])),
        ("a huge dimension", serde_json::json!([2147483647])),
        ("a 2^32-1 dimension", serde_json::json!([4294967295u64, 4])),
        (
            "a shape whose product overflows usize",
            serde_json::json!([4294967296u64, 4294967296u64, 16]),
        ),
        (
            "a shape whose byte size overflows usize",
            serde_json::json!([4611686018427387904u64, 2]),
        ),
        ("a negative dimension", serde_json::json!([-1, 4])),
        ("a fractional dimension", serde_json::json!([1.5])),
        ("a string shape", serde_json::json!("4")),
    ];
    for (what, shape) in shapes {
        add(
            &format!("{t}: {what}"),
            join(&edit(&entries, &t, |j| j["shape"] = shape.clone()), &data),
            &[&t],
        );
    }
    let offs: Vec<(&str, serde_json::Value)> = vec![
        ("data_offsets reversed", serde_json::json!([e, s])),
        (
            "data_offsets past the end",
            serde_json::json!([s, e + 4096]),
        ),
        ("data_offsets at 2^64-1", serde_json::json!([s, u64::MAX])),
        (
            "data_offsets overlapping the previous tensor",
            serde_json::json!([s.saturating_sub(4), e.saturating_sub(4)]),
        ),
        ("data_offsets with one number", serde_json::json!([s])),
        (
            "data_offsets with three numbers",
            serde_json::json!([s, e, e]),
        ),
    ];
    for (what, o) in offs {
        add(
            &format!("{t}: {what}"),
            join(
                &edit(&entries, &t, |j| j["data_offsets"] = o.clone()),
                &data,
            ),
            &[&t],
        );
    }
    add(
        &format!("{t}: dtype field missing"),
        join(
            &edit(&entries, &t, |j| {
                j.as_object_mut().unwrap().remove("dtype");
            }),
            &data,
        ),
        &[&t, "dtype"],
    );
    // Missing, extra, renamed and duplicated tensors.
    let without: Vec<_> = entries.iter().filter(|(k, _)| *k != t).cloned().collect();
    add(&format!("{t} missing"), join(&without, &data), &[&t]);
    let mut extra = entries.clone();
    let end = data.len() as u64;
    extra.push((
        "extra.weight".into(),
        format!(
            r#"{{"dtype":"F32","shape":[1],"data_offsets":[{end},{}]}}"#,
            end + 4
        ),
    ));
    let mut data4 = data.clone();
    data4.extend([0u8; 4]);
    add("an extra tensor", join(&extra, &data4), &["extra.weight"]);
    let renamed: Vec<_> = entries
        .iter()
        .map(|(k, v)| {
            let k = if *k == t {
                format!("{t}_renamed")
            } else {
                k.clone()
            };
            (k, v.clone())
        })
        .collect();
    add(&format!("{t} renamed"), join(&renamed, &data), &[&t]);
    let mut dup = entries.clone();
    let i = dup.iter().position(|(k, _)| *k == t).unwrap();
    dup.insert(i + 1, dup[i].clone());
    add(
        &format!("{t} duplicated (same entry)"),
        join(&dup, &data),
        &[&t],
    );
    let mut dup2 = entries.clone();
    dup2.insert(
        i + 1,
        (
            t.clone(),
            format!(
                r#"{{"dtype":"F32","shape":[1],"data_offsets":[{end},{}]}}"#,
                end + 4
            ),
        ),
    );
    add(
        &format!("{t} duplicated (another entry)"),
        join(&dup2, &data4),
        &[&t],
    );
    // Header length promising terabytes / past the end / short of the header.
    let mut big = valid.to_vec();
    big[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    add("header length 2^40 (a terabyte)", big, &["header"]);
    let mut past = valid.to_vec();
    let n = u64::from_le_bytes(valid[..8].try_into().unwrap());
    past[..8].copy_from_slice(&(valid.len() as u64 - 7).to_le_bytes());
    add("header length past the end", past, &["header"]);
    let mut short = valid.to_vec();
    short[..8].copy_from_slice(&(n - 1).to_le_bytes());
    add("header length one short", short, &[]);
    add(
        "data section truncated",
        valid[..valid.len() - 1].to_vec(),
        &[],
    );
    out
}

/// Runs `load` (model) over the cases, one reused temp file.
fn fuzz_model(target: &str, cases: &[Case], path: &Path, s: &ParamStore) -> (usize, usize) {
    check_cases(target, cases, max_alloc, |bytes| {
        fs::write(path, bytes).unwrap();
        checkpoint::load(path, s).map_err(|e| e.to_string())
    })
}

#[test]
fn fuzz_model_checkpoint() {
    let dir = tmp_dir("model");
    let (valid, _) = valid_files(&dir);
    let m = model();
    let s = store(&m, 2);
    let path = dir.join("case.safetensors");
    let cases = mutations(&valid, &fields(), case_count(1500), seed());
    let t0 = std::time::Instant::now();
    let (ok, refused) = fuzz_model("checkpoint-model", &cases, &path, &s);
    eprintln!(
        "checkpoint-model: {} cases ({ok} accepted, {refused} refused) in {:.1}s",
        cases.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(refused > cases.len() / 2);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fuzz_optimizer_checkpoint() {
    let dir = tmp_dir("optim");
    let (_, valid) = valid_files(&dir);
    let m = model();
    let s = store(&m, 2);
    let mut opt = Adam::new(&s, AdamConfig::adam(1e-3)).unwrap();
    let path = dir.join("case.optim.safetensors");
    let cases = mutations(&valid, &fields(), case_count(1500), seed() + 1);
    let t0 = std::time::Instant::now();
    let (ok, refused) = check_cases("checkpoint-optim", &cases, max_alloc, |bytes| {
        fs::write(&path, bytes).unwrap();
        checkpoint::load_optimizer(&path, &mut opt).map_err(|e| e.to_string())
    });
    eprintln!(
        "checkpoint-optim: {} cases ({ok} accepted, {refused} refused) in {:.1}s",
        cases.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(refused > cases.len() / 2);
    fs::remove_dir_all(&dir).unwrap();
}

/// Each structured edit of the header is refused naming the file and the tensor/field.
fn check_structured(
    target: &str,
    valid: &[u8],
    tensor: &str,
    load: impl Fn(&Path) -> Result<(), String>,
    path: &Path,
) {
    let cases = structured(valid, tensor);
    let plain: Vec<Case> = cases.iter().map(|(c, _)| c.clone()).collect();
    let mut errors = Vec::new();
    check_cases(target, &plain, max_alloc, |bytes| {
        fs::write(path, bytes).unwrap();
        let r = load(path);
        errors.push(r.clone());
        r
    });
    let mut bad = Vec::new();
    for ((case, words), r) in cases.iter().zip(errors) {
        match r {
            Ok(()) => bad.push(format!("{}: accepted", case.what)),
            Err(msg) => {
                let want = std::iter::once(path.display().to_string()).chain(words.iter().cloned());
                for w in want {
                    if !msg.contains(&w) {
                        bad.push(format!("{}: error does not name `{w}`: {msg}", case.what));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "{target}:\n{}", bad.join("\n"));
}

#[test]
fn structured_header_edits_of_a_model_checkpoint_are_refused_by_name() {
    let dir = tmp_dir("structured-model");
    let (valid, _) = valid_files(&dir);
    let m = model();
    let s = store(&m, 2);
    let path = dir.join("case.safetensors");
    for tensor in ["0.weight", "1.running_var", "1.num_batches_tracked"] {
        check_structured(
            "checkpoint-model-structured",
            &valid,
            tensor,
            |p| checkpoint::load(p, &s).map_err(|e| e.to_string()),
            &path,
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn structured_header_edits_of_an_optimizer_file_are_refused_by_name() {
    let dir = tmp_dir("structured-optim");
    let (_, valid) = valid_files(&dir);
    let m = model();
    let s = store(&m, 2);
    let opt = std::cell::RefCell::new(Adam::new(&s, AdamConfig::adam(1e-3)).unwrap());
    let path = dir.join("case.optim.safetensors");
    for tensor in ["optim.step", "optim.m.0.weight", "optim.v.1.bias"] {
        check_structured(
            "checkpoint-optim-structured",
            &valid,
            tensor,
            |p| checkpoint::load_optimizer(p, &mut *opt.borrow_mut()).map_err(|e| e.to_string()),
            &path,
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}

// Regression tests for the defects the fuzzing found.

/// Loads `bytes` as a model checkpoint and returns the error message.
fn model_error(test: &str, bytes: &[u8]) -> (String, String) {
    let dir = tmp_dir(test);
    let path = dir.join("case.safetensors");
    fs::write(&path, bytes).unwrap();
    let m = model();
    let s = store(&m, 2);
    let err = checkpoint::load(&path, &s).unwrap_err().to_string();
    fs::remove_dir_all(&dir).unwrap();
    (path.display().to_string(), err)
}

fn valid_model_bytes(test: &str) -> Vec<u8> {
    let dir = tmp_dir(test);
    let (v, _) = valid_files(&dir);
    fs::remove_dir_all(&dir).unwrap();
    v
}

#[test]
fn checkpoint_bad_dtype_shape_or_offsets_name_the_tensor_and_field() {
    // Was: "invalid shape, data type, or offset for tensor" / "overflow computing buffer
    // size", naming no tensor.
    let valid = valid_model_bytes("reg-fields");
    let (entries, data) = split(&valid);
    for (field, value, word) in [
        ("dtype", serde_json::json!("F64"), "F64"),
        ("shape", serde_json::json!([0, 4]), "data_offsets"),
        (
            "shape",
            serde_json::json!([1u64 << 32, 1u64 << 32, 16]),
            "shape",
        ),
        (
            "data_offsets",
            serde_json::json!([0, u64::MAX]),
            "data_offsets",
        ),
    ] {
        let bytes = join(
            &edit(&entries, "0.weight", |j| j[field] = value.clone()),
            &data,
        );
        let (path, err) = model_error("reg-fields-case", &bytes);
        for w in [path.as_str(), "`0.weight`", word] {
            assert!(err.contains(w), "{field} = {value}: `{w}` not in: {err}");
        }
    }
}

#[test]
fn checkpoint_duplicated_tensor_key_is_refused() {
    // Was: accepted (serde_json keeps the last of two equal keys).
    let valid = valid_model_bytes("reg-dup");
    let (mut entries, data) = split(&valid);
    let i = entries.iter().position(|(k, _)| k == "0.bias").unwrap();
    entries.insert(i, entries[i].clone());
    let (path, err) = model_error("reg-dup-case", &join(&entries, &data));
    assert!(
        err.contains(&path) && err.contains("`0.bias` appears twice"),
        "{err}"
    );
}

#[test]
fn checkpoint_missing_tensor_is_named_not_the_gap_it_leaves() {
    // Was: "invalid offset for tensor `1.bias`", the neighbour of the missing tensor.
    let valid = valid_model_bytes("reg-missing");
    let (entries, data) = split(&valid);
    let without: Vec<_> = entries
        .into_iter()
        .filter(|(k, _)| k != "0.weight")
        .collect();
    let (path, err) = model_error("reg-missing-case", &join(&without, &data));
    assert!(
        err.contains(&path) && err.contains("no tensor `0.weight`"),
        "{err}"
    );
}

#[test]
fn checkpoint_header_length_past_end_is_refused() {
    let mut bytes = valid_model_bytes("reg-len");
    bytes[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let ((path, err), peak) = gan_fuzz::peak_alloc(|| model_error("reg-len-case", &bytes));
    assert!(
        err.contains(&path) && err.contains("header length"),
        "{err}"
    );
    assert!(peak < max_alloc(bytes.len()), "{peak}");
}

#[test]
fn checkpoint_header_of_many_small_numbers_stays_within_the_allocation_bound() {
    // The header's JSON values are the largest allocation relative to the file: a
    // shape of 200k ones (2 bytes each in the file).
    let valid = valid_model_bytes("reg-ones");
    let (entries, data) = split(&valid);
    let ones = serde_json::Value::Array(vec![1.into(); 200_000]);
    let bytes = join(
        &edit(&entries, "0.weight", |j| j["shape"] = ones.clone()),
        &data,
    );
    let ((_, err), peak) = gan_fuzz::peak_alloc(|| model_error("reg-ones-case", &bytes));
    assert!(err.contains("`0.weight`"), "{err}");
    assert!(
        peak < max_alloc(bytes.len()),
        "{peak} for {} bytes",
        bytes.len()
    );
}

#[test]
fn optimizer_negative_step_is_refused() {
    // Was: silently clamped to 0.
    let dir = tmp_dir("reg-step");
    let (_, valid) = valid_files(&dir);
    let (entries, mut data) = split(&valid);
    let v: serde_json::Value =
        serde_json::from_str(&entries.iter().find(|(k, _)| k == "optim.step").unwrap().1).unwrap();
    let s = v["data_offsets"][0].as_u64().unwrap() as usize;
    data[s..s + 8].copy_from_slice(&(-5i64).to_le_bytes());
    let path = dir.join("case.optim.safetensors");
    fs::write(&path, join(&entries, &data)).unwrap();
    let m = model();
    let st = store(&m, 2);
    let mut opt = Adam::new(&st, AdamConfig::adam(1e-3)).unwrap();
    let err = checkpoint::load_optimizer(&path, &mut opt)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("`optim.step` is -5"),
        "{err}"
    );
    fs::remove_dir_all(&dir).unwrap();
}
