//! Fuzz tests of the image-folder loader: a folder holding one valid PNG and one mutated
//! PNG or JPEG (truncations, IHDR / SOF0 dimensions set to 0/1/2^31-1/2^32-1 and other
//! large sizes, bit flips, byte runs, duplicated or swapped sections, trailing garbage)
//! goes through `load_folder`. Every input must load or be refused with an error naming
//! the file, never panic, and never make the loader allocate more than the file could
//! justify. `GAN_FUZZ_CASES` runs a long campaign, `GAN_FUZZ_SEED` moves the seed.

use gan_data::{load_folder, ColorMode, FolderOptions};
use gan_fuzz::{case_count, check_cases, mutations, seed, Case, Field};
use image::{ImageBuffer, Rgb};
use std::io::Cursor;
use std::path::Path;

#[global_allocator]
static A: gan_fuzz::CountingAlloc = gan_fuzz::CountingAlloc;

/// Random cases per target in a plain `cargo test`.
const DEFAULT_CASES: usize = 1000;

/// What an image file of `n` bytes can justify. PNG pixels are DEFLATE data, which
/// expands by at most about 1032:1; a JPEG needs at least one bit per 8x8 block and
/// component (below 1400:1 even with the largest chroma subsampling). So an honest file
/// of `n` bytes decodes to at most 2048 n bytes of pixels (plus 64 KiB for tiny files);
/// the loader may hold a few copies of them (decoded, RGBA/RGB, luma): 8 bytes per
/// decodable byte, plus 4 MiB for the valid image beside it and the decoders' tables.
/// A loader that allocates the buffer a header promises before the data is there breaks
/// this bound as soon as the header lies by more than the file could hold.
fn image_bound(n: usize) -> usize {
    8 * (n * 2048 + 65536) + (4 << 20)
}

fn be(name: &'static str, offset: usize) -> Field {
    Field {
        name,
        offset,
        width: 4,
        big_endian: true,
    }
}

fn picture() -> ImageBuffer<Rgb<u8>, Vec<u8>> {
    ImageBuffer::from_fn(16, 12, |x, y| {
        Rgb([(x * 15) as u8, (y * 20) as u8, ((x + y) * 7) as u8])
    })
}

fn encode(format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture().write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Recompute the CRC of the IHDR chunk (bytes 12..29, CRC at 29..33), so a changed
/// width or height reaches the decoder instead of failing the checksum.
fn fix_ihdr_crc(b: &mut [u8]) {
    if b.len() >= 33 && &b[12..16] == b"IHDR" {
        let mut crc = flate2::Crc::new();
        crc.update(&b[12..29]);
        b[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    }
}

/// A PNG whose IHDR claims `w` x `h` (with a valid CRC) but holds the 16x12 data.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut b = encode(image::ImageFormat::Png);
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    fix_ihdr_crc(&mut b);
    b
}

/// Offset of the SOF0 marker segment of a baseline JPEG.
fn sof0(b: &[u8]) -> usize {
    b.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap()
}

/// A JPEG whose SOF0 claims `w` x `h` but holds the 16x12 data.
fn jpeg_claiming(w: u16, h: u16) -> Vec<u8> {
    let mut b = encode(image::ImageFormat::Jpeg);
    let s = sof0(&b);
    b[s + 5..s + 7].copy_from_slice(&h.to_be_bytes());
    b[s + 7..s + 9].copy_from_slice(&w.to_be_bytes());
    b
}

/// Large sizes beyond the field values `mutations` sets.
const BIG: [(u32, u32); 6] = [
    (65535, 65535),
    (20000, 20000),
    (1 << 20, 1),
    (1, 1 << 20),
    (1 << 16, 1 << 14),
    (5000, 3000),
];

/// Loads a folder of the valid `keep.png` and the fuzzed file, on this thread (a
/// one-thread rayon pool that is this thread), so the allocation meter sees the decoding.
struct Folder {
    dir: tempfile::TempDir,
    pool: rayon::ThreadPool,
}

impl Folder {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.png"), encode(image::ImageFormat::Png)).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
            .unwrap();
        Folder { dir, pool }
    }

    fn load(&self, file: &Path, bytes: &[u8], color: ColorMode) -> Result<(), String> {
        std::fs::write(file, bytes).unwrap();
        let opts = FolderOptions {
            color,
            progress: false,
            ..FolderOptions::new(8)
        };
        match self.pool.install(|| load_folder(self.dir.path(), &opts)) {
            Ok(_) => Ok(()),
            Err(e) => {
                let m = e.to_string();
                let name = file.file_name().unwrap().to_str().unwrap();
                assert!(m.contains(name), "error does not name {name}: {m}");
                Err(m)
            }
        }
    }
}

