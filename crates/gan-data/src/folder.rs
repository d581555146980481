//! A folder of PNG and JPEG images, searched recursively, decoded in parallel,
//! converted to grayscale or RGB, center-cropped and resized to one size.

use crate::dataset::{u8_to_unit, Dataset, ImageShape};
use crate::error::{DataError, Result};
use crate::fileio;
use image::imageops::FilterType;
use image::{DynamicImage, ImageBuffer, ImageDecoder, Pixel};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Which channels the loaded images have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// One channel (luma, Rec. 709 weights).
    Gray,
    /// Three channels.
    Rgb,
    /// One channel when every image is grayscale, else three.
    Auto,
}

/// How to load an image folder.
#[derive(Clone, Debug)]
pub struct FolderOptions {
    /// Output height in pixels.
    pub height: u32,
    /// Output width in pixels.
    pub width: u32,
    /// Grayscale, RGB or inferred.
    pub color: ColorMode,
    /// Use the top-level subfolder names (sorted) as class labels.
    pub labels_from_subfolders: bool,
    /// Skip images that fail to decode (counted in the report) instead of failing.
    pub skip_corrupt: bool,
    /// Show a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

impl FolderOptions {
    /// Square images of `size` pixels, color inferred, no labels, fail on corrupt files,
    /// with a progress bar.
    pub fn new(size: u32) -> Self {
        FolderOptions {
            height: size,
            width: size,
            color: ColorMode::Auto,
            labels_from_subfolders: false,
            skip_corrupt: false,
            progress: true,
        }
    }
}

/// What loading a folder skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderReport {
    /// Images loaded.
    pub loaded: usize,
    /// Files that are not PNG or JPEG (by extension), skipped.
    pub skipped_non_image: usize,
    /// Images that failed to decode and were skipped (with `skip_corrupt`).
    pub skipped_corrupt: Vec<PathBuf>,
}

/// True for the extensions this loader decodes.
fn is_image_name(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    ["png", "jpg", "jpeg"]
        .iter()
        .any(|x| ext.eq_ignore_ascii_case(x))
}

/// All files under `dir`, sorted; symbolic links to directories are not followed.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "listing", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(dir, "listing", e))?;
        let path = entry.path();
        let ty = entry
            .file_type()
            .map_err(|e| DataError::io(&path, "inspecting", e))?;
        if ty.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// The region of a `w` x `h` image with the aspect ratio of `tw` x `th`, centered.
fn center_crop(w: u32, h: u32, tw: u32, th: u32) -> (u32, u32, u32, u32) {
    let (w64, h64, tw64, th64) = (w as u64, h as u64, tw as u64, th as u64);
    if w64 * th64 > h64 * tw64 {
        let cw = ((h64 * tw64 + th64 / 2) / th64).clamp(1, w64) as u32;
        ((w - cw) / 2, 0, cw, h)
    } else {
        let ch = ((w64 * th64 + tw64 / 2) / tw64).clamp(1, h64) as u32;
        (0, (h - ch) / 2, w, ch)
    }
}

/// Center-crop to the target aspect ratio, then resize to exactly `tw` x `th`.
fn fit<P>(img: &ImageBuffer<P, Vec<u8>>, tw: u32, th: u32) -> Vec<u8>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    let (x, y, cw, ch) = center_crop(img.width(), img.height(), tw, th);
    let view = image::imageops::crop_imm(img, x, y, cw, ch);
    if (cw, ch) == (tw, th) {
        return view.to_image().into_raw();
    }
    image::imageops::resize(&*view, tw, th, FilterType::Triangle).into_raw()
}

/// RGB with any alpha composited over black (16-bit and palette images come out 8-bit).
fn to_rgb_over_black(img: &DynamicImage) -> image::RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u32 * a as u32 + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

/// One decoded image: interleaved pixels of the target size, and whether the file was
/// grayscale.
struct Decoded {
    pixels: Vec<u8>,
    gray_source: bool,
}

