//! What may be uploaded: an allow-list of types, each with the magic bytes that prove it, so a
//! declared type must match the bytes (a "PNG" that is an executable is refused).

/// An allowed file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    pub mime: &'static str,
    pub extensions: &'static [&'static str],
    /// Whether thumbnails can be made.
    pub image: bool,
}

/// The allow-list.
pub const ALLOWED: [FileType; 7] = [
    FileType { mime: "image/png", extensions: &["png"], image: true },
    FileType { mime: "image/jpeg", extensions: &["jpg", "jpeg"], image: true },
    FileType { mime: "image/gif", extensions: &["gif"], image: true },
    FileType { mime: "image/webp", extensions: &["webp"], image: true },
    FileType { mime: "application/pdf", extensions: &["pdf"], image: false },
    FileType { mime: "text/plain", extensions: &["txt", "log", "md"], image: false },
    FileType { mime: "text/csv", extensions: &["csv"], image: false },
];

/// The allowed type for a declared MIME type and file name, if both agree and are allowed.
#[must_use]
pub fn declared(mime: &str, filename: &str) -> Option<FileType> {
    let mime = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    ALLOWED.into_iter().find(|t| t.mime == mime && t.extensions.contains(&ext.as_str()))
}

/// The type the bytes actually are, from their first bytes.
#[must_use]
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"MZ") || starts(b"\x7FELF") || starts(b"\xCA\xFE\xBA\xBE") || starts(b"#!") {
        Some("application/x-executable")
    } else if looks_like_text(bytes) {
        Some("text/plain")
    } else {
        None
    }
}

/// Whether the bytes match the declared type (`text/csv` is text).
#[must_use]
pub fn matches(declared: FileType, bytes: &[u8]) -> bool {
    match sniff(bytes) {
        Some("text/plain") => declared.mime.starts_with("text/"),
        Some(actual) => actual == declared.mime,
        None => false,
    }
}

/// A safe file name: the last path segment, without control characters, at most 200 characters.
#[must_use]
pub fn clean_filename(raw: &str) -> Option<String> {
    let name = raw.rsplit(['/', '\\']).next()?.trim();
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    (!name.is_empty() && name != "." && name != "..").then_some(name)
}

/// UTF-8 in its first 4 KiB and no NUL byte. The cut at 4 KiB may split a character: an incomplete
/// sequence at the very end of the sample is still text.
fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() < bytes.len(),
    };
    valid && !bytes.contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_whose_4096th_byte_splits_a_character_is_still_text() {
        let mut text = "a".repeat(4095).into_bytes();
        text.extend_from_slice("é and more".as_bytes()); // é is bytes 4095 and 4096
        assert_eq!(sniff(&text), Some("text/plain"));
        // A file that really ends inside a character is not text.
        let mut truncated = "a".repeat(10).into_bytes();
        truncated.push(0xC3);
        assert_eq!(sniff(&truncated), None);
    }

    #[test]
    fn declared_types_need_an_allowed_mime_and_a_matching_extension() {
        assert!(declared("image/png", "a.PNG").is_some());
        assert!(declared("image/png", "a.jpg").is_none());
        assert!(declared("application/x-msdownload", "a.exe").is_none());
        assert!(declared("image/png", "noext").is_none());
    }

    #[test]
    fn bytes_must_match_the_declared_type() {
        let png = declared("image/png", "a.png").unwrap_or(ALLOWED[0]);
        assert!(matches(png, b"\x89PNG\r\n\x1a\n...."));
        assert!(!matches(png, b"MZ\x90\x00 this is a windows executable"));
        assert!(!matches(png, b"plain text"));
        let txt = declared("text/plain", "a.txt").unwrap_or(ALLOWED[5]);
        assert!(matches(txt, b"hello"));
        assert!(!matches(txt, b"\x7FELF\x02\x01"));
        assert!(!matches(txt, b"nul\0byte"));
    }

    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(clean_filename("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_filename("C:\\x\\report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename("  "), None);
    }
}
