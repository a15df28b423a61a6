//! W3C Trace Context through the web layer: the inbound `traceparent` read exactly, the
//! trace id as the request id on request, and a child sent on outbound calls.

use std::convert::Infallible;

use cls_core::web::{self, ClsLayer, PropagateLayer, RequestId};
use cls_core::ClsStore;
use http::{HeaderMap, Request, Response};
use http_body_util::BodyExt;
use tower::{service_fn, Layer, ServiceExt};

#[derive(ClsStore, Clone, Default)]
struct TraceStore {
    tenant: String,
}

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Serves one request through a `ClsLayer`; the handler answers with what it saw:
/// `request id|trace id|parent id|sampled|tracestate`.
async fn seen_by_handler(
    layer: ClsLayer<TraceStore>,
    headers: &[(&str, &str)],
) -> (String, String) {
    let service = layer.layer(service_fn(|_: Request<()>| async {
        let id = web::request_id().unwrap();
        let seen = match web::trace_context() {
            Some(trace) => format!(
                "{id}|{}|{}|{}|{}",
                trace.trace_id(),
                trace.parent_id(),
                trace.sampled(),
                trace.tracestate().unwrap_or("-")
            ),
            None => format!("{id}|none"),
        };
        Ok::<_, Infallible>(Response::new(seen))
    }));
    let mut request = Request::get("/");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = service.oneshot(request.body(()).unwrap()).await.unwrap();
    let echoed = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (echoed, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn a_valid_traceparent_is_readable_below_the_layer() {
    let (_, seen) = seen_by_handler(
        ClsLayer::new(),
        &[
            ("x-request-id", "r-1"),
            ("traceparent", PARENT),
            ("tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        ],
    )
    .await;
    assert_eq!(
        seen,
        format!("r-1|{TRACE_ID}|00f067aa0ba902b7|true|rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn invalid_or_repeated_traceparents_are_ignored() {
    let invalid = [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "",
        "garbage",
    ];
    for value in invalid {
        let (_, seen) = seen_by_handler(
            ClsLayer::new(),
            &[("x-request-id", "r-2"), ("traceparent", value)],
        )
        .await;
        assert_eq!(seen, "r-2|none", "{value:?}");
    }
    let (_, seen) = seen_by_handler(
        ClsLayer::new(),
        &[
            ("x-request-id", "r-3"),
            ("traceparent", PARENT),
            ("traceparent", PARENT),
        ],
    )
    .await;
    assert_eq!(seen, "r-3|none");
}

#[tokio::test(flavor = "current_thread")]
async fn a_future_version_with_extra_fields_is_read_and_a_bad_tracestate_dropped() {
    let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes-next";
    let (_, seen) = seen_by_handler(
        ClsLayer::new(),
        &[
            ("x-request-id", "r-4"),
            ("traceparent", future),
            ("tracestate", "not a valid state"),
        ],
    )
    .await;
    assert_eq!(seen, format!("r-4|{TRACE_ID}|00f067aa0ba902b7|false|-"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_trace_id_becomes_the_request_id_only_when_asked_and_no_id_was_kept() {
    let layer = || ClsLayer::<TraceStore>::new().request_id_from_trace(true);

    let (echoed, seen) = seen_by_handler(layer(), &[("traceparent", PARENT)]).await;
    assert_eq!(echoed, TRACE_ID);
    assert!(seen.starts_with(&format!("{TRACE_ID}|{TRACE_ID}|")));

    let (echoed, _) = seen_by_handler(
        layer(),
        &[("x-request-id", "kept-1"), ("traceparent", PARENT)],
    )
    .await;
    assert_eq!(echoed, "kept-1");

    let (echoed, _) = seen_by_handler(
        layer(),
        &[("x-request-id", "bad id"), ("traceparent", PARENT)],
    )
    .await;
    assert_eq!(echoed, TRACE_ID, "a refused id gives way to the trace id");

    let (echoed, _) = seen_by_handler(layer(), &[("traceparent", "garbage")]).await;
    assert_eq!(echoed.len(), 36, "no valid trace: a generated id");

    let (echoed, _) = seen_by_handler(ClsLayer::new(), &[("traceparent", PARENT)]).await;
    assert_eq!(echoed.len(), 36, "off by default");
}

/// What an outbound call through `PropagateLayer` sends, made inside a request that came
/// with `inbound` headers, with `outbound` headers set by the caller.
async fn sent_outbound(inbound: &[(&str, &str)], outbound: &[(&str, &str)]) -> HeaderMap {
    let client = PropagateLayer::new().layer(service_fn(|request: Request<()>| async move {
        Ok::<_, Infallible>(request.headers().clone())
    }));
    let outbound: Vec<(String, String)> = outbound
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let (to, mut sent) = tokio::sync::mpsc::unbounded_channel();
    let server = ClsLayer::<TraceStore>::new().layer(service_fn(move |_: Request<()>| {
        let client = client.clone();
        let outbound = outbound.clone();
        let to = to.clone();
        async move {
            let mut request = Request::get("/next");
            for (name, value) in &outbound {
                request = request.header(name, value);
            }
            to.send(client.oneshot(request.body(()).unwrap()).await?)
                .unwrap();
            Ok::<_, Infallible>(Response::new(String::new()))
        }
    }));
    let mut request = Request::get("/");
    for (name, value) in inbound {
        request = request.header(*name, *value);
    }
    server.oneshot(request.body(()).unwrap()).await.unwrap();
    sent.recv().await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn outbound_calls_carry_a_child_traceparent_and_the_tracestate() {
    let sent = sent_outbound(
        &[
            ("x-request-id", "r-5"),
            ("traceparent", PARENT),
            ("tracestate", "rojo=00f067aa0ba902b7"),
        ],
        &[],
    )
    .await;
    assert_eq!(sent["x-request-id"], "r-5");
    let parent = sent["traceparent"].to_str().unwrap();
    let fields: Vec<&str> = parent.split('-').collect();
    assert_eq!(fields.len(), 4, "{parent}");
    assert_eq!((fields[0], fields[1], fields[3]), ("00", TRACE_ID, "01"));
    assert_ne!(fields[2], "00f067aa0ba902b7", "a new parent id");
    assert_eq!(fields[2].len(), 16);
    assert_eq!(sent["tracestate"], "rojo=00f067aa0ba902b7");
}

#[tokio::test(flavor = "current_thread")]
async fn outbound_calls_keep_their_own_traceparent_and_send_none_without_an_inbound_one() {
    let own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let sent = sent_outbound(&[("traceparent", PARENT)], &[("traceparent", own)]).await;
    assert_eq!(sent["traceparent"], own);
    assert!(!sent.contains_key("tracestate"));

    let sent = sent_outbound(&[("traceparent", "garbage")], &[]).await;
    assert!(
        !sent.contains_key("traceparent"),
        "an invalid one is never echoed"
    );
    assert!(!sent.contains_key("tracestate"));

    let job = web::job_context(Some(RequestId::from_static("job-1")));
    let client = PropagateLayer::new().layer(service_fn(|request: Request<()>| async move {
        Ok::<_, Infallible>(request.headers().clone())
    }));
    let sent = job
        .run(client.oneshot(Request::get("/").body(()).unwrap()))
        .await
        .unwrap();
    assert_eq!(sent["x-request-id"], "job-1");
    assert!(!sent.contains_key("traceparent"));
}
