//! The one error type of the HTTP API: a status, a machine-readable code, a message and, for
//! bad input, the offending field. Serialised as `{"error": {"code", "message", "field"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// An API failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (`validation_failed`, `unauthenticated`, `forbidden` …).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// JSON path of the offending field, when the input was at fault.
    pub field: Option<String>,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// A failure with no field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// 400 `validation_failed` on `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "validation_failed",
            message: message.into(),
            field: Some(field.into()),
            retry_after: None,
        }
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 500 `internal_error`; the detail is logged, not returned.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the server failed; retry later")
    }

    /// 501 `not_implemented`: a part of the API that is not built yet.
    pub fn not_built(what: &str) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", format!("{what} is not built yet"))
    }

    /// From the model's validation errors (the first broken rule decides the field).
    pub fn from_validation(errors: &pitbox_model::ValidationErrors) -> Self {
        match errors.first() {
            Some(first) => {
                let mut e = Self::validation(first.field.clone(), errors.to_string());
                e.message = errors.to_string();
                e
            }
            None => Self::validation("", "invalid input"),
        }
    }
}

impl From<crate::accounts::AccountError> for ApiError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError;
        match e {
            AccountError::Invalid(errors) => ApiError::from_validation(&errors),
            AccountError::NotFound(what) => ApiError::not_found(what),
            AccountError::Conflict(what) => ApiError::conflict(what),
            AccountError::Forbidden(why) => ApiError::forbidden(why),
            AccountError::Hash(detail) => ApiError::internal(detail),
            AccountError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(what) => ApiError::conflict(what),
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Inner { code: self.code, message: &self.message, field: self.field.as_deref() } };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
