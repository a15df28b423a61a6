//! Request ids and request metadata for tower services (axum, hyper, tonic).
//!
//! - [`RequestId`]: printable, cheap to clone, convertible to a header value at no cost.
//! - [`Trust`]: which inbound ids to keep. The default, [`Trust::IfValid`], keeps 1 to 128
//!   characters of `[A-Za-z0-9._:-]` from a header sent once.
//! - [`uuid_v4`] and [`uuid_v7`]: fresh ids from a thread-local CSPRNG, with no system call
//!   per id.

#![cfg_attr(docsrs, doc(cfg(feature = "tower")))]

mod id_gen;
mod request_id;

pub use self::id_gen::{uuid_v4, uuid_v7};
pub use self::request_id::{InvalidRequestId, RequestId, Trust, X_REQUEST_ID};
