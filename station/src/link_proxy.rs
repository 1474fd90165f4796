//! A TCP relay on loopback between the station and its central, for tests and benchmarks that
//! need a slow or stalled link: it can hold everything the station sends (a delivery stays in
//! flight until released) and cap the rate of what it sends (a 50 MB package takes seconds,
//! as on a station's real uplink). TLS passes through untouched, so the pinned certificate
//! still checks.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// The relay; it runs until the process ends.
pub struct LinkProxy {
    /// `https://127.0.0.1:PORT` of the relay, to put in the station's endpoint.
    pub url: String,
    shared: Arc<Shared>,
}

struct Shared {
    held: Mutex<bool>,
    released: Condvar,
    /// Bytes per second from the station to the central; 0 is unlimited.
    rate: AtomicU64,
    /// Bytes relayed from the station.
    sent: AtomicU64,
    closed: AtomicBool,
}

impl LinkProxy {
    /// A relay to the central at `central_url` (`https://127.0.0.1:PORT`).
    pub fn start(central_url: &str) -> std::io::Result<LinkProxy> {
        let upstream = central_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let scheme = central_url.split("://").next().unwrap_or("https");
        let shared = Arc::new(Shared {
            held: Mutex::new(false),
            released: Condvar::new(),
            rate: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        });
        let relay = shared.clone();
        std::thread::Builder::new()
            .name("link-proxy".into())
            .spawn(move || {
                for client in listener.incoming().filter_map(Result::ok) {
                    let Ok(server) = TcpStream::connect(&upstream) else {
                        continue;
                    };
                    relay_pair(client, server, relay.clone());
                }
            })?;
        Ok(LinkProxy {
            url: format!("{scheme}://127.0.0.1:{port}"),
            shared,
        })
    }

    /// From now on, nothing the station sends goes through until [`LinkProxy::release`].
    pub fn hold(&self) {
        *self
            .shared
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Lets what was held go through.
    pub fn release(&self) {
        *self
            .shared
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = false;
        self.shared.released.notify_all();
    }

    /// Caps the station's upload at `bytes_per_second` (0: no cap).
    pub fn limit(&self, bytes_per_second: u64) {
        self.shared.rate.store(bytes_per_second, Ordering::Relaxed);
    }

    /// Bytes the station sent through the relay so far.
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.release();
    }
}

fn relay_pair(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (Ok(client_read), Ok(server_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = shared.clone();
    let _ = std::thread::Builder::new()
        .name("link-proxy-up".into())
        .spawn(move || pump(client_read, server_write, Some(&up)));
    let _ = std::thread::Builder::new()
        .name("link-proxy-down".into())
        .spawn(move || pump(server, client, None));
}

/// Copies `from` to `to`; the station's direction (`shared`) obeys the hold and the rate.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: Option<&Shared>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(shared) = shared {
            let mut held = shared.held.lock().unwrap_or_else(PoisonError::into_inner);
            while *held && !shared.closed.load(Ordering::Relaxed) {
                held = shared
                    .released
                    .wait(held)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            drop(held);
            let rate = shared.rate.load(Ordering::Relaxed);
            if rate > 0 {
                // The time the link takes to carry this chunk.
                std::thread::sleep(Duration::from_secs_f64(n as f64 / rate as f64));
            }
            shared.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
