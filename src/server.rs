//! The HTTP server: our own accept loop and hyper's HTTP/1.1 connection, so that what the open
//! internet can do to the process is bounded (poem's `Server` sets no hyper timer, no buffer
//! limit and no connection limit, and retries a failing `accept` in a tight loop):
//! - a request's headers must arrive within `header_timeout` of the connection opening or of the
//!   previous answer (so idle keep-alive connections close after it too), and its body within
//!   `body_timeout` of its headers (a trickle is cut off: 408, connection closed);
//! - a connection's read buffer is at most `MAX_BUF` (larger headers: 431);
//! - at most `max_connections` connections are open; beyond that, new ones wait in the kernel's
//!   backlog rather than being accepted;
//! - an `accept` that fails (out of file descriptors) is logged and retried after a pause.
//!
//! Graceful shutdown: on the signal it stops accepting, lets every connection finish the
//! request in flight (no new one on it), and after `grace` drops what is left.
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Request, Response};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A connection's read buffer: ample for any request line and headers the gateway serves.
const MAX_BUF: usize = 16 * 1024;

/// What a client may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `ep` on `listener` until `shutdown` resolves, then drains for at most `grace`.
pub async fn run<E>(
    listener: TcpListener,
    ep: E,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    limits: Limits,
) -> io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let ep: Arc<dyn poem::endpoint::DynEndpoint<Output = Response>> = Arc::new(
        poem::endpoint::ToDynEndpoint(ep.into_endpoint().map_to_response()),
    );
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (connections, draining, dropping) = (
        TaskTracker::new(),
        CancellationToken::new(),
        CancellationToken::new(),
    );
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_errors.pause_after(e).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        crate::telemetry::http_connections(limits.max_connections - slots.available_permits());
        let (ep, draining, dropping, slots) = (
            ep.clone(),
            draining.clone(),
            dropping.clone(),
            slots.clone(),
        );
        connections.spawn(async move {
            serve_connection(stream, local, peer, ep, limits, draining, dropping).await;
            drop(permit);
            crate::telemetry::http_connections(limits.max_connections - slots.available_permits());
        });
    }
    drop(listener);
    draining.cancel();
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            "shutdown grace over: closing the connections still open"
        );
        dropping.cancel();
        connections.wait().await;
    }
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    local: std::net::SocketAddr,
    peer: std::net::SocketAddr,
    ep: Arc<dyn poem::endpoint::DynEndpoint<Output = Response>>,
    limits: Limits,
    draining: CancellationToken,
    dropping: CancellationToken,
) {
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let ep = ep.clone();
        async move {
            let mut req = Request::from((
                req,
                poem::web::LocalAddr(local.into()),
                poem::web::RemoteAddr(peer.into()),
                poem::http::uri::Scheme::HTTP,
            ));
            let body = BoxBody::from(req.take_body());
            req.set_body(BoxBody::new(Deadline::new(body, limits.body_timeout)));
            let resp = ep.get_response(req).await;
            Ok::<_, std::convert::Infallible>(http::Response::<BoxBody<Bytes, io::Error>>::from(
                resp,
            ))
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_BUF)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = draining.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    tokio::select! {
        _ = conn => {}
        () = dropping.cancelled() => {}
    }
}

/// A request body that must arrive in full before its deadline: after it, reading fails with
/// `TimedOut` (the webhook route answers 408 and closes the connection). The timer is set only
/// when the body is not there yet: most bodies arrive with their headers.
struct Deadline {
    inner: BoxBody<Bytes, io::Error>,
    deadline: tokio::time::Instant,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Deadline {
    fn new(inner: BoxBody<Bytes, io::Error>, within: Duration) -> Self {
        Self {
            inner,
            deadline: tokio::time::Instant::now() + within,
            sleep: None,
        }
    }
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))),
                    Poll::Pending => Poll::Pending,
                }
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Failed `accept`s: each pauses the loop (out of file descriptors, retrying at once would spin
/// a core and starve the connections already open); they are logged at most every 10 s.
#[derive(Default)]
struct AcceptErrors {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl AcceptErrors {
    async fn pause_after(&mut self, e: io::Error) {
        crate::telemetry::accept_error();
        self.since_logged += 1;
        if self
            .logged_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(10))
        {
            tracing::error!(error = %e, failures = self.since_logged, "accepting connections fails; pausing between attempts");
            self.since_logged = 0;
            self.logged_at = Some(Instant::now());
        }
        let pause = match e.kind() {
            // The client gave up before we accepted: nothing wrong here.
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset => Duration::ZERO,
            _ => Duration::from_millis(50),
        };
        tokio::time::sleep(pause).await;
    }
}

/// Raises this process's soft limit on open files to its hard limit (a service that accepts
/// connections needs more than the usual 1,024), and returns the limit in force.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the open-files limit");
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}
