//! What is known about a request when its context opens.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use http::request::Parts;
use http::{Extensions, HeaderMap, Method, Request, Uri, Version};

use crate::web::after::Pending;

/// The method, URI, version and headers of a request, with the route it matched and the
/// peer address when the server recorded them.
///
/// A snapshot taken when the request arrives, so that code deep in a handler, or an id
/// generator, can see what request it serves. Unlike `http::request::Parts`, it is cheap to
/// clone (one reference count) and it leaves the extensions and the body behind, so
/// keeping it in a context keeps no request-scoped objects alive.
///
/// Its `Debug` output lists header names only: values such as `authorization` or `cookie`
/// never reach a log through it.
///
/// # Examples
///
/// ```
/// use cls_core::web::RequestInfo;
/// use http::{Method, Request};
///
/// let request = Request::post("/orders?page=2")
///     .header("content-type", "application/json")
///     .body(())?;
/// let info = RequestInfo::from_request(&request);
/// assert_eq!(info.method(), Method::POST);
/// assert_eq!(info.uri().path(), "/orders");
/// assert_eq!(info.headers()["content-type"], "application/json");
/// assert_eq!(info.matched_path(), None); // no router ran
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone)]
pub struct RequestInfo(Arc<Inner>);

struct Inner {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    #[cfg(feature = "axum")]
    matched_path: Option<axum::extract::MatchedPath>,
    remote_addr: Option<SocketAddr>,
    /// The request's `after` work, when the layer made this for the request it serves
    /// (in the same allocation as the rest); closed otherwise.
    after: Pending,
}

impl RequestInfo {
    /// Takes what a context keeps from the head of a request.
    ///
    /// The method, URI and headers are cloned (a header value's bytes are shared, not
    /// copied); with the `axum` feature, the route pattern and peer address are read from
    /// the extensions.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::RequestInfo;
    ///
    /// let (parts, _body) = http::Request::get("/health").body(())?.into_parts();
    /// let info = RequestInfo::from_parts(&parts);
    /// assert_eq!(info.uri(), "/health");
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn from_parts(parts: &Parts) -> Self {
        Self::from_head(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            &parts.extensions,
            Pending::default(),
        )
    }

    /// Takes what a context keeps from a request, leaving its body alone.
    ///
    /// Also the way to describe work that is not an HTTP request, for an id generator or
    /// code that reads the context: a queue consumer or a test builds a request that stands
    /// for the job, with `http::Request::builder()` and an extension method.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::RequestInfo;
    /// use http::{Method, Request};
    ///
    /// let job = Request::builder()
    ///     .method(Method::from_bytes(b"JOB")?)
    ///     .uri("/jobs/nightly-export")
    ///     .body(())?;
    /// let info = RequestInfo::from_request(&job);
    /// assert_eq!(info.method().as_str(), "JOB");
    /// assert_eq!(info.uri().path(), "/jobs/nightly-export");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_request<B>(request: &Request<B>) -> Self {
        Self::from_head(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            request.extensions(),
            Pending::default(),
        )
    }

    /// [`from_request`](RequestInfo::from_request), with an open queue for the `after`
    /// work of the request: what the layer keeps for a request it serves.
    pub(crate) fn with_after_queue<B>(request: &Request<B>) -> Self {
        Self::from_head(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            request.extensions(),
            Pending::open(),
        )
    }

    /// The queue of `after` work this holds; closed unless made by
    /// [`with_after_queue`](RequestInfo::with_after_queue).
    pub(crate) fn after_queue(&self) -> &Pending {
        &self.0.after
    }

    #[cfg_attr(not(feature = "axum"), allow(unused_variables))]
    fn from_head(
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
        extensions: &Extensions,
        after: Pending,
    ) -> Self {
        #[cfg(feature = "axum")]
        let remote_addr = extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        #[cfg(not(feature = "axum"))]
        let remote_addr = None;
        Self(Arc::new(Inner {
            method: method.clone(),
            uri: uri.clone(),
            version,
            headers: headers.clone(),
            #[cfg(feature = "axum")]
            matched_path: extensions.get::<axum::extract::MatchedPath>().cloned(),
            remote_addr,
            after,
        }))
    }

    /// The request method.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::web::RequestInfo;
    /// let info = RequestInfo::from_request(&http::Request::delete("/orders/7").body(())?);
    /// assert_eq!(info.method(), http::Method::DELETE);
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn method(&self) -> &Method {
        &self.0.method
    }

    /// The request URI as the server saw it: for HTTP/1.1 usually the path and query only.
    ///
    /// Inside an axum router nested with `Router::nest`, this is the full URI even when
    /// the handler's own `Uri` extractor sees the nested remainder.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::web::RequestInfo;
    /// let info = RequestInfo::from_request(&http::Request::get("/a/b?x=1").body(())?);
    /// assert_eq!(info.uri().query(), Some("x=1"));
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.0.uri
    }

    /// The HTTP version of the request.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::web::RequestInfo;
    /// let request = http::Request::get("/").version(http::Version::HTTP_2).body(())?;
    /// assert_eq!(RequestInfo::from_request(&request).version(), http::Version::HTTP_2);
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn version(&self) -> Version {
        self.0.version
    }

    /// The request headers, as they arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::web::RequestInfo;
    /// let request = http::Request::get("/").header("x-tenant", "acme").body(())?;
    /// assert_eq!(RequestInfo::from_request(&request).headers()["x-tenant"], "acme");
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// The route pattern the request matched, such as `/users/{id}`: a label for logs and
    /// metrics that does not grow with the number of users.
    ///
    /// Read from axum's `MatchedPath` extension (feature `axum`). `None` without the
    /// feature, and when the information was taken before routing: a layer added with
    /// `Router::layer` or `route_layer` runs after routing and sees it, one wrapped around
    /// the whole router does not. Fallbacks have no matched path.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::web::RequestInfo;
    /// let info = RequestInfo::from_request(&http::Request::get("/users/7").body(())?);
    /// assert_eq!(info.matched_path(), None); // no router ran
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn matched_path(&self) -> Option<&str> {
        #[cfg(feature = "axum")]
        return self.0.matched_path.as_ref().map(|path| path.as_str());
        #[cfg(not(feature = "axum"))]
        return None;
    }

    /// The address of the peer that sent the request.
    ///
    /// Read from axum's `ConnectInfo<SocketAddr>` extension (feature `axum`), which axum
    /// adds when the app is served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`. Behind a proxy this is the
    /// proxy's address; the client's is in the headers the proxy sets. `None` without the
    /// feature or the extension.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::web::RequestInfo;
    /// let info = RequestInfo::from_request(&http::Request::get("/").body(())?);
    /// assert_eq!(info.remote_addr(), None);
    /// # Ok::<(), http::Error>(())
    /// ```
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.0.remote_addr
    }
}

