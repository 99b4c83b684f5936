//! Serving connections: HTTP/1.1 over hyper, each connection under deadlines so that a slow
//! or silent client cannot hold it (poem's `Server` has no header timeout: 100 connections
//! sending a byte every 15 s stayed open for as long as they liked), and graceful shutdown.
//!
//! A connection is idle (no request begun), reading a request's head, or busy (the head is in
//! and the application has the request). Idle, it is closed after the idle timeout; from the
//! first byte of a request it has the header timeout to complete the head; while busy it has no
//! read deadline of its own (the middleware bounds reading the body, and the handler is ours).
//! A write that makes no progress for the idle timeout (a client that does not read its
//! answer) closes it too. HTTP/2 is not offered: behind a proxy HTTP/1.1 is what arrives, and
//! it keeps one request per connection at a time, which is what the deadlines assume.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

/// The deadlines of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadlines {
    /// From a request's first byte to the end of its head.
    pub header: Duration,
    /// A connection without a request in progress, or a write without progress.
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request begun since this instant.
    Idle(Instant),
    /// A request's first byte came at this instant; its head is not complete yet.
    Head(Instant),
    /// The application has the request.
    Busy,
}

/// What a connection is doing, shared by its socket and its service.
#[derive(Debug)]
struct Clock(Mutex<Phase>);

impl Clock {
    fn new() -> Self {
        Self(Mutex::new(Phase::Idle(Instant::now())))
    }

    fn set(&self, phase: Phase) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = phase;
    }

    /// Bytes arrived: an idle connection begins a request.
    fn bytes_read(&self) {
        let mut phase = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Phase::Idle(_) = *phase {
            *phase = Phase::Head(Instant::now());
        }
    }

    /// When reading must have made progress by, if at all.
    fn read_deadline(&self, d: Deadlines) -> Option<Instant> {
        match *self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            Phase::Idle(since) => Some(since + d.idle),
            Phase::Head(since) => Some(since + d.header),
            Phase::Busy => None,
        }
    }
}

/// A socket that fails its reads (and stalled writes) past the connection's deadlines, which
/// makes hyper close the connection.
struct Deadlined {
    io: TcpStream,
    clock: Arc<Clock>,
    deadlines: Deadlines,
    read_timer: Pin<Box<Sleep>>,
    write_stalled_since: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("the client was too slow: {what}"))
}

impl Deadlined {
    fn new(io: TcpStream, clock: Arc<Clock>, deadlines: Deadlines) -> Self {
        let far = Instant::now() + deadlines.idle;
        Self {
            io,
            clock,
            deadlines,
            read_timer: Box::pin(tokio::time::sleep_until(far)),
            write_stalled_since: None,
            write_timer: Box::pin(tokio::time::sleep_until(far)),
        }
    }

    /// `Pending`, or an error once `deadline` has passed (the timer wakes the task then).
    fn wait(timer: &mut Pin<Box<Sleep>>, deadline: Instant, cx: &mut Context<'_>) -> bool {
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }

    fn poll_stalled_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Pending => {
                let since = *self.write_stalled_since.get_or_insert_with(Instant::now);
                if Self::wait(&mut self.write_timer, since + self.deadlines.idle, cx) {
                    return Poll::Ready(Err(timed_out("it does not read its answer")));
                }
                Poll::Pending
            }
            ready => {
                self.write_stalled_since = None;
                ready
            }
        }
    }
}

impl AsyncRead for Deadlined {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.clock.read_deadline(this.deadlines) {
                Some(deadline) if Self::wait(&mut this.read_timer, deadline, cx) => {
                    Poll::Ready(Err(timed_out("no complete request in time")))
                }
                _ => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Deadlined {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.poll_stalled_write(cx, polled)
    }

    /// Forwarded, with [`Self::is_write_vectored`], so that hyper writes an answer's head and
    /// body in one `writev` instead of first copying the body into a buffer of its own, which
    /// it keeps, at the size of the largest answer, for as long as the connection lasts.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.poll_stalled_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_flush(cx);
        this.poll_stalled_write(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Serves `endpoint` on `listener` until `shutdown` completes; then stops accepting, lets the
/// requests in progress finish (closing idle connections at once) for up to `grace`, and ends
/// the connections still open.
pub(crate) async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static, Response>,
    deadlines: Deadlines,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> io::Result<()> {
    let endpoint = Arc::new(endpoint);
    let local = listener.local_addr()?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection =
            connection(stream, peer, local, endpoint.clone(), deadlines, stopping.clone());
        connections.spawn(connection);
    }
    drop(listener);
    let _ = stop.send(true);
    let drained =
        tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} });
    if drained.await.is_err() {
        tracing::warn!(
            open = connections.len(),
            "requests still in progress after the shutdown grace period; closing them"
        );
        connections.abort_all();
    }
    Ok(())
}

/// One connection: hyper's HTTP/1.1 over the deadlined socket, the request handed to poem with
/// its addresses, until it closes or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    deadlines: Deadlines,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let clock = Arc::new(Clock::new());
    let io = hyper_util::rt::TokioIo::new(Deadlined::new(stream, clock.clone(), deadlines));
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (endpoint, clock) = (endpoint.clone(), clock.clone());
        async move {
            clock.set(Phase::Busy);
            let req = poem::Request::from((
                req,
                LocalAddr(Addr::SocketAddr(local)),
                RemoteAddr(Addr::SocketAddr(peer)),
                Scheme::HTTP,
            ));
            let resp = endpoint.get_response(req).await;
            clock.set(Phase::Idle(Instant::now()));
            Ok::<_, std::convert::Infallible>(hyper::Response::from(resp))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        // Sent once, at shutdown (a dropped sender means the same).
        _ = stopping.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = served {
        tracing::debug!(%error, %peer, "connection closed");
    }
}
