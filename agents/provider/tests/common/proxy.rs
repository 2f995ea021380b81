//! A fault-injecting HTTP proxy for tests: forwards every request to a target, but answers the next
//! N requests with 500, or leaves the next M hanging past any client timeout.

#![allow(unreachable_pub)]

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::StatusCode,
    response::Response,
};
use std::sync::{
    Arc,
    atomic::{AtomicU32, Ordering},
};

/// The proxy's knobs and counters.
#[derive(Debug, Default)]
pub struct Faults {
    /// Requests still to answer with 500.
    pub errors: AtomicU32,
    /// Requests still to leave hanging.
    pub hangs: AtomicU32,
    /// Requests answered with a fault.
    pub injected: AtomicU32,
    /// Requests forwarded.
    pub forwarded: AtomicU32,
}

#[derive(Clone)]
struct Proxy {
    target: String,
    faults: Arc<Faults>,
    client: reqwest::Client,
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    if take(&proxy.faults.errors) {
        proxy.faults.injected.fetch_add(1, Ordering::SeqCst);
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .header("content-type", "application/json")
            .body(Body::from(
                r#"{"computeFault": {"code": 500, "message": "injected fault"}}"#,
            ))
            .expect("response");
    }
    if take(&proxy.faults.hangs) {
        proxy.faults.injected.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let body = to_bytes(body, 64 << 20).await.expect("body");
    let mut outgoing = proxy
        .client
        .request(parts.method.clone(), format!("{}{path}", proxy.target))
        .body(body.to_vec());
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    proxy.faults.forwarded.fetch_add(1, Ordering::SeqCst);
    match outgoing.send().await {
        Ok(reply) => {
            let mut response = Response::builder().status(reply.status().as_u16());
            for (name, value) in reply.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            let bytes = reply.bytes().await.unwrap_or_default();
            response.body(Body::from(bytes)).expect("response")
        }
        Err(_) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .expect("response"),
    }
}

/// Starts a proxy to `target` on a free loopback port; returns its URL and knobs.
pub async fn start(target: &str) -> (String, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let proxy = Proxy {
        target: target.trim_end_matches('/').to_owned(),
        faults: faults.clone(),
        client: reqwest::Client::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(listener, Router::new().fallback(forward).with_state(proxy)).await
    });
    (url, faults)
}
