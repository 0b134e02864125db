//! OpenID Connect sign-in (seed 001's "Google OAuth", for any provider: Google, Microsoft,
//! Keycloak, Authentik): the authorization-code flow with PKCE (S256), `state` and `nonce`, over
//! `openidconnect`. Providers are configured by issuer URL, client id and secret, and discovered
//! on each sign-in (their signing keys rotate; sign-ins are rare).
//!
//! - `GET /auth/oidc/{provider}/start` redirects to the provider and sets a signed, HttpOnly
//!   cookie holding the flow's state, nonce and PKCE verifier (10 minutes).
//! - `GET /auth/oidc/{provider}/callback` checks the state (and RFC 9207 `iss`), exchanges the code
//!   with the verifier, verifies the ID token and its nonce, signs the identity in through the
//!   domain, and redirects to `STOA_APP_URL/sign-in#code=…`: a one-time code (60 s) for
//!   `exchangeSignInCode`. Tokens never travel in a URL. A failure redirects to
//!   `STOA_APP_URL/sign-in#error=<CODE>` (`docs/errors.md`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use stoa_domain::identity::{self, ExternalIdentity};

use crate::config::OidcProviderConfig;
use crate::state::AppState;

/// The cookie holding one sign-in's secrets between start and callback. Not a name the
/// providers use (they share 127.0.0.1 in tests, and cookies do not separate by port).
const COOKIE: &str = "stoa_oidc";
/// How long a started sign-in may take at the provider.
const FLOW_SECS: i64 = 600;

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The configured providers and what the flow needs to run them.
pub struct Oidc {
    providers: HashMap<String, OidcProviderConfig>,
    /// Back-channel client (discovery, keys, token): never follows redirects.
    http: reqwest::Client,
    /// Signs the flow cookie.
    key: Vec<u8>,
}

impl Oidc {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(providers: &[OidcProviderConfig], key: Vec<u8>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let providers = providers.iter().map(|p| (p.name.clone(), p.clone())).collect();
        Ok(Self { providers, http, key })
    }
}

/// What the cookie carries.
#[derive(Serialize, Deserialize)]
struct Flow {
    /// Provider name.
    p: String,
    /// CSRF state.
    s: String,
    /// Nonce.
    n: String,
    /// PKCE verifier.
    v: String,
    /// Expiry, Unix seconds.
    e: i64,
}

fn sign(key: &[u8], payload: &str) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else { unreachable!("HMAC takes any key") };
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn seal(key: &[u8], flow: &Flow) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(flow).unwrap_or_default());
    format!("{payload}.{}", sign(key, &payload))
}

/// Compares in time independent of where the inputs differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn open(key: &[u8], headers: &HeaderMap) -> Option<Flow> {
    let raw = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")).map(str::to_owned))?;
    let (payload, sig) = raw.split_once('.')?;
    if !same(&sign(key, payload), sig) {
        return None;
    }
    let flow: Flow = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (flow.e > chrono::Utc::now().timestamp()).then_some(flow)
}

fn cookie(value: &str, max_age: i64) -> HeaderValue {
    let text = format!("{COOKIE}={value}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("stoa_oidc=; Max-Age=0"))
}

fn not_found() -> Response {
    let body = r#"{"errors":[{"message":"unknown sign-in provider","extensions":{"code":"NOT_FOUND"}}]}"#;
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A 303 to `location`, clearing the flow cookie.
fn redirect(location: &str) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie("", 0));
    res
}

fn failed(state: &AppState, code: &str) -> Response {
    tracing::info!(code, "OIDC sign-in failed");
    redirect(&format!("{}/sign-in#error={code}", state.app.accounts().app_url))
}

fn callback_url(state: &AppState, provider: &str) -> String {
    format!("{}/auth/oidc/{provider}/callback", state.app.accounts().public_url)
}

async fn client(oidc: &Oidc, config: &OidcProviderConfig, redirect: String) -> anyhow::Result<Client> {
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(config.issuer.clone())?, &oidc.http).await?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect)?))
}

