//! Thumbnails of clean images: at most 256×256, WebP, made by a follow-up job. Decoding runs on
//! the blocking pool with limits, so a decompression bomb cannot exhaust memory.

use std::io::Cursor;

use crate::app::AppCtx;
use crate::error::{DomainError, Result};
use crate::files::model::{AttachmentStatus, clean_key};
use crate::files::store;
use crate::ids::AttachmentId;

/// Largest side of a thumbnail.
const SIDE: u32 = 256;

pub(crate) fn thumb_key(id: AttachmentId) -> String {
    format!("thumbs/{id}.webp")
}

/// Decodes an uploaded image within limits (8,192 px a side, 256 MiB), so a decompression bomb
/// cannot exhaust memory.
pub(crate) fn decode_limited(bytes: &[u8]) -> anyhow::Result<image::DynamicImage> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8_192);
    limits.max_image_height = Some(8_192);
    limits.max_alloc = Some(256 * 1024 * 1024);
    let mut reader = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format()?;
    reader.limits(limits);
    Ok(reader.decode()?)
}

/// Encodes as WebP.
pub(crate) fn webp(image: &image::RgbaImage) -> anyhow::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::WebP)?;
    Ok(out.into_inner())
}

fn render(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    webp(&decode_limited(bytes)?.thumbnail(SIDE, SIDE).to_rgba8())
}

/// Makes the thumbnail of a clean image. Idempotent; images that do not decode get none, and a file
/// deleted while its thumbnail was made keeps none.
///
/// # Errors
/// `Internal` on storage or database failure (retried).
#[tracing::instrument(skip_all, fields(attachment = %id))]
pub async fn make_thumbnail(app: &AppCtx, id: AttachmentId) -> Result<()> {
    let Some(row) = store::attachment(app.db(), id).await? else { return Ok(()) };
    if AttachmentStatus::parse(&row.status) != AttachmentStatus::Clean || row.thumbnail_key.is_some() {
        return Ok(());
    }
    let Some(bytes) = app.storage().get(&clean_key(id)).await? else { return Ok(()) };
    let rendered =
        tokio::task::spawn_blocking(move || render(&bytes)).await.map_err(|e| DomainError::Internal(e.into()))?;
    let webp = match rendered {
        Ok(webp) => webp,
        Err(e) => {
            tracing::info!(error = %e, "no thumbnail: the image does not decode");
            return Ok(());
        }
    };
    app.storage().put(&thumb_key(id), webp.into()).await?;
    if !store::set_thumbnail(app.db(), id, thumb_key(id)).await? {
        app.storage().delete(&thumb_key(id)).await?; // deleted with its message while rendering
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_becomes_a_small_webp_and_garbage_is_refused() {
        let img = image::RgbaImage::from_pixel(600, 300, image::Rgba([200, 30, 30, 255]));
        let mut png = Cursor::new(Vec::new());
        assert!(img.write_to(&mut png, image::ImageFormat::Png).is_ok());
        let Ok(webp) = render(png.get_ref()) else { panic!("renders") };
        assert_eq!(&webp[..4], b"RIFF");
        assert_eq!(&webp[8..12], b"WEBP");
        let Ok(decoded) = image::load_from_memory(&webp) else { panic!("decodes") };
        assert_eq!((decoded.width(), decoded.height()), (256, 128));
        assert!(render(b"\x89PNG\r\n\x1a\nbroken").is_err());
    }
}