fn fuzz(target: &str, name: &str, valid: Vec<u8>, fields: &[Field], extra: Vec<Case>) {
    let folder = Folder::new();
    let file = folder.dir.path().join(name);
    let mut cases = mutations(&valid, fields, case_count(DEFAULT_CASES), seed());
    if name.ends_with(".png") {
        for c in cases.iter_mut().filter(|c| c.what.starts_with("field")) {
            fix_ihdr_crc(&mut c.bytes);
        }
    }
    cases.extend(extra);
    let colors = [ColorMode::Auto, ColorMode::Gray, ColorMode::Rgb];
    let mut i = 0;
    let (ok, refused) = check_cases(target, &cases, image_bound, |bytes| {
        i += 1;
        folder.load(&file, bytes, colors[i % 3])
    });
    eprintln!(
        "{target}: {} cases, {ok} loaded, {refused} refused",
        cases.len()
    );
}

#[test]
fn fuzz_folder_png() {
    let valid = encode(image::ImageFormat::Png);
    assert_eq!(&valid[12..16], b"IHDR");
    let fields = [
        be("IHDR width", 16),
        be("IHDR height", 20),
        be("IHDR depth, color, compression, filter", 24),
        be("IHDR chunk length", 8),
        be("IDAT chunk length", 33),
    ];
    let extra = BIG
        .iter()
        .map(|&(w, h)| Case {
            what: format!("IHDR claims {w}x{h}"),
            bytes: png_claiming(w, h),
        })
        .collect();
    fuzz("folder-png", "fuzzed.png", valid, &fields, extra);
}

#[test]
fn fuzz_folder_jpeg() {
    let valid = encode(image::ImageFormat::Jpeg);
    let s = sof0(&valid);
    let fields = [
        be("SOF0 height+width", s + 5),
        be("SOF0 length, precision, height high byte", s + 2),
        be("SOF0 width, component count", s + 7),
    ];
    let extra = BIG
        .iter()
        .filter(|&&(w, h)| w <= 65535 && h <= 65535)
        .map(|&(w, h)| Case {
            what: format!("SOF0 claims {w}x{h}"),
            bytes: jpeg_claiming(w as u16, h as u16),
        })
        .collect();
    fuzz("folder-jpeg", "fuzzed.jpg", valid, &fields, extra);
}

/// Defect found by `fuzz_folder_png`: a 410-byte PNG whose IHDR claimed 5000x3000 made
/// the decoder allocate 45 MB before finding the data missing. The loader now checks the
/// claimed size against what the file can hold first.
#[test]
fn folder_png_claiming_5000x3000_is_refused_before_allocating() {
    let folder = Folder::new();
    let file = folder.dir.path().join("liar.png");
    let bytes = png_claiming(5000, 3000);
    let (r, peak) = gan_fuzz::peak_alloc(|| folder.load(&file, &bytes, ColorMode::Auto));
    let m = r.unwrap_err();
    assert!(
        m.contains("liar.png") && m.contains("claims 5000x3000 pixels"),
        "{m}"
    );
    assert!(peak < image_bound(bytes.len()), "allocated {peak} bytes");
}

/// Defect found by `fuzz_folder_jpeg`: a 689-byte JPEG whose SOF0 claimed 5000x3000
/// made the decoder allocate 90 MB; refused now before decoding.
#[test]
fn folder_jpeg_claiming_5000x3000_is_refused_before_allocating() {
    let folder = Folder::new();
    let file = folder.dir.path().join("liar.jpg");
    let bytes = jpeg_claiming(5000, 3000);
    let (r, peak) = gan_fuzz::peak_alloc(|| folder.load(&file, &bytes, ColorMode::Rgb));
    let m = r.unwrap_err();
    assert!(
        m.contains("liar.jpg") && m.contains("claims 5000x3000 pixels"),
        "{m}"
    );
    assert!(peak < image_bound(bytes.len()), "allocated {peak} bytes");
}

/// An image too large for its file is skipped like any corrupt one with `skip_corrupt`.
#[test]
fn folder_skips_an_image_claiming_more_than_its_file_when_asked() {
    let folder = Folder::new();
    std::fs::write(folder.dir.path().join("liar.png"), png_claiming(4000, 4000)).unwrap();
    let opts = FolderOptions {
        progress: false,
        skip_corrupt: true,
        ..FolderOptions::new(8)
    };
    let (ds, report) = load_folder(folder.dir.path(), &opts).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(report.skipped_corrupt.len(), 1);
}
