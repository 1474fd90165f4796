//! Error responses: a status, an [`ErrorCode`] and a message in Portuguese, as [`ErrorBody`].

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vistoria_core::wire::{ErrorBody, ErrorCode};

use crate::storage::StorageError;

/// An error the API answers with.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: ErrorBody,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code,
                error: message.into(),
                field: None,
                file: None,
                received: None,
            },
            retry_after: None,
        }
    }

    /// 400 naming the field at fault.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidField, message);
        e.body.field = Some(field.into());
        e
    }

    /// Names the request field at fault.
    pub fn with_field(mut self, field: &str) -> ApiError {
        self.body.field = Some(field.to_owned());
        self
    }

    /// Names the media file at fault.
    pub fn with_file(mut self, name: impl Into<String>) -> ApiError {
        self.body.file = Some(name.into());
        self
    }

    /// 500, logging the cause; the client learns nothing of it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "erro interno");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "erro interno do servidor central; tente novamente mais tarde",
        )
    }

    /// 404 for an unknown or foreign inspection.
    pub fn inspection_not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::InspectionNotFound,
            "vistoria não encontrada no servidor central",
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
