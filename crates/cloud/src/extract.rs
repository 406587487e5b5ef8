//! Request extractors that turn every bad input into a precise [`ApiError`]: the bearer token
//! ([`Auth`]) and JSON bodies ([`JsonBody`], with the offending field's path).

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use pitbox_model::UserRole;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::server::AppState;
use crate::token::{AuthError, Identity};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth(pub Identity);

/// Checks a bearer token (signature, expiry, then the deny-list) and returns its claims, or the
/// 401 to answer.
pub fn check_token(state: &AppState, token: &str) -> Result<Identity, ApiError> {
    let who = state.keys.verify(token).map_err(|e| match e {
        AuthError::Expired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the access token expired: refresh it with POST /api/auth/refresh or log in again",
        ),
        other => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", format!("invalid access token: {other}")),
    })?;
    if let Some(why) = state.revocations.refusal(&who) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "token_revoked", format!("token revoked: {why}")));
    }
    Ok(who)
}

/// Who the request's `Authorization: Bearer` token says the caller is — a user or a relay's
/// credential — checked with [`check_token`]; or the 401 to answer.
pub fn bearer_identity(headers: &axum::http::HeaderMap, state: &AppState) -> Result<Identity, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthenticated(
            "missing `Authorization: Bearer <token>` header (POST /api/auth/login issues tokens)",
        ));
    };
    let text = value.to_str().map_err(|_| ApiError::unauthenticated("the Authorization header is not ASCII text"))?;
    let Some(token) = text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")) else {
        return Err(ApiError::unauthenticated("the Authorization header must be `Bearer <token>`"));
    };
    check_token(state, token.trim())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let who = bearer_identity(&parts.headers, state)?;
        if who.relay {
            // A relay forwards its drivers on /ws; it is nobody on the REST API.
            return Err(ApiError::forbidden("a relay's credential is only accepted on /ws as clientType relay"));
        }
        Ok(Auth(who))
    }
}

/// The caller when the request carries a valid bearer token, else nobody: for logout, which
/// must work with an expired or missing access token (the refresh token is what it ends).
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Auth>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeAuth(Auth::from_request_parts(parts, state).await.ok()))
    }
}

impl Auth {
    /// The caller's user id.
    pub fn user_id(&self) -> &str {
        &self.0.user_id
    }

    /// The caller's team.
    pub fn team_id(&self) -> &str {
        &self.0.team_id
    }

    /// The caller's display name (the username).
    pub fn name(&self) -> String {
        self.0.name.clone().unwrap_or_else(|| self.0.user_id.clone())
    }

    /// The caller's role.
    pub fn role(&self) -> UserRole {
        self.0.role
    }

    /// Whether the caller is the deployment's owner (every team is theirs).
    pub fn is_owner(&self) -> bool {
        self.0.owner
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[UserRole], action: &str) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!("{action} needs role {}; you are {}", names.join(" or "), self.0.role)))
        }
    }

    /// 403 unless the caller may see `team_id`: their own team, or any for the deployment's
    /// owner (a team's admin sees only their team).
    pub fn require_team(&self, team_id: &str) -> Result<(), ApiError> {
        if self.0.owner || self.0.team_id == team_id {
            Ok(())
        } else {
            Err(ApiError::forbidden("that belongs to another team"))
        }
    }

    /// The team a request is about: `requested` (checked) or the caller's own.
    pub fn team(&self, requested: Option<&str>) -> Result<String, ApiError> {
        match requested {
            Some(t) => {
                self.require_team(t)?;
                Ok(t.to_string())
            }
            None => Ok(self.0.team_id.clone()),
        }
    }
}

/// The client's address, when the server was started with connect info: the peer, or with
/// trusted proxies the address they forwarded ([`crate::client_ip`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
            return Ok(ClientIp(None));
        };
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes());
        Ok(ClientIp(Some(state.trusted_proxies.client(peer, forwarded))))
    }
}

/// A JSON body; errors name the field (`data.tireWear.frontLeft`) and what was wrong.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

/// Decodes `bytes` as `T` with a precise error.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("body is not valid JSON: {inner}"));
        }
        let msg = inner.to_string();
        // serde reports a missing field at its parent: name the field itself.
        let field = match msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            Some(name) if path == "." => name.to_string(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." => String::new(),
            None => path,
        };
        let msg = match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        ApiError::validation(field, msg)
    })?;
    Ok(value)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("body could not be read: {e}"))
        })?;
        Ok(JsonBody(decode_json(&bytes)?))
    }
}

/// The query string as `T`; errors are `{"error": …}` with the offending parameter as field
/// (`?limit=abc` → `limit`, `?teamId=a&teamId=b` → `teamId`), never axum's text/plain.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

/// Decodes a query string as `T` with a precise error.
pub fn decode_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let named = ["missing field `", "duplicate field `"]
            .iter()
            .find_map(|p| msg.strip_prefix(p).and_then(|r| r.split('`').next()).map(str::to_string));
        let field = match named {
            Some(name) => name,
            None if path == "." => String::new(),
            None => path,
        };
        let text = if msg.starts_with("duplicate field") {
            format!("query parameter `{field}` is given more than once")
        } else {
            format!("bad query parameter `{field}`: {msg}")
        };
        ApiError::validation(field, text)
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        decode_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// Path parameters as `T`; errors are `{"error": …}` on field `path`.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::validation("path", e.body_text())),
        }
    }
}

/// The last line of defence of the error format: a 4xx under `/api` that a layer or axum itself answered
/// as text (405 method not allowed, 413 from a body limit, 415 …) becomes
/// `{"error": {code, message}}` with that text as the message. JSON answers pass untouched.
pub async fn json_errors(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let api = req.uri().path() == "/api" || req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !api || !status.is_client_error() || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).trim().to_string(),
        _ => status.canonical_reason().unwrap_or("request refused").to_string(),
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        _ => "bad_request",
    };
    let mut out = ApiError::new(status, code, text).into_response();
    // Keep what the refusal told the client besides its body (Allow, Retry-After …).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().entry(name.clone()).or_insert(value.clone());
        }
    }
    out
}
