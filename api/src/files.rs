//! `/files/{key}`: serves the local folder's signed URLs (GET to download a clean file, PUT to
//! upload into quarantine). S3 deployments hand out presigned S3 URLs instead and this route
//! answers 404.

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stoa_storage::SignedMethod;

use crate::state::AppState;

/// The signature part of a signed URL.
#[derive(Deserialize)]
pub struct Signature {
    exp: Option<u64>,
    sig: Option<String>,
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

type Refusal = (StatusCode, &'static str);

fn verified(state: &AppState, method: SignedMethod, key: &str, q: &Signature) -> Result<(), Refusal> {
    let Some(signer) = state.app.storage().local_signer() else { return Err((StatusCode::NOT_FOUND, "not found")) };
    let (Some(exp), Some(sig)) = (q.exp, q.sig.as_deref()) else {
        return Err((StatusCode::FORBIDDEN, "signature required"));
    };
    if signer.verify(method, key, exp, sig) {
        Ok(())
    } else {
        Err((StatusCode::FORBIDDEN, "invalid or expired signature"))
    }
}

/// `GET /files/{key}`.
pub async fn get(State(state): State<AppState>, Path(key): Path<String>, Query(q): Query<Signature>) -> Response {
    if let Err((status, message)) = verified(&state, SignedMethod::Get, &key, &q) {
        return refuse(status, message);
    }
    match state.app.storage().get(&key).await {
        Ok(Some(bytes)) => {
            ([(header::CONTENT_TYPE, "application/octet-stream"), (header::CONTENT_DISPOSITION, "attachment")], bytes)
                .into_response()
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "not found"),
        Err(e) => {
            tracing::error!(error = %format_args!("{e:#}"), "reading a signed file");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// `PUT /files/{key}`: only into `upload/` (read once by `completeUpload`), at most the upload limit.
pub async fn put(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<Signature>,
    body: Body,
) -> Response {
    if let Err((status, message)) = verified(&state, SignedMethod::Put, &key, &q) {
        return refuse(status, message);
    }
    if !key.starts_with("upload/") {
        return refuse(StatusCode::FORBIDDEN, "signed uploads go to upload/ only");
    }
    let limit = usize::try_from(state.app.files().max_upload_bytes).unwrap_or(usize::MAX);
    let Ok(bytes) = to_bytes(body, limit).await else { return refuse(StatusCode::PAYLOAD_TOO_LARGE, "file too large") };
    match state.app.storage().put(&key, bytes).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(error = %format_args!("{e:#}"), "storing a signed upload");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
