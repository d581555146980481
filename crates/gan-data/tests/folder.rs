//! Image folders: PNG (gray, RGB, RGBA, 16-bit, palette) and JPEG files written by the
//! test, resizing and cropping, class subfolders, and bad inputs.

mod common;

use common::write;
use gan_data::{load_folder, ColorMode, DataError, FolderOptions};
use image::{ImageBuffer, Luma, Rgb, Rgba};
use std::path::Path;

fn opts(size: u32, color: ColorMode) -> FolderOptions {
    FolderOptions {
        color,
        progress: false,
        ..FolderOptions::new(size)
    }
}

fn unit(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

fn save_gray(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ImageBuffer::from_fn(w, h, |x, y| Luma([f(x, y)]))
        .save(path)
        .unwrap();
}

fn save_rgb(path: &Path, w: u32, h: u32, px: [u8; 3]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ImageBuffer::from_fn(w, h, |_, _| Rgb(px))
        .save(path)
        .unwrap();
}

/// A 2x1 palette PNG: pixel 0 is palette entry 1 (0, 255, 0), pixel 1 entry 0 (255, 0, 0).
fn save_palette(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), 2, 1);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(vec![255, 0, 0, 0, 255, 0]);
    enc.write_header()
        .unwrap()
        .write_image_data(&[1, 0])
        .unwrap();
}

#[test]
fn gray_pngs_load_as_one_channel_when_inferred() {
    let dir = tempfile::tempdir().unwrap();
    save_gray(&dir.path().join("a.png"), 2, 2, |x, y| {
        (x * 100 + y * 50) as u8
    });
    save_gray(&dir.path().join("sub/b.PNG"), 2, 2, |_, _| 255);
    let (ds, report) = load_folder(dir.path(), &opts(2, ColorMode::Auto)).unwrap();
    assert_eq!(ds.nchw(), [2, 1, 2, 2]);
    assert_eq!(ds.image(0), &[unit(0), unit(100), unit(50), unit(150)]);
    assert_eq!(ds.image(1), &[1.0; 4]);
    assert!(ds.labels().is_none());
    assert_eq!(report.loaded, 2);
}

#[test]
fn one_color_image_makes_the_set_rgb() {
    let dir = tempfile::tempdir().unwrap();
    save_gray(&dir.path().join("a.png"), 3, 3, |_, _| 10);
    save_rgb(&dir.path().join("b.png"), 3, 3, [200, 0, 50]);
    let (ds, _) = load_folder(dir.path(), &opts(3, ColorMode::Auto)).unwrap();
    assert_eq!(ds.nchw(), [2, 3, 3, 3]);
    assert!(ds.image(0).iter().all(|&v| v == unit(10)));
    assert_eq!(&ds.image(1)[..1], &[unit(200)]);
    assert_eq!(ds.image(1)[9], unit(0));
    assert_eq!(ds.image(1)[18], unit(50));
}

#[test]
fn rgb_forced_to_gray_and_gray_forced_to_rgb() {
    let dir = tempfile::tempdir().unwrap();
    save_rgb(&dir.path().join("white.png"), 2, 2, [255, 255, 255]);
    save_gray(&dir.path().join("gray.png"), 2, 2, |_, _| 60);
    let (ds, _) = load_folder(dir.path(), &opts(2, ColorMode::Gray)).unwrap();
    assert_eq!(ds.nchw(), [2, 1, 2, 2]);
    assert!(ds.image(1).iter().all(|&v| v == 1.0));
    let (ds, _) = load_folder(dir.path(), &opts(2, ColorMode::Rgb)).unwrap();
    assert_eq!(ds.nchw(), [2, 3, 2, 2]);
    assert!(ds.image(0).iter().all(|&v| v == unit(60)));
}

#[test]
fn rgba_16bit_and_palette_images_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    // RGBA: alpha 0 composites to black, alpha 255 keeps the color.
    ImageBuffer::from_fn(2, 1, |x, _| {
        Rgba([200u8, 100, 50, if x == 0 { 0 } else { 255 }])
    })
    .save(dir.path().join("a_rgba.png"))
    .unwrap();
    // 16-bit gray: 65535 is white, 0 black.
    ImageBuffer::from_fn(2, 1, |x, _| Luma([if x == 0 { 0u16 } else { 65535 }]))
        .save(dir.path().join("b_gray16.png"))
        .unwrap();
    save_palette(&dir.path().join("c_palette.png"));
    let mut o = opts(1, ColorMode::Rgb);
    o.width = 2;
    let (ds, _) = load_folder(dir.path(), &o).unwrap();
    assert_eq!(ds.nchw(), [3, 3, 1, 2]);
    // Planar: R plane (2 px), G plane, B plane.
    let u = unit;
    assert_eq!(ds.image(0), &[u(0), u(200), u(0), u(100), u(0), u(50)]);
    assert_eq!(ds.image(1), &[u(0), u(255), u(0), u(255), u(0), u(255)]);
    assert_eq!(ds.image(2), &[u(0), u(255), u(255), u(0), u(0), u(0)]);
}

