//! GraphQL over HTTP, per the GraphQL-over-HTTP spec: JSON POST (single or batched), GET for
//! queries only, `application/graphql-response+json` when accepted, and no form or `text/plain`
//! POST that could carry a cross-site mutation.

use std::net::SocketAddr;

use async_graphql::{BatchRequest, Request, Response, ServerError, Variables};
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use stoa_schema::error::{ErrorCode, INTERNAL_RESPONSE, transport_error};
use stoa_schema::limits::classify_errors;

use crate::gql::{self, Refusal};
use crate::state::AppState;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// Which media type the client gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    GraphqlResponse,
}

fn media(headers: &HeaderMap) -> Media {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if accept.contains(GRAPHQL_RESPONSE) { Media::GraphqlResponse } else { Media::Json }
}

fn reply(media: Media, status: StatusCode, body: &impl serde::Serialize) -> axum::response::Response {
    let content_type = match media {
        Media::Json => "application/json; charset=utf-8",
        Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
    };
    let mut res = (status, body_bytes(serde_json::to_vec(body))).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// A serialised body, or the coded `INTERNAL` one when serialising failed.
fn body_bytes(serialised: serde_json::Result<Vec<u8>>) -> Vec<u8> {
    serialised.unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising a GraphQL response failed");
        INTERNAL_RESPONSE.as_bytes().to_vec()
    })
}