fn decode(path: &Path, opts: &FolderOptions) -> Result<Decoded> {
    let bad = |reason: String| DataError::Image {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = fileio::read_file(path)?;
    let decoder = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?
        .into_decoder()
        .map_err(|e| bad(e.to_string()))?;
    // Check the size the header claims against what the file can hold before the
    // decoder allocates it: a 400-byte file claiming 5000x3000 pixels must not cost 45 MB.
    let (w, h) = decoder.dimensions();
    let claimed = decoder.total_bytes();
    let most = fileio::max_decoded_image_len(bytes.len());
    if claimed > most {
        return Err(bad(format!(
            "the header claims {w}x{h} pixels of {:?} ({claimed} bytes decoded), more than a \
             {}-byte file can hold (at most {most})",
            decoder.color_type(),
            bytes.len()
        )));
    }
    let img = DynamicImage::from_decoder(decoder).map_err(|e| bad(e.to_string()))?;
    if img.width() == 0 || img.height() == 0 {
        return Err(bad("image has no pixels".into()));
    }
    let gray_source = !img.color().has_color();
    let rgb = to_rgb_over_black(&img);
    let pixels = if opts.color == ColorMode::Gray {
        fit(
            &DynamicImage::ImageRgb8(rgb).to_luma8(),
            opts.width,
            opts.height,
        )
    } else {
        fit(&rgb, opts.width, opts.height)
    };
    Ok(Decoded {
        pixels,
        gray_source,
    })
}

fn progress_bar(n: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(n as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "decoding images [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The class name of `path`: its top-level folder under `root`.
fn class_of(root: &Path, path: &Path) -> Result<String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut parts = rel.components();
    match (parts.next(), parts.next()) {
        (Some(dir), Some(_)) => Ok(dir.as_os_str().to_string_lossy().into_owned()),
        _ => Err(DataError::format(
            path,
            "an image directly in the root folder",
            "images inside one subfolder per class when labels come from subfolders",
        )),
    }
}

/// Load every PNG and JPEG under `dir` (sorted by path) into one dataset.
pub fn load_folder(dir: &Path, opts: &FolderOptions) -> Result<(Dataset, FolderReport)> {
    if opts.width == 0 || opts.height == 0 {
        return Err(DataError::InvalidArgument(format!(
            "requested image size {}x{}; expected a width and height above zero",
            opts.width, opts.height
        )));
    }
    fileio::require_dir(dir, "PNG or JPEG images")?;
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let total = files.len();
    files.retain(|p| is_image_name(p));
    let mut report = FolderReport {
        skipped_non_image: total - files.len(),
        ..FolderReport::default()
    };
    if files.is_empty() {
        return Err(DataError::NoImages {
            path: dir.to_path_buf(),
            skipped: report.skipped_non_image,
        });
    }
    let bar = progress_bar(files.len(), opts.progress);
    let results: Vec<Result<Decoded>> = files
        .par_iter()
        .map(|p| {
            let r = decode(p, opts);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();

    let mut decoded = Vec::with_capacity(files.len());
    let mut kept = Vec::with_capacity(files.len());
    for (path, r) in files.iter().zip(results) {
        match r {
            Ok(d) => {
                decoded.push(d);
                kept.push(path);
            }
            Err(e @ DataError::Image { .. }) if opts.skip_corrupt => {
                log::warn!("skipping {e}");
                report.skipped_corrupt.push(path.clone());
            }
            Err(e) => return Err(e),
        }
    }
    if report.skipped_non_image > 0 {
        log::warn!(
            "{}: skipped {} files that are not PNG or JPEG",
            dir.display(),
            report.skipped_non_image
        );
    }
    if decoded.is_empty() {
        return Err(DataError::NoImages {
            path: dir.to_path_buf(),
            skipped: report.skipped_non_image + report.skipped_corrupt.len(),
        });
    }
    report.loaded = decoded.len();

    let channels = match opts.color {
        ColorMode::Gray => 1,
        ColorMode::Rgb => 3,
        ColorMode::Auto if decoded.iter().all(|d| d.gray_source) => 1,
        ColorMode::Auto => 3,
    };
    let shape = ImageShape::new(channels, opts.height as usize, opts.width as usize);
    let images = to_planar(&decoded, shape, opts.color == ColorMode::Gray);

    let (labels, names) = if opts.labels_from_subfolders {
        let classes: Vec<String> = kept
            .iter()
            .map(|p| class_of(dir, p))
            .collect::<Result<_>>()?;
        let mut names = classes.clone();
        names.sort();
        names.dedup();
        let labels = classes
            .iter()
            .map(|c| names.binary_search(c).expect("name listed") as u32)
            .collect();
        (Some(labels), names)
    } else {
        (None, Vec::new())
    };
    let num_classes = names.len();
    let ds = Dataset::new(images, shape, labels, num_classes)?.with_class_names(names);
    Ok((ds, report))
}

/// Interleaved u8 pixels (1 or 3 per pixel) to planar [-1, 1] values of `shape`.
fn to_planar(decoded: &[Decoded], shape: ImageShape, gray_pixels: bool) -> Vec<f32> {
    let src_channels = if gray_pixels { 1 } else { 3 };
    let plane = shape.plane();
    let mut out = vec![0.0f32; decoded.len() * shape.len()];
    out.par_chunks_mut(shape.len())
        .zip(decoded)
        .for_each(|(dst, d)| {
            for c in 0..shape.channels {
                for (i, v) in dst[c * plane..(c + 1) * plane].iter_mut().enumerate() {
                    // Auto-gray takes the red channel: equal to the others for gray sources.
                    *v = u8_to_unit(d.pixels[i * src_channels + c]);
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_crop_keeps_the_target_aspect() {
        assert_eq!(center_crop(100, 50, 10, 10), (25, 0, 50, 50));
        assert_eq!(center_crop(50, 100, 10, 10), (0, 25, 50, 50));
        assert_eq!(center_crop(64, 64, 32, 32), (0, 0, 64, 64));
        assert_eq!(center_crop(30, 10, 2, 1), (5, 0, 20, 10));
        assert_eq!(center_crop(1, 1000, 1000, 1), (0, 499, 1, 1));
    }
}
