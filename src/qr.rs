//! QR codes for posting sites and two-factor enrolment: error correction H and the standard
//! quiet zone, as SVG (print scales it) or PNG.

use qrcode::{EcLevel, QrCode};

/// Pixels per QR module in the PNG: about 25 mm wide at 300 dpi for a typical site address,
/// more than enough to print large.
const PNG_MODULE_PX: u32 = 12;
/// Pixels per module in the SVG's own coordinates; print CSS scales it to any size.
const SVG_MODULE_PX: u32 = 8;

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the address is too long for a QR code")]
    TooLong,
    #[error("PNG encoding: {0}")]
    Png(String),
}

/// Error correction H restores up to 30% of the modules, for weathered or partly torn posters.
fn code(url: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::H).map_err(|_| QrError::TooLong)
}

/// The QR code as a standalone SVG file, with the standard quiet zone of four modules.
pub fn svg(url: &str) -> Result<String, QrError> {
    Ok(code(url)?
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .module_dimensions(SVG_MODULE_PX, SVG_MODULE_PX)
        .build())
}

/// The QR code as `<svg>` markup to place inside an HTML page (no XML declaration).
pub fn svg_inline(url: &str) -> Result<String, QrError> {
    let svg = svg(url)?;
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// The QR code as a greyscale PNG, with the standard quiet zone of four modules.
pub fn png(url: &str) -> Result<Vec<u8>, QrError> {
    let code = code(url)?;
    let image = code
        .render::<image::Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(PNG_MODULE_PX, PNG_MODULE_PX)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| QrError::Png(e.to_string()))?;
    Ok(png)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_use_level_h_and_a_four_module_quiet_zone() {
        let url = "https://jubao.example.cn/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let png = png(url).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        let width = code(url).unwrap().width() as u32;
        assert_eq!(image.width(), (width + 8) * PNG_MODULE_PX);
        // The quiet zone is blank all round.
        let quiet = 4 * PNG_MODULE_PX;
        for (x, y, pixel) in image.enumerate_pixels() {
            let border =
                x < quiet || y < quiet || x >= image.width() - quiet || y >= image.height() - quiet;
            if border {
                assert_eq!(pixel.0[0], 255, "dark pixel at {x},{y} in the quiet zone");
            }
        }
        // …and the symbol starts right after it (the finder pattern's dark corner).
        assert_eq!(image.get_pixel(quiet, quiet).0[0], 0);

        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (meta, content) = grids[0].decode().unwrap();
        assert_eq!(content, url);
        assert_eq!(meta.ecc_level, 2, "level H");

        let svg = svg_inline(url).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(&format!(
            "viewBox=\"0 0 {0} {0}\"",
            (width + 8) * SVG_MODULE_PX
        )));
    }
}
