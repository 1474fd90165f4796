//! The accept loop: TLS (or plain HTTP on loopback) and HTTP/1.1 over each connection, with the
//! limits a stranger would otherwise exploit (issue 17: ~1 000 clients that completed TLS and
//! sent nothing were never disconnected and exhausted the descriptors):
//! - connection caps overall and per client address (more are closed at accept);
//! - a TLS handshake timeout;
//! - an idle timeout with no request running: from accept to the first request and between
//!   requests (a running request has its own limits: `api::upload`, `api::time_limit`);
//! - a graceful stop: no new connections, running requests end (bounded), then return.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::api::Limits;
use crate::api::admission::stopped;

/// Longest a client may take to send a request's headers once it started them.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(20);

/// Open connections by client address.
type PerAddress = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One connection counted against its address; uncounted when dropped.
struct AddressSlot {
    map: PerAddress,
    ip: IpAddr,
}

impl AddressSlot {
    fn take(map: &PerAddress, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut counts = map.lock().unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            map: Arc::clone(map),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// When a connection last moved a byte, and how many requests it is running.
struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }

    /// Resolves once the connection has had no request running and no byte moving for
    /// `timeout`.
    async fn idle(&self, timeout: Duration) {
        loop {
            let idle = self.idle_for();
            let busy = self.in_flight.load(Ordering::Relaxed) > 0;
            if !busy && idle >= timeout {
                return;
            }
            let wait = if busy { timeout } else { timeout - idle };
            tokio::time::sleep(wait.max(Duration::from_millis(50))).await;
        }
    }
}

/// Counts a running request; ends it when dropped (also when the connection is cut).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.touch();
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP stream that records when bytes move.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` until `stop` turns `true`, then stops accepting and waits (at
/// most [`Limits::shutdown_grace`]) for the connections to finish their running requests.
pub async fn run(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let total = Arc::new(Semaphore::new(max));
    let per_address: PerAddress = Arc::default();
    let limits = Arc::new(limits);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors (EMFILE) or similar: wait instead of spinning.
                tracing::error!(%e, "falha ao aceitar conexão");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&total).try_acquire_owned() else {
            tracing::warn!(%peer, "conexão recusada: limite total de conexões (--max-connections)");
            continue;
        };
        let Some(slot) =
            AddressSlot::take(&per_address, peer.ip(), limits.max_connections_per_address)
        else {
            tracing::warn!(%peer, "conexão recusada: limite de conexões por endereço (--max-connections-per-address)");
            continue;
        };
        tokio::spawn(connection(
            stream,
            peer,
            tls.clone(),
            app.clone(),
            Arc::clone(&limits),
            stop.clone(),
            (permit, slot),
        ));
    }
    drop(listener);
    tracing::info!("parou de aceitar conexões; aguardando as requisições em andamento");
    // Every connection holds a permit: having them all back means every connection ended.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let wait = limits.shutdown_grace + Duration::from_secs(1);
    if tokio::time::timeout(wait, total.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("conexões ainda abertas ao fim do prazo de encerramento");
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: Arc<Limits>,
    stop: watch::Receiver<bool>,
    _held: (OwnedSemaphorePermit, AddressSlot),
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    };
    match tls {
        None => serve(TokioIo::new(io), peer, app, activity, &limits, stop).await,
        Some(acceptor) => {
            match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(io)).await {
                Ok(Ok(tls)) => serve(TokioIo::new(tls), peer, app, activity, &limits, stop).await,
                Ok(Err(e)) => tracing::debug!(%peer, %e, "handshake TLS falhou"),
                Err(_) => tracing::warn!(%peer, "handshake TLS demorou demais; conexão encerrada"),
            }
        }
    }
}

async fn serve<I>(
    io: I,
    peer: SocketAddr,
    app: Router,
    activity: Arc<Activity>,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let app = app.clone();
        let busy = InFlight::begin(&requests);
        req.extensions_mut().insert(ConnectInfo(peer));
        async move {
            let response = app.oneshot(req.map(axum::body::Body::new)).await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle = activity.idle(limits.connection_idle_timeout);
    tokio::pin!(idle);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, %e, "conexão encerrada com erro");
            }
            return;
        }
        () = &mut idle => {
            // Dropping the connection closes the socket.
            tracing::debug!(%peer, "conexão ociosa encerrada");
            return;
        }
        () = stopped(&mut stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    if tokio::time::timeout(limits.shutdown_grace, conn)
        .await
        .is_err()
    {
        tracing::warn!(%peer, "requisição ainda em andamento ao fim do prazo de encerramento");
    }
}
