//! Checkpoints in safetensors with PyTorch's names and layouts.
//!
//! - [`save`] / [`load`]: a model's `state_dict` (parameters F32, BatchNorm running
//!   statistics F32, `num_batches_tracked` I64 scalar), keyed by the store's names, so
//!   `model.load_state_dict(safetensors.torch.load_file(path))` works for the equivalent
//!   `nn.Module`. Metadata `{"format": "pt"}` as `safetensors.torch.save_file` writes.
//! - [`save_optimizer`] / [`load_optimizer`]: the optimizer's state in a SECOND file
//!   (so the model file stays loadable with `strict=True`): `optim.<buffer>.<name>` per
//!   parameter (`optim.m.gen.0.weight`, `optim.v....`; SGD: `optim.velocity....`) shaped
//!   like the parameter, and `optim.step` (I64 scalar). [`optimizer_path`] derives the
//!   conventional name (`g.safetensors` -> `g.optim.safetensors`). Its metadata
//!   `optimizer` records the kind and hyperparameters (informational only).
//!
//! Loading checks everything before changing anything: a missing tensor, an extra
//! tensor, or a wrong shape or dtype fails naming the tensor and both shapes; an
//! unreadable or truncated file fails naming the file. Writes are atomic: the bytes go
//! to a temporary file in the same directory, which is fsynced and then renamed over
//! the target (and the directory fsynced), so a crash mid-write leaves the previous
//! checkpoint intact. Values round-trip bit for bit.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use gan_tensor::Tensor;
use safetensors::{Dtype, SafeTensors, View};

use crate::error::{Error, Result};
use crate::init::Role;
use crate::optim::Optimizer;
use crate::store::ParamStore;

