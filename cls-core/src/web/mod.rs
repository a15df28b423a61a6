//! Request ids and request metadata for tower services (axum, hyper, tonic).
//!
//! - [`RequestId`]: printable, cheap to clone, convertible to a header value at no cost.
//! - [`Trust`]: which inbound ids to keep. The default, [`Trust::IfValid`], keeps 1 to 128
//!   characters of `[A-Za-z0-9._:-]` from a header sent once.

#![cfg_attr(docsrs, doc(cfg(feature = "tower")))]

mod request_id;

pub use self::request_id::{InvalidRequestId, RequestId, Trust, X_REQUEST_ID};