#[test]
fn jpeg_files_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    save_rgb(&dir.path().join("x.jpg"), 16, 16, [30, 120, 220]);
    save_gray(&dir.path().join("y.JPEG"), 16, 16, |_, _| 90);
    let (ds, _) = load_folder(dir.path(), &opts(8, ColorMode::Auto)).unwrap();
    assert_eq!(ds.nchw(), [2, 3, 8, 8]);
    let near = |v: f32, want: u8| (v - unit(want)).abs() < 0.05;
    assert!(ds.image(0)[..64].iter().all(|&v| near(v, 30)));
    assert!(ds.image(0)[128..].iter().all(|&v| near(v, 220)));
    assert!(ds.image(1).iter().all(|&v| near(v, 90)));
}

#[test]
fn wide_images_are_center_cropped_then_resized() {
    let dir = tempfile::tempdir().unwrap();
    // 6x2: columns 2 and 3 are the center square; crop needs no resize.
    save_gray(&dir.path().join("wide.png"), 6, 2, |x, y| {
        (x * 10 + y) as u8
    });
    let (ds, _) = load_folder(dir.path(), &opts(2, ColorMode::Gray)).unwrap();
    assert_eq!(ds.image(0), &[unit(20), unit(30), unit(21), unit(31)]);
    // A real resize (8x8 to 3x3) of a flat image stays flat.
    save_gray(&dir.path().join("wide.png"), 8, 8, |_, _| 77);
    let (ds, _) = load_folder(dir.path(), &opts(3, ColorMode::Gray)).unwrap();
    assert_eq!(ds.nchw(), [1, 1, 3, 3]);
    assert!(ds.image(0).iter().all(|&v| (v - unit(77)).abs() < 0.02));
}

#[test]
fn subfolder_names_become_sorted_class_labels() {
    let dir = tempfile::tempdir().unwrap();
    save_gray(&dir.path().join("dog/1.png"), 2, 2, |_, _| 0);
    save_gray(&dir.path().join("cat/1.png"), 2, 2, |_, _| 0);
    save_gray(&dir.path().join("dog/deep/2.png"), 2, 2, |_, _| 0);
    let mut o = opts(2, ColorMode::Auto);
    o.labels_from_subfolders = true;
    let (ds, _) = load_folder(dir.path(), &o).unwrap();
    assert_eq!(ds.class_names(), &["cat", "dog"]);
    assert_eq!(ds.num_classes(), 2);
    // Sorted paths: cat/1, dog/1, dog/deep/2.
    assert_eq!(ds.labels().unwrap(), &[0, 1, 1]);
    // An image at the root has no class.
    save_gray(&dir.path().join("root.png"), 2, 2, |_, _| 0);
    let msg = load_folder(dir.path(), &o).unwrap_err().to_string();
    assert!(
        msg.contains("root.png") && msg.contains("subfolder"),
        "{msg}"
    );
}

#[test]
fn non_image_files_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    save_gray(&dir.path().join("a.png"), 2, 2, |_, _| 0);
    write(dir.path(), "notes.txt", b"hello");
    write(dir.path(), "sub/.DS_Store", b"x");
    let (ds, report) = load_folder(dir.path(), &opts(2, ColorMode::Auto)).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(report.skipped_non_image, 2);
}

#[test]
fn folder_without_images_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_folder(dir.path(), &opts(2, ColorMode::Auto)).unwrap_err();
    assert!(
        matches!(err, DataError::NoImages { skipped: 0, .. }),
        "{err}"
    );
    write(dir.path(), "readme.md", b"#");
    let err = load_folder(dir.path(), &opts(2, ColorMode::Auto)).unwrap_err();
    assert!(
        matches!(err, DataError::NoImages { skipped: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("PNG or JPEG"));
}

#[test]
fn corrupt_image_is_named_or_skipped_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    save_gray(&dir.path().join("good.png"), 2, 2, |_, _| 0);
    write(dir.path(), "broken.png", b"\x89PNG\r\n\x1a\nnot really");
    let err = load_folder(dir.path(), &opts(2, ColorMode::Auto)).unwrap_err();
    assert!(matches!(err, DataError::Image { .. }), "{err}");
    assert!(err.to_string().contains("broken.png"), "{err}");
    let mut o = opts(2, ColorMode::Auto);
    o.skip_corrupt = true;
    let (ds, report) = load_folder(dir.path(), &o).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(report.skipped_corrupt, vec![dir.path().join("broken.png")]);
    // Only corrupt images left: no images.
    std::fs::remove_file(dir.path().join("good.png")).unwrap();
    assert!(matches!(
        load_folder(dir.path(), &o),
        Err(DataError::NoImages { .. })
    ));
}

#[test]
fn requested_size_zero_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    save_gray(&dir.path().join("a.png"), 2, 2, |_, _| 0);
    let err = load_folder(dir.path(), &opts(0, ColorMode::Auto)).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("0x0"), "{err}");
    let mut o = opts(4, ColorMode::Auto);
    o.height = 0;
    assert!(load_folder(dir.path(), &o).is_err());
}

#[test]
fn missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_folder(&dir.path().join("nowhere"), &opts(2, ColorMode::Auto)).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert!(err.to_string().contains("nowhere"));
}

#[test]
fn many_files_decode_in_parallel_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..200u32 {
        save_gray(&dir.path().join(format!("{i:03}.png")), 5, 5, |_, _| {
            i as u8
        });
    }
    let (ds, _) = load_folder(dir.path(), &opts(4, ColorMode::Auto)).unwrap();
    assert_eq!(ds.len(), 200);
    for i in 0..200 {
        assert!(ds
            .image(i)
            .iter()
            .all(|&v| (v - unit(i as u8)).abs() < 0.01));
    }
}
