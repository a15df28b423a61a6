//! `setup_async`: a setup that awaits (a token check, a database read), run inside the new
//! context, and the future that runs it before the inner service.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::web::baggage::fill_from_baggage;
use crate::web::scope::{awaits_response, REQUEST};
use crate::web::service::Finish;
use crate::web::{ClsBody, ClsService, MakeRequestId, RequestInfo};
use crate::{Cls, ClsStore, Scoped};

/// An async setup closure, `Fn(RequestInfo) -> impl Future<Output = Result<(),
/// http::Response<B>>>`, as installed by
/// [`ClsLayer::setup_async`](crate::web::ClsLayer::setup_async).
///
/// Unlike a [`SetupFn`](crate::web::SetupFn), it gets no `&mut S`: its future runs inside
/// the request's new context and writes the store with [`Cls::set`], and its logs carry
/// the request id.
///
/// # Examples
///
/// See [`ClsLayer::setup_async`](crate::web::ClsLayer::setup_async).
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub struct AsyncSetupFn<F, B> {
    f: F,
    // Only named, never held: `Send` and `Sync` follow the closure's.
    body: PhantomData<fn() -> B>,
}

impl<F, B> AsyncSetupFn<F, B> {
    pub(crate) fn new(f: F) -> Self {
        Self {
            f,
            body: PhantomData,
        }
    }
}

impl<F: Clone, B> Clone for AsyncSetupFn<F, B> {
    fn clone(&self) -> Self {
        Self::new(self.f.clone())
    }
}

impl<F, B> fmt::Debug for AsyncSetupFn<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSetupFn")
            .field("f", &std::any::type_name::<F>())
            .finish()
    }
}

impl<T, S, G, F, Fut, ReqBody, ResBody> Service<Request<ReqBody>>
    for ClsService<T, S, G, AsyncSetupFn<F, ResBody>>
where
    T: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    S: ClsStore + Default,
    G: MakeRequestId,
    F: Fn(RequestInfo) -> Fut,
    Fut: Future<Output = Result<(), Response<ResBody>>>,
{
    type Response = Response<ClsBody<ResBody>>;
    type Error = T::Error;
    type Future = SetupFuture<T, Request<ReqBody>, Fut, ResBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The inner service is called once the setup is done: take the one that is ready,
        // leave a clone for the next call (tower's usual move for work before `call`).
        let clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, clone);
        let cls = Cls::<S>::new();
        if cls.is_active() && REQUEST.is_active() {
            let mut service = service;
            if awaits_response() {
                // Below a layer of the same store type, whose future and body wrap ours.
                return SetupFuture::nested(service.call(request));
            }
            // Below a scope and a store opened by hand: both are kept, with a queue for
            // the `after` work of this layer's response.
            let (mut around, _, finish) = self.open_request(&mut request);
            let future = around.enter_sync(|| service.call(request));
            return SetupFuture::running(around.run(future), finish);
        }
        let (around, info, finish) = self.open_request(&mut request);
        let mut store = S::default();
        fill_from_baggage(request.headers(), &mut store);
        let context = around.join(cls.context(store));
        let setup = context.run((self.setup.f)(info));
        SetupFuture::setup(setup, service, request, finish)
    }
}

pin_project! {
    /// The response future of a [`ClsService`] with an async setup: runs the setup inside
    /// the request's new context, then calls the inner service in the same context and
    /// continues as [`ResponseFuture`](crate::web::ResponseFuture) does.
    ///
    /// Dropped before the end (the client went away), it drops the setup or the inner
    /// future inside the context.
    #[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
    pub struct SetupFuture<T, Req, Fut, B>
    where
        T: Service<Req>,
    {
        #[pin]
        state: State<T, Req, Fut, B>,
        finish: Finish,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<T, Req, Fut, B>
    where
        T: Service<Req>,
    {
        Setup { #[pin] setup: Scoped<Fut>, service: Option<T>, request: Option<Req>, body: PhantomData<fn() -> B> },
        Running { #[pin] future: Scoped<T::Future> },
        Nested { #[pin] future: T::Future },
    }
}

impl<T: Service<Req>, Req, Fut, B> SetupFuture<T, Req, Fut, B> {
    fn setup(setup: Scoped<Fut>, service: T, request: Req, finish: Finish) -> Self {
        Self {
            state: State::Setup {
                setup,
                service: Some(service),
                request: Some(request),
                body: PhantomData,
            },
            finish,
        }
    }

    fn running(future: Scoped<T::Future>, finish: Finish) -> Self {
        Self {
            state: State::Running { future },
            finish,
        }
    }

    fn nested(future: T::Future) -> Self {
        Self {
            state: State::Nested { future },
            finish: Finish::default(),
        }
    }
}

impl<T, Req, Fut, B> Future for SetupFuture<T, Req, Fut, B>
where
    T: Service<Req, Response = Response<B>>,
    Fut: Future<Output = Result<(), Response<B>>>,
{
    type Output = Result<Response<ClsBody<B>>, T::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let response = match this.state.as_mut().project() {
                StateProj::Setup {
                    mut setup,
                    service,
                    request,
                    ..
                } => {
                    let outcome = ready!(setup.as_mut().poll(cx));
                    let mut context = setup.take_context().unwrap_or_default();
                    match outcome {
                        // The context ends here; its `after` work starts with the body.
                        Err(rejection) => this.finish.finish(rejection, None),
                        Ok(()) => {
                            let mut service = service.take().expect("set until the setup ends");
                            let request = request.take().expect("set until the setup ends");
                            let future = context.enter_sync(|| service.call(request));
                            this.state.set(State::Running {
                                future: context.run(future),
                            });
                            continue;
                        }
                    }
                }
                StateProj::Running { mut future } => {
                    let response = ready!(future.as_mut().poll(cx))?;
                    this.finish.finish(response, future.take_context())
                }
                StateProj::Nested { future } => this.finish.finish(ready!(future.poll(cx))?, None),
            };
            return Poll::Ready(Ok(response));
        }
    }
}

impl<T: Service<Req>, Req, Fut, B> fmt::Debug for SetupFuture<T, Req, Fut, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Setup { .. } => "Setup",
            State::Running { .. } => "Running",
            State::Nested { .. } => "Nested",
        };
        f.debug_struct("SetupFuture")
            .field("state", &state)
            .field("id", &self.finish.echo.as_ref().map(|(_, id)| id))
            .finish()
    }
}
