//! The playground: GraphiQL 5, built from `client-gen/playground/` into `api/assets/playground/` and
//! embedded in the binary, so `/` works on a machine without internet (async-graphql's page loads
//! React and GraphiQL from a CDN). Each asset is served with its content type, an `ETag` from the
//! bundle's `SHA256SUMS`, and gzip when accepted (compressed once, on first use, and kept); every
//! response carries a CSP that allows nothing but this server. The page reads its endpoint from
//! `data-endpoint` (relative), so a path prefix behind a proxy works.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Monaco needs inline styles and a `data:` font; everything else comes from this server only.
pub const CSP: &str = "default-src 'self'; connect-src 'self'; worker-src 'self' blob:; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:";

macro_rules! assets {
    ($($name:literal => $mime:literal),+ $(,)?) => {
        /// The bundle: file name, content type, bytes.
        const ASSETS: &[(&str, &str, &[u8])] = &[
            $(($name, $mime, include_bytes!(concat!("../assets/playground/", $name)))),+
        ];
    };
}

assets! {
    "main.js" => "text/javascript; charset=utf-8",
    "main.css" => "text/css; charset=utf-8",
    "editor.worker.js" => "text/javascript; charset=utf-8",
    "json.worker.js" => "text/javascript; charset=utf-8",
    "graphql.worker.js" => "text/javascript; charset=utf-8",
    "codicon.ttf" => "font/ttf",
    "favicon.svg" => "image/svg+xml",
}

const SUMS: &str = include_str!("../assets/playground/SHA256SUMS");

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stoa playground</title>
<link rel="icon" href="playground/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="playground/main.css">
</head>
<body>
<div id="stoa-playground" data-endpoint="graphql"></div>
<script type="module" src="playground/main.js"></script>
</body>
</html>
"#;

struct Asset {
    mime: &'static str,
    bytes: &'static [u8],
    etag: HeaderValue,
    gzipped: OnceLock<Vec<u8>>,
}

fn assets() -> &'static HashMap<&'static str, Asset> {
    static ASSET_MAP: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    ASSET_MAP.get_or_init(|| {
        let sums: HashMap<&str, &str> =
            SUMS.lines().filter_map(|l| l.split_once("  ").map(|(sum, name)| (name.trim(), sum.trim()))).collect();
        ASSETS
            .iter()
            .map(|&(name, mime, bytes)| {
                // SHA256SUMS is written by the build beside the files; CI rebuilds and compares both.
                let sum = sums.get(name).copied().unwrap_or("unlisted");
                let etag = HeaderValue::from_str(&format!("\"{}\"", &sum[..sum.len().min(32)]))
                    .unwrap_or_else(|_| HeaderValue::from_static("\"playground\""));
                (name, Asset { mime, bytes, etag, gzipped: OnceLock::new() })
            })
            .collect()
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail; an empty body would only make the client fall back to a 200.
    if encoder.write_all(bytes).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|e| e.trim().split(';').next().is_some_and(|e| e.eq_ignore_ascii_case("gzip")))
    })
}

fn with_csp(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// `GET /`: the page.
#[must_use]
pub fn page() -> Response {
    let res = ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], PAGE);
    with_csp(res.into_response())
}

/// `GET /playground/{file}` (and `/favicon.ico`): one file of the bundle, or 404 for any other
/// path (no file system is read: `..` and encoded dots name nothing here).
#[must_use]
pub fn asset(name: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = assets().get(name) else {
        return with_csp((StatusCode::NOT_FOUND, "not found").into_response());
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag.to_str().unwrap_or_default()));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if accepts_gzip(headers) {
        let body = asset.gzipped.get_or_init(|| gzip(asset.bytes)).clone();
        let mut res = (StatusCode::OK, body).into_response();
        res.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        res
    } else {
        (StatusCode::OK, asset.bytes).into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    with_csp(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_bundle_is_embedded_and_listed_with_its_hash() {
        use sha2::Digest as _;
        let listed: Vec<&str> = SUMS.lines().filter_map(|l| l.split_once("  ").map(|(_, n)| n)).collect();
        let embedded: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        let mut sorted = embedded.clone();
        sorted.sort_unstable();
        assert_eq!(listed, sorted, "api/assets/playground/SHA256SUMS lists exactly the embedded files");
        for (name, _, bytes) in ASSETS {
            let sum = hex::encode(sha2::Sha256::digest(bytes));
            assert!(SUMS.contains(&format!("{sum}  {name}")), "{name} is not the file SHA256SUMS describes");
        }
    }

    #[test]
    fn gzip_round_trips_and_paths_outside_the_bundle_are_not_found() {
        use std::io::Read as _;
        let mut plain = Vec::new();
        let Ok(_) = flate2::read::GzDecoder::new(&gzip(b"hello playground")[..]).read_to_end(&mut plain) else {
            panic!("gzip decodes")
        };
        assert_eq!(plain, b"hello playground");
        for path in ["../Cargo.toml", "%2e%2e/Cargo.toml", "main.js/..", "", "SHA256SUMS"] {
            assert_eq!(asset(path, &HeaderMap::new()).status(), StatusCode::NOT_FOUND, "{path}");
        }
    }
}
