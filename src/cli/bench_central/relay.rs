//! A round-robin TCP relay on loopback standing in for the load balancer in front of the
//! benchmark's central instances (the chaos test's relay, without its trap): each new
//! connection goes to the next instance; bytes pass through untouched, TLS included, so the
//! station's pinned certificate still checks (the instances share one).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The relay; its threads run until the process ends.
pub struct RoundRobin {
    /// `https://127.0.0.1:PORT`, the stations' central URL.
    pub url: String,
    shared: Arc<Shared>,
}

struct Shared {
    backends: Vec<SocketAddr>,
    next: AtomicUsize,
    /// Connections relayed to each backend.
    connections: Vec<AtomicU64>,
}

impl RoundRobin {
    /// A relay spreading connections over `backends`.
    pub fn start(backends: Vec<SocketAddr>) -> std::io::Result<RoundRobin> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            connections: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            backends,
            next: AtomicUsize::new(0),
        });
        let relay = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("bench-relay".to_owned())
            .spawn(move || {
                for client in listener.incoming().filter_map(Result::ok) {
                    let relay = Arc::clone(&relay);
                    let spawned = std::thread::Builder::new()
                        .name("bench-relay".to_owned())
                        .spawn(move || relay.accept(client));
                    if let Err(e) = spawned {
                        tracing::error!(%e, "relay: no thread for a connection");
                    }
                }
            })?;
        Ok(RoundRobin {
            url: format!("https://127.0.0.1:{port}"),
            shared,
        })
    }

    /// Connections relayed to each backend so far.
    pub fn connections(&self) -> Vec<u64> {
        self.shared
            .connections
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}

impl Shared {
    /// Connects `client` to the next backend that accepts, as a balancer's health check would.
    fn accept(&self, client: TcpStream) {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.backends.len() {
            let backend = (first + i) % self.backends.len();
            let Ok(server) = TcpStream::connect(self.backends[backend]) else {
                continue;
            };
            self.connections[backend].fetch_add(1, Ordering::Relaxed);
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (Ok(up_from), Ok(up_to)) = (client.try_clone(), server.try_clone()) else {
                return;
            };
            let down = std::thread::Builder::new()
                .name("bench-relay".to_owned())
                .spawn(move || pump(server, client));
            if down.is_ok() {
                pump(up_from, up_to);
            }
            return;
        }
        let _ = client.shutdown(Shutdown::Both);
    }
}

/// Copies `from` to `to` until either side ends, then half-closes `to`.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
