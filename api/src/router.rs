//! The HTTP surface: routes, CORS, the panic guard, and the small handlers that are a few lines each
//! (`/readyz`, `/metrics`, the playground). GraphQL itself lives in `http` (POST and GET) and `ws`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts as _, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::state::{AppState, MetricsAccess};
use crate::{files, http, ws};

/// The whole router over `state`; cross-origin requests only from `cors_origins`.
pub fn router(state: AppState, cors_origins: &[String]) -> Router {
    let origins: Vec<HeaderValue> = cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT]);
    // The playground exists only where `STOA_PLAYGROUND` is on (off in production by default):
    // elsewhere its paths are 404 like any other unknown path.
    let playground = if state.playground {
        Router::new()
            .route("/", get(|| async { crate::playground::page() }))
            .route("/playground/{*file}", get(playground_file))
            .route("/favicon.ico", get(favicon))
    } else {
        Router::new()
    };
    Router::new()
        .merge(playground)
        .route("/graphql", get(graphql_get).post(http::post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/files/{*key}", get(files::get).put(files::put))
        .route("/mail/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .route("/auth/oidc/{provider}/start", get(crate::oidc::start))
        .route("/auth/oidc/{provider}/callback", get(crate::oidc::callback))
        .layer(cors)
        // A bug in one request answers 500 and leaves the process and every other client alone.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (mut parts, _body) = request.into_parts();
    let is_upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => ws::upgrade(state, Some(addr), &parts.headers, upgrade),
            Err(rejection) => rejection.into_response(),
        };
    }
    let params = Query::<http::GetParams>::from_request_parts(&mut parts, &state).await;
    http::get(state, addr, parts.headers, params).await
}

/// The query of a List-Unsubscribe link.
#[derive(serde::Deserialize)]
struct UnsubscribeLink {
    address: String,
    sig: String,
}

/// `GET /mail/unsubscribe`: a page with one button. Opening the link does nothing by itself (link
/// scanners open every link); the button, like a mail program's one-click unsubscribe (RFC 8058),
/// POSTs.
async fn unsubscribe_page(uri: axum::http::Uri) -> Html<String> {
    let query = uri.query().unwrap_or_default().replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    Html(format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\"><form method=\"post\" \
         action=\"/mail/unsubscribe?{query}\"><p>Stop invitation mail to this address?</p>\
         <button type=\"submit\">Unsubscribe</button></form></body></html>"
    ))
}

/// `POST /mail/unsubscribe`: no more invitation mail to the signed address.
async fn unsubscribe(State(state): State<AppState>, Query(link): Query<UnsubscribeLink>) -> Response {
    match stoa_domain::mail::unsubscribe(&state.app, &link.address, &link.sig).await {
        Ok(()) => {
            (StatusCode::OK, "unsubscribed: no more invitations will be mailed to this address\n").into_response()
        }
        Err(stoa_domain::DomainError::InvalidToken(_)) => {
            (StatusCode::BAD_REQUEST, "invalid unsubscribe link\n").into_response()
        }
        Err(e) => {
            tracing::error!(error = %format_args!("{e:#}"), "recording an unsubscribe failed");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response()
        }
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let body = stoa_schema::error::INTERNAL_RESPONSE;
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `/metrics`: open in development; with `STOA_METRICS_TOKEN` set it needs that bearer token, and in
/// production it is not served on the API port at all without one (scrapers are no clients).
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(refused) = metrics_refused(&state.metrics_access, &headers) {
        return refused;
    }
    let mut body = state.metrics.render(state.app.sql_statements());
    body.push_str(&state.readiness.render_metrics(state.app.health()));
    body.push_str(&state.groups.render_metrics());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The refusal of a `/metrics` request `access` does not allow, if it is one.
pub fn metrics_refused(access: &MetricsAccess, headers: &axum::http::HeaderMap) -> Option<Response> {
    match access {
        MetricsAccess::Open => None,
        MetricsAccess::Hidden => Some(StatusCode::NOT_FOUND.into_response()),
        MetricsAccess::Token(token) => {
            use secrecy::ExposeSecret as _;
            let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let expected = format!("Bearer {}", token.expose_secret());
            let ok = presented.is_some_and(|p| constant_time_eq(p.as_bytes(), expected.as_bytes()));
            (!ok).then(|| (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")]).into_response())
        }
    }
}

/// Compares without an early exit, so the time taken says nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn readyz(State(state): State<AppState>) -> Response {
    state.readiness.response()
}

/// The router of `stoa worker`: `/healthz`, `/readyz` (workers alive, database reachable) and
/// `/metrics`, nothing else.
pub fn worker_router(
    app: stoa_domain::AppCtx,
    readiness: std::sync::Arc<crate::readiness::Readiness>,
    access: MetricsAccess,
) -> Router {
    let ready = std::sync::Arc::clone(&readiness);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(move || async move { ready.response() }))
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| async move {
                if let Some(refused) = metrics_refused(&access, &headers) {
                    return refused;
                }
                let mut body = format!(
                    "# TYPE stoa_sql_statements_total counter\nstoa_sql_statements_total {}\n",
                    app.sql_statements()
                );
                body.push_str(&readiness.render_metrics(app.health()));
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
            }),
        )
}

async fn playground_file(path: axum::extract::Path<String>, headers: axum::http::HeaderMap) -> Response {
    crate::playground::asset(&path.0, &headers)
}

async fn favicon(headers: axum::http::HeaderMap) -> Response {
    crate::playground::asset("favicon.svg", &headers)
}
