//! Animated GIFs of generated images (interpolation loops, training timelapses): frames
//! scaled up by whole pixels, looping forever. GIF89a through the `image` crate's
//! encoder (palette per frame by NeuQuant, so colours may move by a few levels).

use crate::error::{DataError, Result};
use crate::output::Image8;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};
use std::path::Path;

/// The frames as one looping GIF: each `delay_ms` long, every pixel drawn as a
/// `scale` x `scale` block. All frames must have one size.
pub fn encode_gif(frames: &[Image8], delay_ms: u32, scale: u32) -> Result<Vec<u8>> {
    let bad = |m: String| Err(DataError::InvalidArgument(m));
    let Some(first) = frames.first() else {
        return bad("a GIF needs at least one frame".into());
    };
    if scale == 0 || scale > 64 {
        return bad(format!("GIF scale {scale}; expected 1 to 64"));
    }
    let (w, h) = (first.width * scale, first.height * scale);
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut out, 10);
        enc.set_repeat(Repeat::Infinite)
            .map_err(|e| DataError::InvalidArgument(format!("GIF: {e}")))?;
        for (i, f) in frames.iter().enumerate() {
            if (f.width, f.height) != (first.width, first.height) {
                return bad(format!(
                    "GIF frame {i} is {}x{}, frame 0 {}x{}; all frames need one size",
                    f.width, f.height, first.width, first.height
                ));
            }
            if f.channels != 1 && f.channels != 3 {
                return bad(format!(
                    "GIF frame {i} has {} channels; expected 1 or 3",
                    f.channels
                ));
            }
            let mut rgba = RgbaImage::new(w, h);
            for (x, y, px) in rgba.enumerate_pixels_mut() {
                let (sx, sy) = ((x / scale) as usize, (y / scale) as usize);
                let at = (sy * f.width as usize + sx) * f.channels;
                let c = &f.pixels[at..at + f.channels];
                *px = if f.channels == 1 {
                    image::Rgba([c[0], c[0], c[0], 255])
                } else {
                    image::Rgba([c[0], c[1], c[2], 255])
                };
            }
            let delay = Delay::from_numer_denom_ms(delay_ms, 1);
            enc.encode_frame(Frame::from_parts(rgba, 0, 0, delay))
                .map_err(|e| DataError::InvalidArgument(format!("GIF frame {i}: {e}")))?;
        }
    }
    Ok(out)
}

/// [`encode_gif`] into a file.
pub fn write_gif(path: &Path, frames: &[Image8], delay_ms: u32, scale: u32) -> Result<()> {
    let bytes = encode_gif(frames, delay_ms, scale)?;
    std::fs::write(path, bytes).map_err(|e| DataError::io(path, "writing", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::GifDecoder;
    use image::AnimationDecoder;

    fn frame(v: u8) -> Image8 {
        Image8 {
            width: 3,
            height: 2,
            channels: 1,
            pixels: vec![0, v, 255, v, 0, 128],
        }
    }

    #[test]
    fn frames_loop_at_scale_with_their_pixels() {
        let frames = [frame(10), frame(200), frame(90)];
        let bytes = encode_gif(&frames, 80, 4).unwrap();
        assert_eq!(&bytes[..6], b"GIF89a");
        let dec = GifDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
        let got: Vec<_> = dec.into_frames().collect_frames().unwrap();
        assert_eq!(got.len(), 3);
        for (f, want) in got.iter().zip(&frames) {
            let img = f.buffer();
            assert_eq!(img.dimensions(), (12, 8));
            assert_eq!(f.delay().numer_denom_ms(), (80, 1));
            for (x, y, px) in img.enumerate_pixels() {
                let w = want.pixels[(y / 4 * 3 + x / 4) as usize] as i32;
                assert!((px.0[0] as i32 - w).abs() <= 8, "({x},{y}): {px:?} vs {w}");
            }
        }
    }

    #[test]
    fn bad_frames_are_errors() {
        assert!(encode_gif(&[], 80, 2).is_err());
        assert!(encode_gif(&[frame(1)], 80, 0).is_err());
        let mut big = frame(1);
        big.width = 1;
        big.height = 6;
        let e = encode_gif(&[frame(1), big], 80, 1).unwrap_err().to_string();
        assert!(e.contains("frame 1") && e.contains("one size"), "{e}");
    }
}
