//! A round-robin TCP relay on loopback standing in for the load balancer in front of the
//! central's instances: each new connection goes to the next backend (skipping one that
//! refuses), bytes pass through untouched (TLS included, so the kiosk's pinned certificate
//! still checks).
//!
//! It can also *catch an upload*: the central speaks HTTP/1.1 only (its ALPN offers nothing
//! else) and sends nothing while a request body arrives, so a connection that has relayed many
//! bytes from the kiosk since the server last spoke is carrying a request body, i.e. a file
//! upload. Once armed, the first such connection stops relaying right there and reports which
//! backend it is on; the test kills that instance with part of the file received, and then
//! lets the relay go on (into the dead socket).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The relay; it runs until the test process ends.
pub struct RoundRobin {
    /// `https://127.0.0.1:PORT` of the relay, the kiosk's central URL.
    pub url: String,
    shared: Arc<Shared>,
}

/// What an armed relay caught.
#[derive(Debug, Clone, Copy)]
pub struct Caught {
    /// Index of the backend the upload was going to.
    pub backend: usize,
    /// Bytes of the request already relayed to it.
    pub bytes: u64,
}

#[derive(Default)]
struct Trap {
    /// Catch a connection once this many bytes went up without an answer; 0 = disarmed.
    threshold: u64,
    caught: Option<Caught>,
    /// The caught connection may go on.
    released: bool,
}

struct Shared {
    backends: Vec<SocketAddr>,
    next: AtomicUsize,
    /// Connections relayed to each backend.
    connections: Vec<AtomicU64>,
    trap: Mutex<Trap>,
    changed: Condvar,
}

impl RoundRobin {
    /// A relay spreading connections over `backends`.
    pub fn start(backends: Vec<SocketAddr>) -> RoundRobin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            connections: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            backends,
            next: AtomicUsize::new(0),
            trap: Mutex::new(Trap::default()),
            changed: Condvar::new(),
        });
        let relay = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming().filter_map(Result::ok) {
                let relay = Arc::clone(&relay);
                std::thread::spawn(move || relay.accept(client));
            }
        });
        RoundRobin {
            url: format!("https://127.0.0.1:{port}"),
            shared,
        }
    }

    /// Connections relayed to each backend so far.
    pub fn connections(&self) -> Vec<u64> {
        self.shared
            .connections
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Arms the trap for a request body of at least `threshold` bytes and waits (up to
    /// `timeout`) until one is caught: that connection is then held, its backend having
    /// received `bytes` of it, until [`RoundRobin::release`].
    pub fn catch_upload(&self, threshold: u64, timeout: Duration) -> Option<Caught> {
        let started = Instant::now();
        let mut trap = self.shared.lock();
        *trap = Trap {
            threshold,
            caught: None,
            released: false,
        };
        while trap.caught.is_none() {
            let left = timeout.checked_sub(started.elapsed())?;
            trap = self
                .shared
                .changed
                .wait_timeout(trap, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        trap.threshold = 0;
        trap.caught
    }

    /// Lets a caught connection go on, and disarms the trap.
    pub fn release(&self) {
        let mut trap = self.shared.lock();
        trap.threshold = 0;
        trap.released = true;
        self.shared.changed.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Trap> {
        self.trap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connects `client` to the next backend that accepts, as a balancer's health check would.
    fn accept(self: Arc<Self>, client: TcpStream) {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.backends.len() {
            let backend = (first + i) % self.backends.len();
            let Ok(server) =
                TcpStream::connect_timeout(&self.backends[backend], Duration::from_secs(2))
            else {
                continue;
            };
            self.connections[backend].fetch_add(1, Ordering::Relaxed);
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            // Bytes sent up since the server last sent anything.
            let unanswered = Arc::new(AtomicU64::new(0));
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let down = Arc::clone(&unanswered);
            std::thread::spawn(move || pump_down(s2, c2, &down));
            self.pump_up(client, server, backend, &unanswered);
            return;
        }
        // No backend answers: the kiosk sees a closed connection, as behind a real balancer.
        let _ = client.shutdown(Shutdown::Both);
    }

    /// Kiosk → central, watching for a long request body while the trap is armed.
    fn pump_up(
        &self,
        mut from: TcpStream,
        mut to: TcpStream,
        backend: usize,
        unanswered: &AtomicU64,
    ) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            let sent = unanswered.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
            let mut trap = self.lock();
            if trap.threshold > 0 && trap.caught.is_none() && sent >= trap.threshold {
                trap.caught = Some(Caught {
                    backend,
                    bytes: sent,
                });
                self.changed.notify_all();
                while !trap.released {
                    trap = self
                        .changed
                        .wait(trap)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    }
}

/// Central → kiosk: any byte from the server ends the "request body" run.
fn pump_down(mut from: TcpStream, mut to: TcpStream, unanswered: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        unanswered.store(0, Ordering::Relaxed);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