impl fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Header names only: the values may be credentials.
        struct Names<'a>(&'a HeaderMap);

        impl fmt::Debug for Names<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.keys()).finish()
            }
        }

        f.debug_struct("RequestInfo")
            .field("method", self.method())
            .field("uri", self.uri())
            .field("version", &self.version())
            .field("header_names", &Names(self.headers()))
            .field("matched_path", &self.matched_path())
            .field("remote_addr", &self.remote_addr())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request<String> {
        Request::put("https://example.test/orders/7?dry_run=1")
            .version(Version::HTTP_11)
            .header("authorization", "Bearer secret-token")
            .header("cookie", "session=secret-cookie")
            .header("x-tenant", "acme")
            .body("a body the info must not keep".to_owned())
            .unwrap()
    }

    #[test]
    fn from_request_and_from_parts_agree() {
        let request = request();
        let a = RequestInfo::from_request(&request);
        let (parts, _) = request.into_parts();
        let b = RequestInfo::from_parts(&parts);
        for info in [a, b] {
            assert_eq!(info.method(), Method::PUT);
            assert_eq!(info.uri(), "https://example.test/orders/7?dry_run=1");
            assert_eq!(info.version(), Version::HTTP_11);
            assert_eq!(info.headers().len(), 3);
            assert_eq!(info.headers()["x-tenant"], "acme");
            assert_eq!(info.remote_addr(), None);
            assert_eq!(info.matched_path(), None);
        }
    }

    #[test]
    fn debug_shows_header_names_but_no_values() {
        let info = RequestInfo::from_request(&request());
        let debug = format!("{info:?}");
        assert!(debug.contains("\"authorization\""), "{debug}");
        assert!(debug.contains("\"x-tenant\""), "{debug}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(!debug.contains("acme"), "{debug}");
        assert!(debug.contains("PUT"), "{debug}");
    }

    #[test]
    fn clones_share_one_snapshot() {
        let info = RequestInfo::from_request(&request());
        let copy = info.clone();
        assert!(std::ptr::eq(info.headers(), copy.headers()));
    }

    #[test]
    fn later_changes_to_the_request_are_not_seen() {
        let mut request = request();
        let info = RequestInfo::from_request(&request);
        request
            .headers_mut()
            .insert("x-tenant", "other".parse().unwrap());
        *request.uri_mut() = "/elsewhere".parse().unwrap();
        assert_eq!(info.headers()["x-tenant"], "acme");
        assert_eq!(info.uri().path(), "/orders/7");
    }

    #[cfg(feature = "axum")]
    #[test]
    fn axum_extensions_give_the_route_and_the_peer() {
        use axum::extract::ConnectInfo;

        let peer: SocketAddr = "203.0.113.9:51234".parse().unwrap();
        let mut request = request();
        request.extensions_mut().insert(ConnectInfo(peer));
        let info = RequestInfo::from_request(&request);
        assert_eq!(info.remote_addr(), Some(peer));
        // `MatchedPath` cannot be built outside axum; `axum_router_sets_the_matched_path`
        // covers it through a real router.
        assert_eq!(info.matched_path(), None);
    }

    #[cfg(feature = "axum")]
    #[tokio::test(flavor = "current_thread")]
    async fn axum_router_sets_the_matched_path() {
        use axum::extract::Request as AxumRequest;
        use axum::routing::get;
        use tower::ServiceExt;

        async fn route_of(request: AxumRequest) -> String {
            let info = RequestInfo::from_request(&request);
            format!("{:?}", info.matched_path())
        }

        let app = axum::Router::new()
            .route("/users/{id}", get(route_of))
            .fallback(route_of);
        let mut answers = Vec::new();
        for uri in ["/users/7", "/nowhere"] {
            let request = Request::get(uri).body(axum::body::Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            answers.push(String::from_utf8(body.to_vec()).unwrap());
        }
        assert_eq!(answers, ["Some(\"/users/{id}\")", "None"]);
    }
}