/// The status the error table gives the first error's code (400 for a code without one).
fn status_of(errors: &[ServerError]) -> StatusCode {
    let status = errors.first().and_then(ErrorCode::of).and_then(ErrorCode::http_status);
    status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// A request-level failure answered with the status of its code: no execution happened.
fn refused(media: Media, errors: &[ServerError]) -> axum::response::Response {
    refuse(media, status_of(errors), errors)
}

/// A request-level failure: no execution happened.
fn refuse(media: Media, status: StatusCode, errors: &[ServerError]) -> axum::response::Response {
    let mut res = reply(media, status, &serde_json::json!({ "errors": errors }));
    res.extensions_mut().insert(Refused(errors.to_vec()));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        res.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    res
}

/// The GraphQL multipart request spec's CSRF guard: any of these headers forces a CORS preflight.
fn has_preflight(headers: &HeaderMap) -> bool {
    ["apollo-require-preflight", "graphql-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|h| headers.contains_key(*h))
}

/// Errors of a refusal, counted by the metrics layer.
#[derive(Clone)]
struct Refused(Vec<ServerError>);

/// Adds `RateLimit-*` headers (and `Retry-After` when refused).
fn budget_headers(res: &mut axum::response::Response, budget: &stoa_domain::ports::ratelimit::Budget) {
    let headers = res.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(budget.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(budget.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(budget.reset_s));
    if let Some(retry) = budget.retry_after_s {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
}

/// Applies the operation budgets; `Err` is the finished 429 response.
async fn limit(
    state: &AppState,
    media: Media,
    ip: &str,
    actor: &stoa_schema::RequestActor,
    cost: usize,
) -> Result<Option<stoa_domain::ports::ratelimit::Budget>, axum::response::Response> {
    match state.ops.check(&state.app, ip, actor, u32::try_from(cost).unwrap_or(u32::MAX)).await {
        Ok(budget) => Ok(budget),
        Err(refusal) => {
            let mut res = refused(media, &[refusal.error()]);
            match refusal {
                crate::ratelimit::Refused::Budget(budget) => budget_headers(&mut res, &budget),
                crate::ratelimit::Refused::Unavailable => {
                    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(refusal.retry_after_s()));
                }
            }
            Err(res)
        }
    }
}

/// Counts the request and the error codes of a refusal.
fn counted(state: &AppState, res: axum::response::Response) -> axum::response::Response {
    state.metrics.request();
    if let Some(Refused(errors)) = res.extensions().get::<Refused>() {
        state.metrics.errors(errors);
    }
    res
}

/// Counts the error codes of executed responses.
fn count(state: &AppState, responses: &[&Response]) {
    for r in responses {
        state.metrics.errors(&r.errors);
    }
}

fn bad_request(media: Media, message: impl Into<String>) -> axum::response::Response {
    refused(media, &[transport_error(ErrorCode::BAD_REQUEST, message)])
}

/// What a client is told about a multipart body that does not parse: the kind of fault, never
/// the text of the I/O or JSON error behind it (that goes to the log).
fn multipart_refusal(e: &async_graphql::ParseRequestError) -> &'static str {
    use async_graphql::ParseRequestError as E;
    tracing::debug!(error = %format_args!("{e:#}"), "malformed multipart request");
    match e {
        E::InvalidRequest(_) => "malformed multipart request: the operations part is not a GraphQL request",
        E::InvalidFilesMap(_) => "malformed multipart request: the map part is not a files map",
        E::InvalidMultipart(_) => "malformed multipart request: invalid multipart data",
        E::MissingOperatorsPart => "malformed multipart request: missing \"operations\" part",
        E::MissingMapPart => "malformed multipart request: missing \"map\" part",
        E::NotUpload => "malformed multipart request: not an upload operation",
        E::MissingFiles => "malformed multipart request: missing files",
        E::UnsupportedBatch => "malformed multipart request: batches are not supported",
        _ => "malformed multipart request",
    }
}

fn client_ip(state: &AppState, addr: SocketAddr, headers: &HeaderMap) -> String {
    crate::client_addr::client_key(Some(addr), headers, &state.proxies)
}

/// Requests in a POST body: one, or a batch.
#[derive(Deserialize)]
#[serde(untagged)]
enum IncomingBatch {
    Single(Box<gql::Incoming>),
    Batch(Vec<gql::Incoming>),
}

fn incoming(request: Request) -> gql::Incoming {
    gql::Incoming { request, document_id: None }
}

/// Runs one prepared request; refusals become error-only responses.
async fn run_one(
    state: &AppState,
    incoming: gql::Incoming,
    queries_only: bool,
    actor: stoa_schema::RequestActor,
    ip: &str,
) -> Result<Response, Refusal> {
    let admitted = gql::admit(&state.docs, &state.limits, &state.app, &actor, incoming).await?;
    let (docs, limits) =
        if admitted.operator { (&state.operator_docs, &state.operator_limits) } else { (&state.docs, &state.limits) };
    let mut request = gql::prepare(admitted.request, docs, limits, queries_only, &state.app, actor, ip)?;
    let schema = if gql::introspection_only(&mut request) { &state.introspection } else { &state.schema };
    let mut response = schema.execute(request).await;
    classify_errors(&mut response.errors);
    Ok(response)
}

/// `Some(seconds to wait)` when every error of `response` is `UNAVAILABLE` and no field produced
/// data: nothing executed, and the same request can be sent again.
fn unavailable(response: &Response) -> Option<u64> {
    use async_graphql::Value;
    let all_unavailable =
        !response.errors.is_empty() && response.errors.iter().all(|e| ErrorCode::of(e) == Some(ErrorCode::UNAVAILABLE));
    let nothing = match &response.data {
        Value::Null => true,
        Value::Object(fields) => fields.values().all(|v| *v == Value::Null),
        _ => false,
    };
    if !(all_unavailable && nothing) {
        return None;
    }
    let retry = response.errors.iter().find_map(|e| match e.extensions.as_ref()?.get("retryAfter")? {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    });
    Some(retry.unwrap_or(stoa_domain::error::RETRY_AFTER_S))
}

/// The reply to executed responses: 503 with `Retry-After` when none of them could run for an
/// unavailable dependency, else `status`.
fn executed_reply(
    media: Media,
    status: StatusCode,
    responses: &[&Response],
    body: &impl serde::Serialize,
) -> axum::response::Response {
    let retry = responses.iter().map(|r| unavailable(r)).collect::<Option<Vec<u64>>>();
    match retry.and_then(|r| r.into_iter().max()) {
        Some(retry) => {
            let mut res = reply(media, StatusCode::SERVICE_UNAVAILABLE, body);
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
            res
        }
        None => reply(media, status, body),
    }
}

/// Status for one response under `application/graphql-response+json`: 200 when execution began
/// (data present), 400 when the request failed before execution.
fn status_for(media: Media, response: &Response) -> StatusCode {
    if media == Media::GraphqlResponse && response.data == async_graphql::Value::Null && !response.errors.is_empty() {
        let executed = response.errors.iter().any(|e| !e.path.is_empty());
        if !executed {
            return StatusCode::BAD_REQUEST;
        }
    }
    StatusCode::OK
}

/// The caller, seen from its client address and user agent (what the audit log records).
async fn authenticate(state: &AppState, addr: SocketAddr, headers: &HeaderMap) -> stoa_schema::RequestActor {
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match gql::authenticate(&state.app, token).await {
        Some(caller) => {
            let address = crate::client_addr::client_address(Some(addr), headers, &state.proxies);
            let user_agent = crate::client_addr::user_agent(headers);
            stoa_schema::RequestActor(caller.actor.0.map(|a| a.from_client(&address, user_agent)))
        }
        None => stoa_schema::RequestActor(Err("invalid or expired access token")),
    }
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> axum::response::Response {
    let res = post_inner(&state, addr, &headers, body).await;
    counted(&state, res)
}

async fn post_inner(state: &AppState, addr: SocketAddr, headers: &HeaderMap, body: Body) -> axum::response::Response {
    let state = state.clone();
    let media = media(headers);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let multipart = mime == "multipart/form-data";
    if multipart && !has_preflight(headers) {
        // A browser sends multipart forms cross-site without a preflight; a custom header forces one.
        return bad_request(media, "multipart requests need an Apollo-Require-Preflight or GraphQL-Preflight header");
    }
    if !multipart && mime != "application/json" && mime != "application/graphql+json" {
        // Forms and text/plain are "simple" requests a browser sends cross-site without a
        // preflight: refusing them closes the CSRF door for mutations.
        // The one BAD_REQUEST answered 415 rather than the table's 400.
        let err = transport_error(ErrorCode::BAD_REQUEST, "Content-Type must be application/json");
        return refuse(media, StatusCode::UNSUPPORTED_MEDIA_TYPE, &[err]);
    }
    let max_upload = usize::try_from(state.app.files().max_upload_bytes).unwrap_or(usize::MAX);
    let body_limit = if multipart { max_upload.saturating_add(64 * 1024) } else { state.max_body_bytes };
    let Ok(bytes) = to_bytes(body, body_limit).await else {
        let err = transport_error(ErrorCode::PAYLOAD_TOO_LARGE, format!("request body larger than {body_limit} bytes"));
        return refused(media, &[err]);
    };
    let batch: IncomingBatch = if multipart {
        let opts = async_graphql::http::MultipartOptions::default().max_file_size(max_upload).max_num_files(5);
        match async_graphql::http::receive_batch_body(Some(content_type), futures::io::Cursor::new(bytes), opts).await {
            Ok(BatchRequest::Single(request)) => IncomingBatch::Single(Box::new(incoming(request))),
            Ok(BatchRequest::Batch(requests)) => IncomingBatch::Batch(requests.into_iter().map(incoming).collect()),
            Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
                let err =
                    transport_error(ErrorCode::PAYLOAD_TOO_LARGE, format!("files must be at most {max_upload} bytes"));
                return refused(media, &[err]);
            }
            Err(e) => return bad_request(media, multipart_refusal(&e)),
        }
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(batch) => batch,
            Err(e) if e.is_syntax() || e.is_eof() => return bad_request(media, "request body is not valid JSON"),
            Err(_) => return bad_request(media, "request body must be {\"query\": …} or a list of them"),
        }
    };
    let actor = authenticate(&state, addr, headers).await;
    let ip = client_ip(&state, addr, headers);
    let cost = match &batch {
        IncomingBatch::Single(_) => 1,
        IncomingBatch::Batch(requests) => requests.len(),
    };
    if cost == 0 || cost > state.limits.max_batch {
        return bad_request(media, format!("a batch holds 1 to {} operations", state.limits.max_batch));
    }
    let budget = match limit(&state, media, &ip, &actor, cost).await {
        Ok(budget) => budget,
        Err(res) => return res,
    };
    let res = match batch {
        IncomingBatch::Single(request) => match run_one(&state, *request, false, actor, &ip).await {
            Ok(response) => {
                let res = executed_reply(media, status_for(media, &response), &[&response], &response);
                count(&state, &[&response]);
                return with_budget(res, budget.as_ref());
            }
            Err(refusal) => refused(media, &refusal.errors),
        },
        IncomingBatch::Batch(requests) => {
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(match run_one(&state, request, false, actor.clone(), &ip).await {
                    Ok(response) => response,
                    Err(refusal) => Response::from_errors(refusal.errors),
                });
            }
            for response in &responses {
                state.metrics.errors(&response.errors);
            }
            let all: Vec<&Response> = responses.iter().collect();
            let res = executed_reply(media, StatusCode::OK, &all, &all);
            return with_budget(res, budget.as_ref());
        }
    };
    with_budget(res, budget.as_ref())
}

