//! How the layer makes an id for a request that brought none it may keep.

use crate::web::{uuid_v4, RequestId, RequestInfo};

/// Makes the id of a request whose inbound id was missing or refused.
///
/// Implemented by every `Fn(&RequestInfo) -> RequestId` (what
/// [`ClsLayer::id_generator`](crate::web::ClsLayer::id_generator) takes) and by
/// [`MakeUuidV4`], the default. Like tower-http's `MakeRequestId`, but it sees the request
/// through [`RequestInfo`] and cannot fail: an id generator always has an answer.
///
/// # Examples
///
/// ```
/// use cls_core::web::{MakeRequestId, RequestId, RequestInfo};
///
/// let by_method = |info: &RequestInfo| RequestId::new(&format!("{}-1", info.method())).unwrap();
/// let info = RequestInfo::from_request(&http::Request::post("/").body(())?);
/// assert_eq!(by_method.make_request_id(&info).as_str(), "POST-1");
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub trait MakeRequestId {
    /// The id of the request that `info` describes.
    fn make_request_id(&self, info: &RequestInfo) -> RequestId;
}

impl<F> MakeRequestId for F
where
    F: Fn(&RequestInfo) -> RequestId,
{
    #[inline]
    fn make_request_id(&self, info: &RequestInfo) -> RequestId {
        self(info)
    }
}

/// The default id generator of the layer: a random UUID v4 from [`uuid_v4`], with no
/// system call per id.
///
/// # Examples
///
/// ```
/// use cls_core::web::{MakeRequestId, MakeUuidV4, RequestInfo};
///
/// let info = RequestInfo::from_request(&http::Request::get("/").body(())?);
/// let id = MakeUuidV4.make_request_id(&info);
/// assert_eq!(id.as_str().len(), 36);
/// assert_ne!(id, MakeUuidV4.make_request_id(&info));
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeUuidV4;

impl MakeRequestId for MakeUuidV4 {
    #[inline]
    fn make_request_id(&self, _info: &RequestInfo) -> RequestId {
        uuid_v4()
    }
}