/// One tensor to write.
struct Owned {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Owned {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32s_from(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn i64_from(bytes: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[..8]);
    i64::from_le_bytes(b)
}

fn f32_tensor(shape: &[usize], values: &[f32]) -> Owned {
    Owned {
        dtype: Dtype::F32,
        shape: shape.to_vec(),
        data: f32_bytes(values),
    }
}

fn i64_scalar(v: i64) -> Owned {
    Owned {
        dtype: Dtype::I64,
        shape: Vec::new(),
        data: v.to_le_bytes().to_vec(),
    }
}

/// The model's tensors as PyTorch names them, read back in one transfer for the flat
/// buffer and one per buffer.
fn model_tensors(store: &ParamStore) -> Result<Vec<(String, Owned)>> {
    let flat = store.values().to_vec()?;
    let mut out = Vec::new();
    for e in store.entries() {
        let p = &e.param;
        let t = match (e.offset, p.role()) {
            (Some(off), _) => f32_tensor(p.dims(), &flat[off..off + p.numel()]),
            (None, Role::Counter) => i64_scalar(p.counter()),
            (None, _) => f32_tensor(p.dims(), &p.tensor()?.to_vec()?),
        };
        out.push((e.name.clone(), t));
    }
    Ok(out)
}

fn serialize(
    path: &Path,
    tensors: Vec<(String, Owned)>,
    meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let refs: Vec<(String, &Owned)> = tensors.iter().map(|(n, t)| (n.clone(), t)).collect();
    safetensors::serialize(refs, Some(meta)).map_err(|e| Error::Invalid {
        what: "checkpoint",
        msg: format!("serializing {}: {e}", path.display()),
    })
}

/// Saves the model's parameters and buffers to `path` (safetensors, PyTorch names).
pub fn save(path: impl AsRef<Path>, store: &ParamStore) -> Result<()> {
    let path = path.as_ref();
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = serialize(path, model_tensors(store)?, meta)?;
    write_atomic(path, &bytes)
}

/// `dir/name.safetensors` -> `dir/name.optim.safetensors` (where [`save_optimizer`]'s
/// file conventionally goes).
pub fn optimizer_path(model_path: impl AsRef<Path>) -> PathBuf {
    let p = model_path.as_ref();
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    p.with_file_name(format!("{stem}.optim.safetensors"))
}

/// Saves the optimizer's state (per-parameter buffers and the step) to `path`.
pub fn save_optimizer(path: impl AsRef<Path>, opt: &dyn Optimizer) -> Result<()> {
    let path = path.as_ref();
    let store = opt.store();
    let mut tensors = vec![("optim.step".to_string(), i64_scalar(opt.steps() as i64))];
    for (kind, buf) in opt.state() {
        let flat = buf.to_vec()?;
        for e in store.entries() {
            if let Some(off) = e.offset {
                let p = &e.param;
                tensors.push((
                    format!("optim.{kind}.{}", e.name),
                    f32_tensor(p.dims(), &flat[off..off + p.numel()]),
                ));
            }
        }
    }
    // One metadata key: safetensors writes a HashMap's keys in iteration order, and a
    // single key keeps the file byte-for-byte reproducible.
    let meta = HashMap::from([(
        "optimizer".to_string(),
        format!("{}: {}", opt.kind(), opt.config_string()),
    )]);
    let bytes = serialize(path, tensors, meta)?;
    write_atomic(path, &bytes)
}

/// What the model expects of one tensor.
struct Expect {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
}

fn describe(dtype: Dtype, shape: &[usize]) -> String {
    format!("{dtype:?} {shape:?}")
}

/// Reads and parses `path`, checks it holds exactly `expected`, and returns the raw
/// bytes of each tensor by name.
fn read_checked(path: &Path, expected: &[Expect]) -> Result<HashMap<String, Vec<u8>>> {
    let bytes = fs::read(path).map_err(|source| Error::Io {
        op: "reading checkpoint",
        path: path.to_path_buf(),
        source,
    })?;
    // Entry by entry first, so that a malformed header names the tensor and the field
    // (the safetensors parser below names neither for most of its refusals).
    let (header, layout) = check_header(path, &bytes)?;
    let mut problems: Vec<Error> = Vec::new();
    let wanted: HashSet<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    for e in expected {
        match header.iter().find(|h| h.name == e.name) {
            None => problems.push(Error::MissingTensor {
                path: path.to_path_buf(),
                name: e.name.clone(),
                expected: e.shape.clone(),
                more: String::new(),
            }),
            Some(h) => {
                if h.dtype != e.dtype || h.shape != e.shape {
                    problems.push(Error::TensorMismatch {
                        path: path.to_path_buf(),
                        name: e.name.clone(),
                        expected: describe(e.dtype, &e.shape),
                        found: describe(h.dtype, &h.shape),
                        more: String::new(),
                    });
                }
            }
        }
    }
    let mut extra: Vec<(String, Vec<usize>)> = header
        .iter()
        .filter(|h| !wanted.contains(h.name.as_str()))
        .map(|h| (h.name.clone(), h.shape.clone()))
        .collect();
    extra.sort();
    for (name, found) in extra {
        problems.push(Error::UnexpectedTensor {
            path: path.to_path_buf(),
            name,
            found,
            more: String::new(),
        });
    }
    let n = problems.len();
    let Some(mut first) = problems.into_iter().next() else {
        if let Some(e) = layout {
            return Err(e);
        }
        // The header checked out: the parser's own validation, then the data.
        let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Corrupt {
            path: path.to_path_buf(),
            msg: format!("{e} (file is {} bytes)", bytes.len()),
        })?;
        let mut out = HashMap::new();
        for e in expected {
            let view = st.tensor(&e.name).map_err(|err| Error::Corrupt {
                path: path.to_path_buf(),
                msg: format!("tensor `{}`: {err}", e.name),
            })?;
            out.insert(e.name.clone(), view.data().to_vec());
        }
        return Ok(out);
    };
    if n > 1 {
        let note = format!("; and {} more problem(s)", n - 1);
        match &mut first {
            Error::MissingTensor { more, .. }
            | Error::UnexpectedTensor { more, .. }
            | Error::TensorMismatch { more, .. } => *more = note,
            _ => {}
        }
    }
    Err(first)
}

/// One tensor of a checked header.
struct HeaderEntry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
}

/// A JSON object's entries in file order, duplicates kept (so they can be refused).
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of tensors")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The largest header accepted (safetensors' own limit).
const MAX_HEADER: u64 = 100_000_000;

