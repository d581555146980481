//! Writing images back out: the workspace's one PNG encoder, one PNG per image, a grid of samples in one PNG, and a
//! dataset as IDX files any MNIST tool can read.

use crate::dataset::{unit_to_u8, Dataset, ImageShape};
use crate::error::{DataError, Result};
use crate::idx;
use image::ImageEncoder;
use std::path::{Path, PathBuf};

/// An 8-bit image, interleaved (gray or RGB), ready to encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image8 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// Row-major pixels, channels interleaved.
    pub pixels: Vec<u8>,
}

fn check_channels(shape: ImageShape) -> Result<()> {
    if shape.channels == 1 || shape.channels == 3 {
        Ok(())
    } else {
        Err(DataError::InvalidArgument(format!(
            "cannot write {shape} items as images; expected 1 (gray) or 3 (RGB) channels"
        )))
    }
}

fn check_len(values: &[f32], shape: ImageShape, what: &str) -> Result<usize> {
    if shape.is_empty() || !values.len().is_multiple_of(shape.len()) {
        return Err(DataError::InvalidArgument(format!(
            "{} values for {what} of shape {shape}; expected a whole number of items",
            values.len()
        )));
    }
    Ok(values.len() / shape.len())
}

/// One planar image in [-1, 1] to interleaved u8 pixels.
pub fn to_image8(values: &[f32], shape: ImageShape) -> Result<Image8> {
    check_channels(shape)?;
    if check_len(values, shape, "one image")? != 1 {
        return Err(DataError::InvalidArgument(format!(
            "{} values for one image of shape {shape}; expected {}",
            values.len(),
            shape.len()
        )));
    }
    let plane = shape.plane();
    let pixels = (0..plane)
        .flat_map(|i| (0..shape.channels).map(move |c| unit_to_u8(values[c * plane + i])))
        .collect();
    Ok(Image8 {
        width: shape.width as u32,
        height: shape.height as u32,
        channels: shape.channels,
        pixels,
    })
}

/// Encode 8-bit pixels as PNG bytes: `pixels` row-major, `channels` 1 (gray) or 3 (RGB,
/// interleaved), `width * height * channels` of them. The one PNG encoder of the
/// workspace (image's `PngEncoder` at its default settings).
pub fn encode_png(width: u32, height: u32, channels: usize, pixels: &[u8]) -> Result<Vec<u8>> {
    let color = match channels {
        1 => image::ExtendedColorType::L8,
        3 => image::ExtendedColorType::Rgb8,
        _ => {
            return Err(DataError::InvalidArgument(format!(
                "cannot encode {channels}-channel pixels as PNG; expected 1 (gray) or 3 (RGB)"
            )))
        }
    };
    let want = width as u64 * height as u64 * channels as u64;
    if pixels.len() as u64 != want {
        return Err(DataError::InvalidArgument(format!(
            "{} bytes for a {width}x{height} PNG with {channels} channels; expected {want}",
            pixels.len()
        )));
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(pixels, width, height, color)
        .map_err(|e| DataError::InvalidArgument(format!("{width}x{height} PNG: {e}")))?;
    Ok(out)
}

/// Encode interleaved RGB pixels (`width * height * 3` bytes) as PNG bytes.
pub fn encode_png_rgb(width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>> {
    encode_png(width, height, 3, pixels)
}

/// Encode an [`Image8`] as a PNG file.
pub fn save_png(path: &Path, img: &Image8) -> Result<()> {
    let bytes =
        encode_png(img.width, img.height, img.channels, &img.pixels).map_err(|e| match e {
            DataError::InvalidArgument(msg) => {
                DataError::InvalidArgument(format!("{}: {msg}", path.display()))
            }
            other => other,
        })?;
    std::fs::write(path, bytes).map_err(|e| DataError::io(path, "writing", e))
}

/// Write one image (planar values in [-1, 1], gray or RGB) as a PNG file.
pub fn write_png(path: &Path, values: &[f32], shape: ImageShape) -> Result<()> {
    save_png(path, &to_image8(values, shape)?)
}

/// Write each image of `images` as `dir/{prefix}{index:05}.png`, creating `dir`;
/// returns the paths written.
pub fn write_pngs(
    dir: &Path,
    prefix: &str,
    images: &[f32],
    shape: ImageShape,
) -> Result<Vec<PathBuf>> {
    check_channels(shape)?;
    let n = check_len(images, shape, "images")?;
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, "creating", e))?;
    (0..n)
        .map(|i| {
            let path = dir.join(format!("{prefix}{i:05}.png"));
            write_png(
                &path,
                &images[i * shape.len()..(i + 1) * shape.len()],
                shape,
            )?;
            Ok(path)
        })
        .collect()
}

