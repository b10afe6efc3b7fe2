//! The preview inspectors see of an image attachment: its pixels, re-encoded.

use crate::domain::attachment::{Kind, Refusal};

/// The largest image a preview decodes, in pixels per side and in decoded bytes: a small
/// file that expands to gigabytes is refused instead.
const PREVIEW_MAX_SIDE: u32 = 12_000;
const PREVIEW_MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// Previews are scaled to fit this box.
const PREVIEW_BOX: u32 = 1600;

/// A PNG re-encoded from the decoded pixels of an image attachment: nothing of the upload's
/// bytes but its pixels reaches the viewer.
pub fn preview_png(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let format = match kind {
        Kind::Jpeg => image::ImageFormat::Jpeg,
        Kind::Png => image::ImageFormat::Png,
        Kind::Webp => image::ImageFormat::WebP,
        _ => return Err(Refusal::Unsupported),
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(PREVIEW_MAX_SIDE);
    limits.max_image_height = Some(PREVIEW_MAX_SIDE);
    limits.max_alloc = Some(PREVIEW_MAX_ALLOC);
    use image::ImageDecoder;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| Refusal::Damaged)?;
    // The picture the right way up: the orientation is the one EXIF detail a stripped photo
    // keeps, and the preview has none at all.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut decoded = image::DynamicImage::from_decoder(decoder).map_err(|_| Refusal::Damaged)?;
    decoded.apply_orientation(orientation);
    let fitted = if decoded.width() > PREVIEW_BOX || decoded.height() > PREVIEW_BOX {
        decoded.thumbnail(PREVIEW_BOX, PREVIEW_BOX)
    } else {
        decoded
    };
    let mut out = std::io::Cursor::new(Vec::new());
    fitted
        .to_rgba8()
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|_| Refusal::Damaged)?;
    Ok(out.into_inner())
}