/// Checks a safetensors file's header entry by entry and returns its tensors.
///
/// Refuses, naming the file and the tensor and field: a file shorter than the 8-byte
/// length field; a header length past the end of the file (or above 100 MB); a header
/// that is not UTF-8 JSON; a duplicated key; an unknown dtype; a shape that is not a list
/// of non-negative integers or whose byte size overflows u64; data_offsets that are not
/// two integers, reversed, past the end of the data, or not spanning the shape's bytes;
/// tensors whose data overlap or leave a gap.
///
/// Allocation: nothing is sized by a number read from the file. The header (at most the
/// file's length, checked before parsing) is parsed into JSON values, a small multiple of
/// its length; a promised tensor size is only compared, never allocated.
/// The layout problem (overlap, gap, data not covered) comes back separately, so that a
/// missing or extra tensor, which also leaves a gap, is reported by name first.
fn check_header(path: &Path, bytes: &[u8]) -> Result<(Vec<HeaderEntry>, Option<Error>)> {
    let corrupt = |msg: String| Error::Corrupt {
        path: path.to_path_buf(),
        msg: format!("{msg} (file is {} bytes)", bytes.len()),
    };
    let Some(len_field) = bytes.get(..8) else {
        return Err(corrupt(
            "shorter than the 8-byte header length field".into(),
        ));
    };
    let n = u64::from_le_bytes(len_field.try_into().expect("8 bytes"));
    let rest = (bytes.len() - 8) as u64;
    if n > rest || n > MAX_HEADER {
        return Err(corrupt(format!(
            "header length field is {n} bytes but {rest} bytes follow it (at most {MAX_HEADER})"
        )));
    }
    let header = &bytes[8..8 + n as usize];
    let data_len = rest - n;
    let text =
        std::str::from_utf8(header).map_err(|e| corrupt(format!("header is not UTF-8: {e}")))?;
    let Entries(entries) = serde_json::from_str(text)
        .map_err(|e| corrupt(format!("header is not a JSON object of tensors: {e}")))?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut spans = Vec::new();
    for (name, v) in entries {
        if !seen.insert(name.clone()) {
            return Err(corrupt(format!(
                "tensor `{name}` appears twice in the header"
            )));
        }
        if name == "__metadata__" {
            continue;
        }
        let bad = |field: &str, msg: String| corrupt(format!("tensor `{name}`: {field} {msg}"));
        let obj = v
            .as_object()
            .ok_or_else(|| bad("entry", format!("is {v}, not an object")))?;
        let get = |field: &str| {
            obj.get(field)
                .ok_or_else(|| bad(field, "is missing".into()))
        };
        let dv = get("dtype")?;
        let dtype: Dtype = serde_json::from_value(dv.clone())
            .map_err(|_| bad("dtype", format!("{dv} is not a safetensors dtype")))?;
        let sv = get("shape")?;
        let shape: Vec<u64> = sv
            .as_array()
            .and_then(|a| a.iter().map(|x| x.as_u64()).collect::<Option<Vec<_>>>())
            .ok_or_else(|| {
                bad(
                    "shape",
                    format!("{sv} is not a list of non-negative integers"),
                )
            })?;
        let ov = get("data_offsets")?;
        let (s, e) = match ov.as_array().map(|a| a.as_slice()) {
            Some([s, e]) => match (s.as_u64(), e.as_u64()) {
                (Some(s), Some(e)) => (s, e),
                _ => return Err(bad("data_offsets", format!("{ov} are not two integers"))),
            },
            _ => return Err(bad("data_offsets", format!("{ov} are not two integers"))),
        };
        let size = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.bitsize() as u64))
            .map(|bits| bits.div_ceil(8))
            .ok_or_else(|| {
                bad(
                    "shape",
                    format!("{shape:?} of {dtype:?} overflows a 64-bit byte count"),
                )
            })?;
        if e < s || e > data_len {
            return Err(bad(
                "data_offsets",
                format!("[{s}, {e}] are not a range within the {data_len} data bytes"),
            ));
        }
        if e - s != size {
            return Err(bad(
                "data_offsets",
                format!(
                    "[{s}, {e}] span {} bytes but shape {shape:?} of {dtype:?} needs {size}",
                    e - s
                ),
            ));
        }
        let shape = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<Vec<usize>, _>>()
            .map_err(|_| bad("shape", format!("{shape:?} does not fit this platform")))?;
        spans.push((s, e, name.clone()));
        out.push(HeaderEntry { name, dtype, shape });
    }
    spans.sort();
    let mut end = 0u64;
    let mut prev: Option<&str> = None;
    for (s, e, name) in &spans {
        if *s != end {
            let after = prev.map_or("the start of the data".to_string(), |p| format!("`{p}`"));
            let how = if *s < end {
                "overlap"
            } else {
                "leave a gap after"
            };
            let msg = format!(
                "tensor `{name}`: data_offsets [{s}, {e}] {how} {after} (which ends at {end})"
            );
            return Ok((out, Some(corrupt(msg))));
        }
        end = *e;
        prev = Some(name);
    }
    if end != data_len {
        let msg = format!("the tensors span {end} data bytes but {data_len} follow the header");
        return Ok((out, Some(corrupt(msg))));
    }
    Ok((out, None))
}