/// Layout of a sample sheet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridOptions {
    /// Images per row (above zero).
    pub columns: usize,
    /// Pixels between images and around the border.
    pub padding: usize,
    /// Value of the padding, in [-1, 1] (1 is white).
    pub pad_value: f32,
}

impl Default for GridOptions {
    /// 8 columns, 2 pixels of white padding.
    fn default() -> Self {
        GridOptions {
            columns: 8,
            padding: 2,
            pad_value: 1.0,
        }
    }
}

/// Tile `images` (planar, in [-1, 1]) into one image, row after row.
pub fn make_grid(images: &[f32], shape: ImageShape, opts: GridOptions) -> Result<Image8> {
    check_channels(shape)?;
    let n = check_len(images, shape, "a grid")?;
    if n == 0 || opts.columns == 0 {
        return Err(DataError::InvalidArgument(format!(
            "grid of {n} images in {} columns; expected at least one of each",
            opts.columns
        )));
    }
    let cols = opts.columns.min(n);
    let rows = n.div_ceil(cols);
    let (h, w, c, pad) = (shape.height, shape.width, shape.channels, opts.padding);
    let width = cols * (w + pad) + pad;
    let height = rows * (h + pad) + pad;
    if width > u32::MAX as usize || height > u32::MAX as usize {
        return Err(DataError::InvalidArgument(format!(
            "grid of {width}x{height} pixels is too large"
        )));
    }
    let mut pixels = vec![unit_to_u8(opts.pad_value); width * height * c];
    let plane = shape.plane();
    for (k, img) in images.chunks_exact(shape.len()).enumerate() {
        let (x0, y0) = (pad + (k % cols) * (w + pad), pad + (k / cols) * (h + pad));
        for y in 0..h {
            let row = ((y0 + y) * width + x0) * c;
            for x in 0..w {
                for ch in 0..c {
                    pixels[row + x * c + ch] = unit_to_u8(img[ch * plane + y * w + x]);
                }
            }
        }
    }
    Ok(Image8 {
        width: width as u32,
        height: height as u32,
        channels: c,
        pixels,
    })
}

/// Write a grid of `images` as one PNG (the sample sheet).
pub fn write_grid(path: &Path, images: &[f32], shape: ImageShape, opts: GridOptions) -> Result<()> {
    save_png(path, &make_grid(images, shape, opts)?)
}

/// Write a dataset as IDX: images as (N, H, W) when gray, (N, C, H, W) otherwise, and
/// labels (when present and `labels_path` is given) as (N). Files ending in `.gz` are
/// compressed.
pub fn write_idx_dataset(
    dataset: &Dataset,
    images_path: &Path,
    labels_path: Option<&Path>,
) -> Result<()> {
    let [n, c, h, w] = dataset.nchw();
    let dims: Vec<usize> = if c == 1 {
        vec![n, h, w]
    } else {
        vec![n, c, h, w]
    };
    idx::write_idx(images_path, &dims, &dataset.to_u8())?;
    if let (Some(path), Some(labels)) = (labels_path, dataset.labels()) {
        let bytes = labels
            .iter()
            .map(|&l| {
                u8::try_from(l).map_err(|_| {
                    DataError::InvalidArgument(format!(
                        "{}: label {l} does not fit the IDX u8 labels; expected labels below 256",
                        path.display()
                    ))
                })
            })
            .collect::<Result<Vec<u8>>>()?;
        idx::write_idx(path, &[n], &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_images_with_padding() {
        let shape = ImageShape::new(1, 1, 2);
        let imgs = [-1.0, -1.0, 0.0, 0.0, 1.0, -1.0];
        let opts = GridOptions {
            columns: 2,
            padding: 1,
            pad_value: 1.0,
        };
        let g = make_grid(&imgs, shape, opts).unwrap();
        assert_eq!((g.width, g.height), (7, 5));
        #[rustfmt::skip]
        let want = [
            255, 255, 255, 255, 255, 255, 255,
            255,   0,   0, 255, 128, 128, 255,
            255, 255, 255, 255, 255, 255, 255,
            255, 255,   0, 255, 255, 255, 255,
            255, 255, 255, 255, 255, 255, 255,
        ];
        assert_eq!(g.pixels, want);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let s = ImageShape::new(2, 2, 2);
        assert!(make_grid(&[0.0; 8], s, GridOptions::default()).is_err());
        let s = ImageShape::new(1, 2, 2);
        assert!(make_grid(&[0.0; 7], s, GridOptions::default()).is_err());
        assert!(make_grid(&[], s, GridOptions::default()).is_err());
        let opts = GridOptions {
            columns: 0,
            ..GridOptions::default()
        };
        assert!(make_grid(&[0.0; 4], s, opts).is_err());
    }
}
