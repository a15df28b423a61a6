//! `ResponseFuture`: the future of a `ClsService` call.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context as TaskContext, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::web::service::Finish;
use crate::web::ClsBody;
use crate::Scoped;

pin_project! {
    /// The response future of [`ClsService`](crate::web::ClsService): polls the inner
    /// service's future inside the request's context, then hands that context to the
    /// response body and puts the id on the response.
    ///
    /// Dropping it before it completes drops the inner future inside the context, as a
    /// cancelled [`Scoped`] future does.
    #[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        finish: Finish,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // The request's own context, opened by this layer.
        Scoped { #[pin] future: Scoped<F> },
        // Below a layer of the same store type, whose future and body carry the context.
        Nested { #[pin] future: F },
        // The setup answered; taken when polled.
        Rejected { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn scoped(future: Scoped<F>, finish: Finish) -> Self {
        Self {
            state: State::Scoped { future },
            finish,
        }
    }

    pub(crate) fn nested(future: F) -> Self {
        Self {
            state: State::Nested { future },
            finish: Finish::default(),
        }
    }

    pub(crate) fn rejected(response: Response<B>, finish: Finish) -> Self {
        Self {
            state: State::Rejected {
                response: Some(response),
            },
            finish,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ClsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.state.project() {
            StateProj::Scoped { mut future } => {
                let response = ready!(future.as_mut().poll(cx))?;
                this.finish.finish(response, future.take_context())
            }
            StateProj::Nested { future } => this.finish.finish(ready!(future.poll(cx))?, None),
            StateProj::Rejected { response } => {
                let response = response
                    .take()
                    .expect("`ResponseFuture` polled after completion");
                this.finish.finish(response, None)
            }
        };
        Poll::Ready(Ok(response))
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Scoped { .. } => "Scoped",
            State::Nested { .. } => "Nested",
            State::Rejected { .. } => "Rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .field("id", &self.finish.echo.as_ref().map(|(_, id)| id))
            .finish()
    }
}
