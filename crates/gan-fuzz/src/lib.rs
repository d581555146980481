//! Test support for the workspace's fuzz tests (no fuzzing engine: seeded, repeatable
//! mutation of valid inputs, runnable on stable Rust inside `cargo test`).
//!
//! - [`mutations`]: from one valid file, the malformed variants every reader must refuse
//!   cleanly: truncation at every length class, bit flips, bytes set to 0x00/0xFF, header
//!   fields set to 0, 1, 2^31-1, 2^32-1 (and 2^63-1, 2^64-1 for 8-byte fields), a
//!   duplicated or swapped section, trailing garbage.
//! - [`CountingAlloc`]: a global allocator wrapper that records the peak bytes allocated
//!   by the current thread, so a test can assert that no input makes a reader allocate
//!   more than the file could justify.
//! - [`check_cases`]: runs a reader over the cases, catching panics, and fails naming the
//!   case (and writing its bytes under `target/fuzz-failures/`) so it can become a named
//!   regression test.
//! - [`case_count`]: the number of random cases per target: a default for `cargo test`,
//!   or `GAN_FUZZ_CASES` for a long campaign (`GAN_FUZZ_SEED` moves the seed).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use gan_tensor::rng::SplitMix64;

/// A header field of a valid file: where it is and how it is written.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// Name, for the case's description.
    pub name: &'static str,
    /// Byte offset.
    pub offset: usize,
    /// 4 or 8 bytes.
    pub width: usize,
    /// Big-endian (IDX) or little-endian (safetensors).
    pub big_endian: bool,
}

/// One malformed input: what was done, and the bytes.
#[derive(Clone, Debug)]
pub struct Case {
    /// E.g. "truncated to 7 bytes", "field count = 4294967295".
    pub what: String,
    /// The input.
    pub bytes: Vec<u8>,
}

fn put(bytes: &mut [u8], f: &Field, v: u64) {
    let raw = if f.width == 4 {
        let v = v as u32;
        if f.big_endian {
            v.to_be_bytes().to_vec()
        } else {
            v.to_le_bytes().to_vec()
        }
    } else if f.big_endian {
        v.to_be_bytes().to_vec()
    } else {
        v.to_le_bytes().to_vec()
    };
    if f.offset + f.width <= bytes.len() {
        bytes[f.offset..f.offset + f.width].copy_from_slice(&raw);
    }
}

/// The systematic cases of `valid` (every field value of interest, truncation at every
/// length class) followed by `random` seeded random mutations.
pub fn mutations(valid: &[u8], fields: &[Field], random: usize, seed: u64) -> Vec<Case> {
    let n = valid.len();
    let mut out = Vec::new();
    // Truncation at every length class: small lengths, around each field, halves, n-1.
    let mut cuts: Vec<usize> = (0..=16.min(n)).collect();
    for f in fields {
        for d in [0usize, 1, f.width - 1, f.width, f.width + 1] {
            cuts.push((f.offset + d).min(n));
        }
    }
    cuts.extend([n / 4, n / 2, 3 * n / 4, n.saturating_sub(1)]);
    cuts.sort_unstable();
    cuts.dedup();
    for c in cuts.into_iter().filter(|&c| c < n) {
        out.push(Case {
            what: format!("truncated to {c} of {n} bytes"),
            bytes: valid[..c].to_vec(),
        });
    }
    for f in fields {
        let mut values = vec![0u64, 1, 2, (1 << 31) - 1, (1 << 32) - 1];
        if f.width == 8 {
            values.extend([(1 << 63) - 1, u64::MAX]);
        }
        for v in values {
            let mut b = valid.to_vec();
            put(&mut b, f, v);
            out.push(Case {
                what: format!("field {} = {v}", f.name),
                bytes: b,
            });
        }
    }
    let mut rng = SplitMix64::new(seed);
    let below = |rng: &mut SplitMix64, m: usize| (rng.next_u64() % m.max(1) as u64) as usize;
    for i in 0..random {
        let mut b = valid.to_vec();
        let kind = i % 6;
        let what = match kind {
            0 => {
                let flips = 1 + below(&mut rng, 8);
                for _ in 0..flips {
                    let p = below(&mut rng, n);
                    if p < b.len() {
                        b[p] ^= 1 << below(&mut rng, 8);
                    }
                }
                format!("random #{i}: {flips} bit flips")
            }
            1 => {
                let p = below(&mut rng, n);
                let v = if rng.next_u64() & 1 == 0 { 0x00 } else { 0xFF };
                let len = 1 + below(&mut rng, 8);
                for q in p..(p + len).min(b.len()) {
                    b[q] = v;
                }
                format!("random #{i}: {len} bytes at {p} set to {v:#04x}")
            }
            2 => {
                let c = below(&mut rng, n);
                b.truncate(c);
                format!("random #{i}: truncated to {c} bytes")
            }
            3 => {
                // A duplicated section.
                let a = below(&mut rng, n);
                let len = 1 + below(&mut rng, (n - a).min(64));
                let at = below(&mut rng, n);
                let piece = b[a..(a + len).min(n)].to_vec();
                b.splice(at..at, piece);
                format!("random #{i}: {len} bytes from {a} duplicated at {at}")
            }
            4 => {
                // Two sections swapped (reordered).
                let len = 1 + below(&mut rng, (n / 4).max(1));
                let a = below(&mut rng, n.saturating_sub(len).max(1));
                let c = below(&mut rng, n.saturating_sub(len).max(1));
                if a + len <= n && c + len <= n && (a + len <= c || c + len <= a) {
                    for k in 0..len {
                        b.swap(a + k, c + k);
                    }
                }
                format!("random #{i}: {len} bytes at {a} and {c} swapped")
            }
            _ => {
                let len = 1 + below(&mut rng, 64);
                b.extend((0..len).map(|_| rng.next_u64() as u8));
                format!("random #{i}: {len} garbage bytes appended")
            }
        };
        out.push(Case { what, bytes: b });
    }
    out
}