/// `GET /auth/oidc/{provider}/start`.
pub async fn start(State(state): State<AppState>, Path(provider): Path<String>) -> Response {
    let Some(config) = state.oidc.providers.get(&provider) else { return not_found() };
    let client = match client(&state.oidc, config, callback_url(&state, &provider)).await {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(provider, error = %format_args!("{e:#}"), "OIDC discovery failed");
            return failed(&state, "OIDC_PROVIDER_UNAVAILABLE");
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let flow = Flow {
        p: provider,
        s: csrf.secret().clone(),
        n: nonce.secret().clone(),
        v: verifier.secret().clone(),
        e: chrono::Utc::now().timestamp() + FLOW_SECS,
    };
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie(&seal(&state.oidc.key, &flow), FLOW_SECS));
    res
}

/// The query of the provider's redirect.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    iss: Option<String>,
}

/// `GET /auth/oidc/{provider}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(query): Query<Callback>,
    headers: HeaderMap,
) -> Response {
    let Some(config) = state.oidc.providers.get(&provider) else { return not_found() };
    let Some(flow) = open(&state.oidc.key, &headers).filter(|f| f.p == provider) else {
        return failed(&state, "OIDC_STATE_MISMATCH");
    };
    if !query.state.as_deref().is_some_and(|s| same(s, &flow.s)) {
        return failed(&state, "OIDC_STATE_MISMATCH");
    }
    if query.error.is_some() {
        return failed(&state, "OIDC_PROVIDER_ERROR");
    }
    if query.iss.as_deref().is_some_and(|iss| iss != config.issuer) {
        return failed(&state, "OIDC_ISSUER_MISMATCH");
    }
    let Some(code) = query.code else { return failed(&state, "OIDC_PROVIDER_ERROR") };
    match verified_identity(&state, config, &provider, &flow, code).await {
        Ok(identity) => match identity::external_sign_in(&state.app, identity).await {
            Ok(one_time) => redirect(&format!("{}/sign-in#code={one_time}", state.app.accounts().app_url)),
            Err(stoa_domain::DomainError::EmailNotVerified) => failed(&state, "EMAIL_NOT_VERIFIED"),
            Err(stoa_domain::DomainError::Unavailable { .. }) => failed(&state, "UNAVAILABLE"),
            Err(e) => {
                tracing::error!(error = %format_args!("{e:#}"), "OIDC sign-in failed in the domain");
                failed(&state, "INTERNAL")
            }
        },
        Err(code) => failed(&state, code),
    }
}

/// Exchanges the code and verifies the ID token; the failure's redirect code otherwise.
async fn verified_identity(
    state: &AppState,
    config: &OidcProviderConfig,
    provider: &str,
    flow: &Flow,
    code: String,
) -> Result<ExternalIdentity, &'static str> {
    let client = client(&state.oidc, config, callback_url(state, provider)).await.map_err(|e| {
        tracing::warn!(provider, error = %format_args!("{e:#}"), "OIDC discovery failed");
        "OIDC_PROVIDER_UNAVAILABLE"
    })?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| "OIDC_PROVIDER_UNAVAILABLE")?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.v.clone()))
        .request_async(&state.oidc.http)
        .await
        .map_err(|e| {
            tracing::info!(provider, error = %e, "OIDC code exchange refused");
            "OIDC_EXCHANGE_FAILED"
        })?;
    let id_token = token.id_token().ok_or("OIDC_TOKEN_INVALID")?;
    let claims = id_token.claims(&client.id_token_verifier(), &Nonce::new(flow.n.clone())).map_err(|e| match e {
        ClaimsVerificationError::InvalidNonce(_) => "OIDC_NONCE_MISMATCH",
        other => {
            tracing::info!(provider, error = %other, "OIDC ID token refused");
            "OIDC_TOKEN_INVALID"
        }
    })?;
    Ok(ExternalIdentity {
        provider: provider.to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
    })
}
