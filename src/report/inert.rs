//! The one rule for the files of a run on the published site. A run is
//! untrusted input: whoever can push one chose its bytes, its artifact names
//! and its `artifacts.toml`. A static host serves a file by its extension, and
//! a browser runs what it is served as HTML, SVG, XML, JavaScript (and more)
//! as a document of the site's origin, outside the pages' Content-Security-Policy.
//! So a file of a run is never written under a name of its own choosing:
//!
//! - PNG, JPEG, GIF, WebP and BMP, recognised by their signature, get their
//!   extension (`.png`, `.jpg`, `.gif`, `.webp`, `.bmp`) and are shown with `<img>`;
//! - anything else (HTML, SVG, PDF, text, models, ...) is written as `.txt`,
//!   which hosts serve as `text/plain` and browsers never run, and pages offer
//!   it as a download under its own name.
//!
//! The file name is the SHA-256 of the content, so no name or path of a run
//! becomes a path of the site. The decision reads the bytes only, never the
//! name or the media type the run recorded. This module decides; it writes
//! nothing.

use sha2::{Digest, Sha256};

use crate::util::hex;

/// How one file of a run goes on the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// File name in the site: `<sha256>.<extension>`.
    pub name: String,
    /// Whether pages show it as an image (a raster image by its signature).
    pub image: bool,
}

/// The extension of a raster image that browsers only ever draw, by the
/// signature at the start of `bytes`; `None` for anything else.
pub fn raster_extension(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("jpg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if is_bmp(bytes) {
        Some("bmp")
    } else {
        None
    }
}

/// A Windows bitmap (which the Python client accepts as an image): `BM`, the
/// file's own length, then four zero bytes, so text that starts with "BM" is not one.
fn is_bmp(bytes: &[u8]) -> bool {
    bytes.len() >= 26
        && bytes.starts_with(b"BM")
        && bytes[2..6] == (bytes.len() as u32).to_le_bytes()
        && bytes[6..10] == [0; 4]
}

/// How the file with content `bytes` goes on the site.
pub fn site_file(bytes: &[u8]) -> SiteFile {
    let sha256 = hex(&Sha256::digest(bytes));
    let (extension, image) = match raster_extension(bytes) {
        Some(ext) => (ext, true),
        None => ("txt", false),
    };
    SiteFile { name: format!("{sha256}.{extension}"), sha256, image }
}

/// The file name a download of artifact `path` is saved under: its last part.
pub fn download_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_images_are_known_by_their_signature() {
        assert_eq!(raster_extension(b"\x89PNG\r\n\x1a\nIHDR"), Some("png"));
        assert_eq!(raster_extension(b"\xff\xd8\xff\xe0JFIF"), Some("jpg"));
        assert_eq!(raster_extension(b"GIF89a\x01\x00"), Some("gif"));
        assert_eq!(raster_extension(b"RIFF\x10\x00\x00\x00WEBPVP8 "), Some("webp"));
        let mut bmp = b"BM\x1e\x00\x00\x00\x00\x00\x00\x00\x1a\x00\x00\x00".to_vec();
        bmp.resize(30, 0);
        assert_eq!(raster_extension(&bmp), Some("bmp"));
        for other in [
            &b""[..],
            b"\x89PNG",
            b"RIFF\x10\x00\x00\x00WAVEfmt ",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>x()</script></svg>",
            b"<!doctype html><script>x()</script>",
            b"%PDF-1.7",
            b"GIF90a",
            b"BMW results: <script>x()</script> and more text",
        ] {
            assert_eq!(raster_extension(other), None, "{other:?}");
        }
    }

    #[test]
    fn everything_else_is_text_named_by_its_hash() {
        // The name a run gave it plays no part: an HTML file named plot.png is text.
        let html = site_file(b"<html><script>alert(1)</script></html>");
        assert!(!html.image);
        assert_eq!(html.name, format!("{}.txt", html.sha256));
        assert_eq!(
            site_file(b"abc").sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let png = site_file(b"\x89PNG\r\n\x1a\n");
        assert!(png.image && png.name.ends_with(".png"));
        assert_eq!(download_name("plots/a.svg"), "a.svg");
        assert_eq!(download_name("model.pt"), "model.pt");
    }
}
