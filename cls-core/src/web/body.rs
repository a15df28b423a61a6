//! `ClsBody`: a response body polled inside its request's context.

use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::web::after::Afterwards;
use crate::Context;

pin_project! {
    /// The response body of [`ClsService`](crate::web::ClsService): the inner service's
    /// body, polled inside the live context of its request.
    ///
    /// A server polls a body after every middleware future has returned, so a body
    /// produced by a stream (server-sent events, a `Body::from_stream`) would otherwise
    /// run with no context. Each [`poll_frame`](Body::poll_frame) enters the request's
    /// context, the same one the handler ran in: a `set` made while one frame is produced
    /// is seen by the next. The inner body is dropped inside the context too, so its
    /// destructors see it: as soon as it has sent its last frame, or with the wrapper
    /// when the client went away mid-stream.
    ///
    /// Frames pass through untouched, trailers included (a gRPC status), and
    /// [`size_hint`](Body::size_hint) and [`is_end_stream`](Body::is_end_stream) are the
    /// inner body's, so a response with a `Content-Length` keeps it.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::ClsBody;
    /// use http_body::Body;
    ///
    /// let body = ClsBody::outside(String::from("hello"));
    /// assert_eq!(body.size_hint().exact(), Some(5));
    /// assert!(!body.is_end_stream());
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
    pub struct ClsBody<B> {
        #[pin]
        inner: Option<B>,
        context: Option<Context>,
        // Starts the request's `after` work when dropped: set at the end of the stream,
        // or when the body is dropped, after the fields above.
        after: Option<Afterwards>,
    }

    impl<B> PinnedDrop for ClsBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut inner = this.inner;
            if inner.is_none() {
                // Dropped at the end of its stream already.
                return;
            }
            if let Some(context) = this.context.as_mut() {
                context.enter_sync(|| inner.set(None));
            }
        }
    }
}

impl<B> ClsBody<B> {
    /// Wraps `body` so that it is polled and dropped inside `context`; `None` leaves it
    /// as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::ClsBody;
    /// use cls_core::{path, Cls, ClsStore};
    /// use http_body_util::BodyExt;
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     frames: u32,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let stream = futures_util::stream::iter(0..3).map(|_| {
    ///     let n = CLS.update::<path!(frames), _>(|n| { *n += 1; *n });
    ///     Ok::<_, std::convert::Infallible>(http_body::Frame::data(bytes::Bytes::from(n.to_string())))
    /// });
    /// let body = ClsBody::new(http_body_util::StreamBody::new(stream), Some(CLS.context(AppStore::default())));
    /// assert_eq!(body.collect().await.unwrap().to_bytes(), "123");
    /// # }
    /// # use futures_util::StreamExt;
    /// ```
    pub fn new(body: B, context: Option<Context>) -> Self {
        Self {
            inner: Some(body),
            context,
            after: None,
        }
    }

    /// The body, which starts the request's `after` work once it has sent its last frame
    /// or is dropped.
    pub(crate) fn with_after(mut self, after: Option<Afterwards>) -> Self {
        self.after = after;
        self
    }

    /// Wraps `body` without a context: what the layer returns for a setup rejection and
    /// below another layer of the same store type, whose own body carries the context.
    ///
    /// # Examples
    ///
    /// See [`ClsBody`].
    pub fn outside(body: B) -> Self {
        Self::new(body, None)
    }
}

impl<B: Body> Body for ClsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        if inner.is_none() {
            return Poll::Ready(None);
        }
        let mut poll = || {
            let frame = match inner.as_mut().as_pin_mut() {
                Some(body) => body.poll_frame(cx),
                None => Poll::Ready(None),
            };
            if let Poll::Ready(None) = frame {
                // The stream is over: the inner body is dropped now, still inside the
                // context, rather than by a second entry when this wrapper is dropped.
                inner.set(None);
            }
            frame
        };
        let frame = match this.context {
            Some(context) => context.enter_sync(poll),
            None => poll(),
        };
        if let Poll::Ready(None) = frame {
            // The response is done: its `after` work need not wait for the body's drop.
            drop(this.after.take());
        }
        frame
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) => inner.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

impl<B: Default> Default for ClsBody<B> {
    fn default() -> Self {
        Self::outside(B::default())
    }
}

impl<B: fmt::Debug> fmt::Debug for ClsBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClsBody")
            .field("inner", &self.inner)
            .field("context", &self.context)
            .field("after", &self.after)
            .finish()
    }
}
