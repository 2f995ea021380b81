//! The API's one error type and the extractors that turn every bad input into it.
//!
//! Every failure leaves as JSON, `{"error": {"code", "message", "field"}}`: axum's own plain-text
//! rejections are caught by [`ApiQuery`] and [`ApiPath`], unknown routes by the router's fallbacks.

use axum::{
    Json,
    extract::{FromRequestParts, Path, Query},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong.
    error: ErrorDetail,
}

/// What went wrong, for programs (`code`, `field`) and people (`message`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable code: `invalid_address`, `invalid_number`, `invalid_amount`, `invalid_value`,
    /// `limit_out_of_range`, `unknown_sort`, `invalid_cursor`, `invalid_query`, `not_found`,
    /// `method_not_allowed`, `internal`.
    #[schema(example = "invalid_address")]
    code: String,
    /// A sentence saying what to change.
    message: String,
    /// The query or path parameter at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "provider")]
    field: Option<String>,
}

/// An error response: a status and an [`ErrorBody`].
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<&'static str>,
}

impl ApiError {
    /// A 400 naming the parameter at fault.
    pub(crate) fn bad(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            field: Some(field),
        }
    }

    /// A 404 for an id or address nothing is known about.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
        }
    }

    /// A 405.
    pub(crate) fn method_not_allowed() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "this API only answers GET".to_owned(),
            field: None,
        }
    }

    /// A 500: the cause goes to the log, the client learns little.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "API request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error; the server log has the cause".to_owned(),
            field: None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(format_args!("database: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field.map(str::to_owned),
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// `Query<T>` whose rejection is an [`ApiError`]. Query structs hold strings only, so the only
/// rejection left is a malformed query string (e.g. a parameter given twice); values are checked
/// afterwards, parameter by parameter, so each error names its field.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_query",
                message: rejection.body_text(),
                field: None,
            }),
        }
    }
}

/// `Path<T>` whose rejection is an [`ApiError`] naming `id`.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad("id", "invalid_value", rejection.body_text())),
        }
    }
}