/// Random cases per target: `default` in `cargo test`, `GAN_FUZZ_CASES` for a long
/// campaign.
pub fn case_count(default: usize) -> usize {
    std::env::var("GAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The base seed: `GAN_FUZZ_SEED` or 0.
pub fn seed() -> u64 {
    std::env::var("GAN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, metering the current thread's live and peak bytes. Install it in
/// a test binary with `#[global_allocator] static A: gan_fuzz::CountingAlloc =
/// gan_fuzz::CountingAlloc;`.
pub struct CountingAlloc;

// SAFETY: every call is forwarded to `System` unchanged; only thread-local counters with
// const initialisers (no allocation) are updated beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrink(layout.size());
            grow(new_size);
        }
        p
    }
}

fn grow(n: usize) {
    let _ = CURRENT.try_with(|c| {
        let v = c.get() + n;
        c.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

fn shrink(n: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(n)));
}

/// Runs `f` and returns its value with the peak bytes this thread had allocated on top of
/// what was live when it started (needs [`CountingAlloc`] installed; 0 otherwise).
pub fn peak_alloc<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.with(|c| c.get());
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(|p| p.get());
    (out, peak.saturating_sub(base))
}

/// Runs `reader` on every case; a panic, or an allocation peak above
/// `max_alloc(input length)` bytes, fails the test naming the target and the case, after
/// writing the input to `target/fuzz-failures/<target>-<index>.bin`. `reader` returns
/// `Err(message)` for a refusal (fine), `Ok(())` when it accepted the input (also fine: a
/// mutation can leave a file valid). Returns (accepted, refused).
pub fn check_cases(
    target: &str,
    cases: &[Case],
    max_alloc: impl Fn(usize) -> usize,
    mut reader: impl FnMut(&[u8]) -> Result<(), String>,
) -> (usize, usize) {
    let (mut ok, mut refused) = (0, 0);
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failure = None;
    for (i, case) in cases.iter().enumerate() {
        let (res, peak) = peak_alloc(|| catch_unwind(AssertUnwindSafe(|| reader(&case.bytes))));
        let limit = max_alloc(case.bytes.len());
        let problem = match res {
            Err(p) => Some(format!(
                "panicked: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(_) if peak > limit => Some(format!(
                "allocated {peak} bytes for a {}-byte input (limit {limit})",
                case.bytes.len()
            )),
            Ok(Ok(())) => {
                ok += 1;
                None
            }
            Ok(Err(_)) => {
                refused += 1;
                None
            }
        };
        if let Some(p) = problem {
            let dir = failure_dir();
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{target}-{i}.bin"));
            let _ = std::fs::write(&path, &case.bytes);
            failure = Some(format!(
                "{target}, case {i} ({}): {p}; input saved to {}",
                case.what,
                path.display()
            ));
            break;
        }
    }
    std::panic::set_hook(quiet);
    if let Some(f) = failure {
        panic!("{f}");
    }
    (ok, refused)
}

fn failure_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("fuzz-failures")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_cover_truncation_fields_and_random_cases() {
        let valid: Vec<u8> = (0..100u8).collect();
        let f = Field {
            name: "count",
            offset: 4,
            width: 4,
            big_endian: true,
        };
        let cases = mutations(&valid, &[f], 60, 1);
        assert!(cases.iter().any(|c| c.bytes.is_empty()));
        assert!(cases.iter().any(|c| c.bytes.len() == 99));
        let max = cases
            .iter()
            .find(|c| c.what == "field count = 4294967295")
            .unwrap();
        assert_eq!(&max.bytes[4..8], &[0xFF; 4]);
        assert_eq!(
            cases
                .iter()
                .filter(|c| c.what.starts_with("random"))
                .count(),
            60
        );
        // Same seed, same cases; another seed, others.
        let again = mutations(&valid, &[f], 60, 1);
        assert!(cases.iter().zip(&again).all(|(a, b)| a.bytes == b.bytes));
        let other = mutations(&valid, &[f], 60, 2);
        assert!(cases.iter().zip(&other).any(|(a, b)| a.bytes != b.bytes));
    }

    #[test]
    fn check_cases_names_a_panicking_case() {
        let cases = vec![
            Case {
                what: "fine".into(),
                bytes: vec![1],
            },
            Case {
                what: "boom".into(),
                bytes: vec![],
            },
        ];
        let r = catch_unwind(|| {
            check_cases(
                "unit",
                &cases,
                |_| usize::MAX,
                |b| {
                    assert!(!b.is_empty(), "empty input");
                    Ok(())
                },
            )
        });
        let msg = r.unwrap_err().downcast::<String>().unwrap();
        assert!(
            msg.contains("case 1 (boom): panicked: empty input"),
            "{msg}"
        );
    }
}
