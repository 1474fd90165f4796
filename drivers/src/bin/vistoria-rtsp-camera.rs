//! A simulated IP camera in its own process, so tests can kill it the way a camera dies (the
//! kernel resets its connections) and start it again on the same port.
//!
//! Usage: `vistoria-rtsp-camera [--port N] [--width W] [--height H] [--fps F]`. Prints the
//! stream URL on the first line of stdout, then reads commands from stdin: `freeze` (sessions
//! stay open, no frames), `thaw`; it exits when stdin closes.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use vistoria_drivers::panoramic::test_server::{CameraConfig, TestCamera};

fn main() -> ExitCode {
    let mut config = CameraConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u32>().ok());
        let Some(value) = value else {
            eprintln!("uso: vistoria-rtsp-camera [--port N] [--width W] [--height H] [--fps F]");
            return ExitCode::FAILURE;
        };
        match flag.as_str() {
            "--port" => config.port = u16::try_from(value).unwrap_or(0),
            "--width" => config.width = value,
            "--height" => config.height = value,
            "--fps" => config.fps = value,
            other => {
                eprintln!("opção desconhecida: {other}");
                return ExitCode::FAILURE;
            }
        }
    }
    let camera = match TestCamera::start(&config) {
        Ok(camera) => camera,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", camera.url());
    let _ = stdout.flush();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("freeze") => camera.set_frozen(true),
            Ok("thaw") => camera.set_frozen(false),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    ExitCode::SUCCESS
}
