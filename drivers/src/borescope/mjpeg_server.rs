//! A local MJPEG-over-HTTP server (`multipart/x-mixed-replace`), as Wi-Fi borescopes serve,
//! for tests and the demo. Listens on 127.0.0.1 on a free port; dropping it stops it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running server.
pub struct MjpegServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MjpegServer {
    /// Serves `frames` (JPEG bytes) in a loop at `fps` to every client.
    pub fn start(frames: Vec<Vec<u8>>, fps: u32) -> std::io::Result<MjpegServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let frames = Arc::new(frames);
        let period = Duration::from_millis(1000 / u64::from(fps.max(1)));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let frames = Arc::clone(&frames);
                        let flag = Arc::clone(&flag);
                        std::thread::spawn(move || serve(stream, &frames, period, &flag));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(MjpegServer {
            port,
            stop,
            thread: Some(thread),
        })
    }

    /// The stream's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/stream.mjpg", self.port)
    }
}

impl Drop for MjpegServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // The accept loop only sleeps; it cannot panic.
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, frames: &[Vec<u8>], period: Duration, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut request = [0u8; 2048];
    if stream.read(&mut request).is_err() {
        return;
    }
    let head = "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nCache-Control: no-cache\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) && !frames.is_empty() {
        let f = &frames[i % frames.len()];
        let part = format!(
            "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            f.len()
        );
        if stream.write_all(part.as_bytes()).is_err()
            || stream.write_all(f).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            return;
        }
        i += 1;
        std::thread::sleep(period);
    }
}