fn upload_into(dst: &Tensor, host: &[f32]) -> Result<()> {
    let t = Tensor::from_slice(dst.context(), host, dst.dims())?;
    dst.assign(&t)?;
    Ok(())
}

/// Loads `path` into the model's store (every tensor must be present with the model's
/// shape, and no other). Nothing changes when it fails.
pub fn load(path: impl AsRef<Path>, store: &ParamStore) -> Result<()> {
    let path = path.as_ref();
    let expected: Vec<Expect> = store
        .entries()
        .iter()
        .map(|e| Expect {
            name: e.name.clone(),
            dtype: if e.param.role() == Role::Counter {
                Dtype::I64
            } else {
                Dtype::F32
            },
            shape: e.param.dims().to_vec(),
        })
        .collect();
    let data = read_checked(path, &expected)?;
    let mut flat = vec![0f32; store.values().numel()];
    for e in store.entries() {
        let bytes = &data[&e.name];
        let p = &e.param;
        match (e.offset, p.role()) {
            (Some(off), _) => flat[off..off + p.numel()].copy_from_slice(&f32s_from(bytes)),
            (None, Role::Counter) => p.set_counter(i64_from(bytes)),
            (None, _) => upload_into(&p.tensor()?, &f32s_from(bytes))?,
        }
    }
    upload_into(store.values(), &flat)
}

/// Loads an optimizer state saved by [`save_optimizer`] for the same model.
pub fn load_optimizer(path: impl AsRef<Path>, opt: &mut dyn Optimizer) -> Result<()> {
    let path = path.as_ref();
    let store = opt.store().clone();
    let kinds: Vec<&'static str> = opt.state().iter().map(|(k, _)| *k).collect();
    let mut expected = vec![Expect {
        name: "optim.step".into(),
        dtype: Dtype::I64,
        shape: Vec::new(),
    }];
    for kind in &kinds {
        for e in store.entries().iter().filter(|e| e.offset.is_some()) {
            expected.push(Expect {
                name: format!("optim.{kind}.{}", e.name),
                dtype: Dtype::F32,
                shape: e.param.dims().to_vec(),
            });
        }
    }
    let data = read_checked(path, &expected)?;
    // Checked before anything changes (was: a negative step silently became 0).
    let step = i64_from(&data["optim.step"]);
    if step < 0 {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            msg: format!("tensor `optim.step` is {step}, a negative step count"),
        });
    }
    for (kind, buf) in opt.state() {
        let mut flat = vec![0f32; buf.numel()];
        for e in store.entries() {
            if let Some(off) = e.offset {
                let bytes = &data[&format!("optim.{kind}.{}", e.name)];
                flat[off..off + e.param.numel()].copy_from_slice(&f32s_from(bytes));
            }
        }
        upload_into(buf, &flat)?;
    }
    opt.set_steps(step as u64);
    Ok(())
}

thread_local! {
    static FAIL_AFTER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Test hook: the next checkpoint write on this thread fails with an I/O error after
/// writing `bytes` bytes of the temporary file, as a crash mid-write would.
#[doc(hidden)]
pub fn inject_write_failure(bytes: usize) {
    FAIL_AFTER.with(|f| f.set(Some(bytes)));
}

fn write_all_maybe_failing(f: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    match FAIL_AFTER.with(|c| c.take()) {
        Some(n) if n < bytes.len() => {
            f.write_all(&bytes[..n])?;
            Err(std::io::Error::other("injected failure mid-write"))
        }
        _ => f.write_all(bytes),
    }
}

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync,
/// rename over `path`, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| Error::Invalid {
        what: "checkpoint path",
        msg: format!("{} names no file", path.display()),
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut f = File::create(&tmp)?;
        write_all_maybe_failing(&mut f, bytes)?;
        f.sync_all()
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io {
            op: "writing checkpoint (temporary file)",
            path: tmp,
            source,
        });
    }
    if let Err(source) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::Io {
            op: "renaming temporary checkpoint onto",
            path: path.to_path_buf(),
            source,
        });
    }
    // Make the rename itself durable (not possible on every platform; best effort).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