fn with_budget(
    mut res: axum::response::Response,
    budget: Option<&stoa_domain::ports::ratelimit::Budget>,
) -> axum::response::Response {
    if let Some(budget) = budget {
        budget_headers(&mut res, budget);
    }
    res
}

/// Query-string form of a GET request.
#[derive(Deserialize)]
pub struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    /// A trusted document's identifier (the persisted-documents appendix).
    #[serde(rename = "documentId")]
    document_id: Option<String>,
    /// JSON, as Apollo sends `extensions.persistedQuery`.
    extensions: Option<String>,
}

/// `GET /graphql` without a WebSocket upgrade: queries only.
pub async fn get(
    state: AppState,
    addr: SocketAddr,
    headers: HeaderMap,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> axum::response::Response {
    let res = get_inner(&state, addr, &headers, params).await;
    counted(&state, res)
}

async fn get_inner(
    state: &AppState,
    addr: SocketAddr,
    headers: &HeaderMap,
    params: Result<Query<GetParams>, axum::extract::rejection::QueryRejection>,
) -> axum::response::Response {
    let state = state.clone();
    let media = media(headers);
    let Ok(Query(params)) = params else {
        return bad_request(media, "malformed query string");
    };
    if params.query.is_none() && params.document_id.is_none() && params.extensions.is_none() {
        return bad_request(media, "missing query parameter");
    }
    let mut request = Request::new(params.query.unwrap_or_default());
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(raw) = params.variables {
        match serde_json::from_str::<serde_json::Value>(&raw) {
            Ok(value @ serde_json::Value::Object(_)) => request = request.variables(Variables::from_json(value)),
            Ok(serde_json::Value::Null) => {}
            _ => return bad_request(media, "variables must be a JSON object"),
        }
    }
    if let Some(raw) = params.extensions {
        match serde_json::from_str::<std::collections::HashMap<String, async_graphql::Value>>(&raw) {
            Ok(extensions) => request.extensions.extend(extensions),
            Err(_) => return bad_request(media, "extensions must be a JSON object"),
        }
    }
    let request = gql::Incoming { request, document_id: params.document_id };
    let actor = authenticate(&state, addr, headers).await;
    let ip = client_ip(&state, addr, headers);
    let budget = match limit(&state, media, &ip, &actor, 1).await {
        Ok(budget) => budget,
        Err(res) => return res,
    };
    let (res, response) = match run_one(&state, request, true, actor, &ip).await {
        Ok(response) => (executed_reply(media, status_for(media, &response), &[&response], &response), Some(response)),
        Err(refusal) => (refused(media, &refusal.errors), None),
    };
    count(&state, &response.iter().collect::<Vec<_>>());
    with_budget(res, budget.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_cannot_be_serialised_falls_back_to_a_coded_internal_error() {
        let Err(broken) = serde_json::from_str::<Vec<u8>>("{") else { panic!("parsed") };
        let body: serde_json::Value = serde_json::from_slice(&body_bytes(Err(broken))).unwrap_or_default();
        assert_eq!(body["errors"][0]["message"], "internal error");
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
    }

    #[test]
    fn refusals_are_answered_with_the_status_of_their_code() {
        let status = |code| status_of(&[transport_error(code, "x")]).as_u16();
        assert_eq!(status(ErrorCode::BAD_REQUEST), 400);
        assert_eq!(status(ErrorCode::QUERY_TOO_COMPLEX), 400);
        assert_eq!(status(ErrorCode::METHOD_NOT_ALLOWED), 405);
        assert_eq!(status(ErrorCode::PAYLOAD_TOO_LARGE), 413);
        assert_eq!(status(ErrorCode::RATE_LIMITED), 429);
        assert_eq!(status_of(&[ServerError::new("no code", None)]).as_u16(), 400);
    }

    #[test]
    fn a_multipart_fault_is_named_without_the_error_text_behind_it() {
        let io = std::io::Error::other("disk /var/tmp/secret full");
        let message = multipart_refusal(&async_graphql::ParseRequestError::Io(io));
        assert!(!message.contains("secret"), "{message}");
        let json = serde_json::from_str::<serde_json::Value>("{").err().map(Into::into);
        let Some(json) = json else { panic!("parsed") };
        let message = multipart_refusal(&async_graphql::ParseRequestError::InvalidRequest(json));
        assert!(!message.contains("line") && !message.contains("EOF"), "{message}");
    }
}
