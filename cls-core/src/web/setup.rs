//! What runs once per request, before the inner service, to fill the user's store.

use std::fmt;
use std::marker::PhantomData;

use http::Response;

use crate::web::RequestInfo;

/// Fills the store of a new request, or answers the request itself.
///
/// What [`ClsLayer::setup`](crate::web::ClsLayer::setup) installs; nestjs-cls's `setup`
/// option. `B` is the response body of the service the layer wraps: a rejection is a
/// response that service could have given. Implemented by [`NoSetup`] (the default, which
/// does nothing and costs nothing) and [`SetupFn`].
///
/// # Errors
///
/// The response to send instead of calling the inner service.
///
/// # Examples
///
/// ```
/// use cls_core::web::{NoSetup, RequestInfo, Setup};
///
/// let info = RequestInfo::from_request(&http::Request::get("/").body(())?);
/// let mut store = 0_u32;
/// assert!(Setup::<u32, ()>::setup(&NoSetup, &info, &mut store).is_ok());
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub trait Setup<S, B> {
    /// Fills `store` for the request that `info` describes, or returns the response that
    /// answers it instead.
    ///
    /// # Errors
    ///
    /// The response that answers the request, the inner service not being called.
    fn setup(&self, info: &RequestInfo, store: &mut S) -> Result<(), Response<B>>;
}

/// No setup: the store of every request starts as `S::default()`. The default of
/// [`ClsLayer`](crate::web::ClsLayer), and free: the call is compiled away.
///
/// # Examples
///
/// ```
/// use cls_core::web::{NoSetup, RequestInfo, Setup};
///
/// let info = RequestInfo::from_request(&http::Request::get("/").body(())?);
/// let mut store = String::from("kept");
/// assert!(Setup::<String, ()>::setup(&NoSetup, &info, &mut store).is_ok());
/// assert_eq!(store, "kept");
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSetup;

impl<S, B> Setup<S, B> for NoSetup {
    #[inline]
    fn setup(&self, _info: &RequestInfo, _store: &mut S) -> Result<(), Response<B>> {
        Ok(())
    }
}

/// A setup closure, `Fn(&RequestInfo, &mut S) -> Result<(), http::Response<B>>`, as
/// installed by [`ClsLayer::setup`](crate::web::ClsLayer::setup).
///
/// It names the response body type `B`, so that a closure whose error comes from `?` has
/// its body type decided by the service the layer wraps.
///
/// # Examples
///
/// ```
/// use cls_core::web::{RequestInfo, Setup, SetupFn};
/// use http::{Response, StatusCode};
///
/// let needs_tenant = SetupFn::new(|req: &RequestInfo, tenant: &mut String| {
///     let value = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
///     *tenant = value.ok_or_else(|| {
///         Response::builder().status(StatusCode::FORBIDDEN).body(()).unwrap()
///     })?.to_owned();
///     Ok(())
/// });
/// let info = RequestInfo::from_request(&http::Request::get("/").body(())?);
/// let rejected = needs_tenant.setup(&info, &mut String::new()).unwrap_err();
/// assert_eq!(rejected.status(), StatusCode::FORBIDDEN);
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub struct SetupFn<F, B> {
    f: F,
    // `fn() -> B`: the body is only named, never held, so `SetupFn` is `Send` and `Sync`
    // whenever the closure is.
    body: PhantomData<fn() -> B>,
}

impl<F, B> SetupFn<F, B> {
    /// Wraps a setup closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{RequestInfo, Setup, SetupFn};
    ///
    /// let count = SetupFn::new(|_: &RequestInfo, n: &mut u32| -> Result<(), http::Response<()>> {
    ///     *n += 1;
    ///     Ok(())
    /// });
    /// let info = RequestInfo::from_request(&http::Request::get("/").body(())?);
    /// let mut n = 0;
    /// count.setup(&info, &mut n).unwrap();
    /// assert_eq!(n, 1);
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn new<S>(f: F) -> Self
    where
        F: Fn(&RequestInfo, &mut S) -> Result<(), Response<B>>,
    {
        Self {
            f,
            body: PhantomData,
        }
    }
}

impl<S, B, F> Setup<S, B> for SetupFn<F, B>
where
    F: Fn(&RequestInfo, &mut S) -> Result<(), Response<B>>,
{
    #[inline]
    fn setup(&self, info: &RequestInfo, store: &mut S) -> Result<(), Response<B>> {
        (self.f)(info, store)
    }
}

impl<F: Clone, B> Clone for SetupFn<F, B> {
    fn clone(&self) -> Self {
        Self {
            f: self.f.clone(),
            body: PhantomData,
        }
    }
}

impl<F, B> fmt::Debug for SetupFn<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}
