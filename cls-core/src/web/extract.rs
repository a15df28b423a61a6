//! axum extractors for the request id and the request (feature `axum`).

use std::convert::Infallible;
use std::error::Error;
use std::fmt;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::web::{request, request_id, RequestId, RequestInfo};

/// Extracts the id of the request from its context, as [`request_id`] returns it.
///
/// # Errors
///
/// [`NoRequestContext`] (a 500) when no [`ClsLayer`](crate::web::ClsLayer) is mounted
/// above the handler.
impl<St: Send + Sync> FromRequestParts<St> for RequestId {
    type Rejection = NoRequestContext;

    async fn from_request_parts(_parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        request_id().ok_or(NoRequestContext)
    }
}

/// Extracts the request as the layer took it, or, with no layer above, as it is now.
///
/// The layer's copy is the one [`request`] returns everywhere else in the request: for a
/// handler in a nested router, its URI is the full one.
impl<St: Send + Sync> FromRequestParts<St> for RequestInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        Ok(request().unwrap_or_else(|| RequestInfo::from_parts(parts)))
    }
}

/// The rejection of the [`RequestId`] extractor when the handler runs outside any request
/// context: a `500 Internal Server Error`, since the fix is in the server's setup.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use cls_core::web::NoRequestContext;
///
/// let response = NoRequestContext.into_response();
/// assert_eq!(response.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
/// assert_eq!(
///     NoRequestContext.to_string(),
///     "no request context is active; mount `cls_core::web::ClsLayer` above the handler"
/// );
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoRequestContext;

impl fmt::Display for NoRequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no request context is active; mount `cls_core::web::ClsLayer` above the handler",
        )
    }
}

impl Error for NoRequestContext {}

impl IntoResponse for NoRequestContext {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
