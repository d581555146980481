//! Image output: PNG files, sample grids decoded back to their pixels, IDX round trips.

mod common;

use gan_data::idx::load_dir;
use gan_data::output::{to_image8, write_idx_dataset};
use gan_data::{
    write_grid, write_png, write_pngs, DataError, Dataset, GridOptions, ImageShape, Split,
};

/// Item k of shape (c, h, w): value at (ch, y, x) is u8 (k * 40 + ch * 20 + y * 4 + x).
fn pattern(n: usize, shape: ImageShape) -> Vec<u8> {
    let mut out = Vec::new();
    for k in 0..n {
        for ch in 0..shape.channels {
            for y in 0..shape.height {
                for x in 0..shape.width {
                    out.push((k * 40 + ch * 20 + y * 4 + x) as u8);
                }
            }
        }
    }
    out
}

fn to_unit(px: &[u8]) -> Vec<f32> {
    px.iter().map(|&v| v as f32 / 127.5 - 1.0).collect()
}

#[test]
fn gray_grid_png_decodes_to_the_expected_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ImageShape::new(1, 3, 2);
    let (n, cols, pad) = (5, 2, 1);
    let px = pattern(n, shape);
    let opts = GridOptions {
        columns: cols,
        padding: pad,
        pad_value: -1.0,
    };
    let path = dir.path().join("grid.png");
    write_grid(&path, &to_unit(&px), shape, opts).unwrap();
    let img = image::open(&path).unwrap();
    assert_eq!(img.color(), image::ColorType::L8);
    let img = img.to_luma8();
    // 2 columns of width 2, 3 rows of height 3, 1 pixel of padding around each.
    assert_eq!(img.dimensions(), (2 * 3 + 1, 3 * 4 + 1));
    for (x, y, p) in img.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        let (cx, cy) = (x % 3, y % 4);
        let k = (y / 4) * cols + x / 3;
        let want = if cx == 0 || cy == 0 || k >= n {
            0 // padding and the empty sixth cell are black
        } else {
            px[k * 6 + (cy - 1) * 2 + (cx - 1)]
        };
        assert_eq!(p.0[0], want, "pixel ({x}, {y})");
    }
}

#[test]
fn rgb_grid_png_decodes_to_the_expected_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ImageShape::new(3, 2, 2);
    let px = pattern(3, shape);
    let path = dir.path().join("rgb.png");
    let opts = GridOptions {
        columns: 3,
        padding: 2,
        pad_value: 1.0,
    };
    write_grid(&path, &to_unit(&px), shape, opts).unwrap();
    let img = image::open(&path).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (3 * 4 + 2, 6));
    assert_eq!(img.get_pixel(0, 0).0, [255; 3]);
    for k in 0..3 {
        for y in 0..2 {
            for x in 0..2 {
                let got = img.get_pixel((2 + k * 4 + x) as u32, (2 + y) as u32).0;
                let want: [u8; 3] = std::array::from_fn(|c| px[k * 12 + c * 4 + y * 2 + x]);
                assert_eq!(got, want, "image {k} at ({x}, {y})");
            }
        }
    }
}

#[test]
fn one_png_per_image_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ImageShape::new(1, 2, 3);
    let px = pattern(4, shape);
    let paths = write_pngs(&dir.path().join("out"), "sample_", &to_unit(&px), shape).unwrap();
    assert_eq!(paths.len(), 4);
    assert!(paths[3].ends_with("sample_00003.png"));
    let back = image::open(&paths[2]).unwrap().to_luma8().into_raw();
    assert_eq!(back, &px[12..18]);
    // Values beyond [-1, 1] are clamped.
    let p = dir.path().join("clamp.png");
    write_png(&p, &[-5.0, 5.0], ImageShape::new(1, 1, 2)).unwrap();
    assert_eq!(image::open(&p).unwrap().to_luma8().into_raw(), [0, 255]);
}

#[test]
fn dataset_written_as_idx_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ImageShape::new(1, 4, 3);
    let px = pattern(6, shape);
    let ds = Dataset::from_u8(&px, shape, Some(vec![0, 1, 2, 3, 4, 5]), 6).unwrap();
    write_idx_dataset(
        &ds,
        &dir.path().join("train-images-idx3-ubyte.gz"),
        Some(&dir.path().join("train-labels-idx1-ubyte.gz")),
    )
    .unwrap();
    write_idx_dataset(&ds, &dir.path().join("t10k-images-idx3-ubyte"), None).unwrap();
    let back = load_dir(dir.path(), Split::Train).unwrap();
    assert_eq!(back, ds);
    assert_eq!(back.to_u8(), px);
    let raw = std::fs::read(dir.path().join("t10k-images-idx3-ubyte")).unwrap();
    assert_eq!(
        &raw[..16],
        &[0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 4, 0, 0, 0, 3]
    );
    assert!(load_dir(dir.path(), Split::Test)
        .unwrap()
        .labels()
        .is_none());
}

#[test]
fn color_dataset_as_idx_and_wide_labels() {
    let dir = tempfile::tempdir().unwrap();
    let shape = ImageShape::new(3, 2, 2);
    let ds = Dataset::from_u8(&pattern(2, shape), shape, Some(vec![999, 5]), 1000).unwrap();
    let images = dir.path().join("train-images-idx4-ubyte");
    let err = write_idx_dataset(&ds, &images, Some(&dir.path().join("l"))).unwrap_err();
    assert!(err.to_string().contains("999"), "{err}");
    write_idx_dataset(&ds, &images, None).unwrap();
    assert_eq!(
        load_dir(dir.path(), Split::Train).unwrap().nchw(),
        [2, 3, 2, 2]
    );
}

#[test]
fn images_of_other_channel_counts_are_refused() {
    let err = to_image8(&[0.0; 8], ImageShape::new(2, 2, 2)).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument(_)));
    assert!(to_image8(&[0.0; 5], ImageShape::new(1, 2, 2)).is_err());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("missing-dir").join("x.png");
    let err = write_png(&p, &[0.0], ImageShape::new(1, 1, 1)).unwrap_err();
    assert!(err.to_string().contains("x.png"), "{err}");
}

#[test]
fn encode_png_is_what_save_png_writes_and_decodes_back() {
    let rgb: Vec<u8> = (0..2 * 3 * 3).map(|v| (v * 13) as u8).collect();
    let bytes = gan_data::encode_png_rgb(2, 3, &rgb).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!(img.color(), image::ColorType::Rgb8);
    assert_eq!(img.to_rgb8().into_raw(), rgb);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one.png");
    let values = [-1.0, 0.0, 1.0, 0.5];
    write_png(&path, &values, ImageShape::new(1, 2, 2)).unwrap();
    let gray = to_image8(&values, ImageShape::new(1, 2, 2)).unwrap();
    let want = gan_data::encode_png(2, 2, 1, &gray.pixels).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), want);

    // Wrong lengths and channel counts are errors, not panics.
    assert!(gan_data::encode_png_rgb(2, 3, &rgb[1..]).is_err());
    assert!(gan_data::encode_png(1, 1, 2, &[0, 0]).is_err());
}
