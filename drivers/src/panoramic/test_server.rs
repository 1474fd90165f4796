//! A local RTSP camera for tests, the benchmark and the technician's bench checks: gst-rtsp-server
//! serving `videotestsrc` encoded with x264, like a fixed IP camera does.
//!
//! It runs in-process on its own GLib main context. Tests that must *kill* the camera (the TCP
//! connection reset, as when a camera loses power) run it as a child process through the
//! `vistoria-rtsp-camera` binary, which wraps this module; "freezing" (server alive, sessions
//! open, no frames) closes a valve in the media pipeline and works in either form.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_rtsp_server as rtsp;
use gstreamer_rtsp_server::prelude::*;

/// What the simulated camera sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// TCP port to listen on (0 = any free port).
    pub port: u16,
    /// Mount path, starting with `/`.
    pub path: String,
    /// Refuse RTP over TCP (RTSP 461), as some Wi-Fi borescopes do.
    pub udp_only: bool,
    /// Draw the scene in colour (a dark red vehicle with a yellow ball moving on it, on a
    /// blue-grey floor) instead of in greys: a colour camera, whose still passes §7's colour and exposure checks (the
    /// panoramic photo, §7 a).
    pub colour: bool,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            width: 1280,
            height: 720,
            fps: 15,
            port: 0,
            path: "/camera".into(),
            udp_only: false,
            colour: false,
        }
    }
}

impl CameraConfig {
    /// The gst-rtsp-server launch line: the bay seen from above — a plain floor with a
    /// vehicle on it (a box over the middle of the frame, [`VEHICLE_BOX`], whose test pattern
    /// moves so the film is visibly live) — a valve for freezing, and x264 with one keyframe a
    /// second as cameras do. Emptying the bay hides the box ([`TestCamera::set_empty_bay`]).
    fn launch(&self) -> String {
        // Floor; the vehicle's body and the ball moving on it.
        let (floor, body, ball) = if self.colour {
            (FLOOR_COLOUR, "0xff8a2020", "0xffe0c040")
        } else {
            (FLOOR_GREY, "0xff101010", "0xffffffff")
        };
        let (w, h) = (self.width, self.height);
        let (bx, by, bw, bh) = VEHICLE_BOX;
        let px = |share: f32, size: u32| ((share * size as f32) as u32 & !1).max(2);
        format!(
            "( compositor name=mix background=black sink_1::xpos={x} sink_1::ypos={y} \
             ! video/x-raw,format=I420,width={w},height={h},framerate={f}/1 \
             ! valve name=freeze drop=false \
             ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={f} bitrate=2000 \
             ! video/x-h264,profile=constrained-baseline \
             ! rtph264pay name=pay0 pt=96 config-interval=-1 \
             videotestsrc is-live=true pattern=solid-color foreground-color={floor:#010x} \
             ! video/x-raw,width={w},height={h},framerate={f}/1 ! mix.sink_0 \
             videotestsrc name=scene is-live=true pattern=ball horizontal-speed=4 \
               background-color={body} foreground-color={ball} \
             ! video/x-raw,width={vw},height={vh},framerate={f}/1 ! mix.sink_1 )",
            x = px(bx, w),
            y = px(by, h),
            vw = px(bw, w),
            vh = px(bh, h),
            f = self.fps.max(1),
        )
    }
}

/// Where the simulated vehicle stands, as fractions of the frame `(x, y, width, height)`:
/// 30 % of the frame, a car in its bay seen from the ceiling.
pub const VEHICLE_BOX: (f32, f32, f32, f32) = (0.25, 0.2, 0.5, 0.6);
/// The floor of the grey scene (ARGB).
const FLOOR_GREY: u32 = 0xff8c_8c8c;
/// The floor of the coloured scene (ARGB): blue-grey.
const FLOOR_COLOUR: u32 = 0xff4a_7090;

/// What the simulated camera shows of the empty bay, as the preview's luma at
/// `width`×`height`: its plain floor. Demo mode calibrates presence with it (a real station's
/// technician captures the still from the camera instead).
pub fn empty_bay_frame(width: u32, height: u32, colour: bool) -> super::presence::GrayFrame {
    let argb = if colour { FLOOR_COLOUR } else { FLOOR_GREY };
    let [_, r, g, b] = argb.to_be_bytes();
    let grey = super::presence::GrayFrame::from_rgb(1, 1, &[r, g, b]).luma[0];
    super::presence::GrayFrame {
        width,
        height,
        luma: vec![grey; (width * height) as usize],
    }
}

/// Why the simulated camera could not start.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// GStreamer or the RTSP server could not be set up.
    #[error("câmera de teste: {0}")]
    Setup(String),
}

/// A running simulated camera. Dropping it stops the server.
pub struct TestCamera {
    port: u16,
    path: String,
    frozen: Arc<Mutex<FreezeState>>,
    main_loop: glib::MainLoop,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct FreezeState {
    frozen: bool,
    valves: Vec<glib::WeakRef<gst::Element>>,
    /// The bay looks empty: the floor alone, the vehicle's box hidden.
    empty: bool,
    /// The mixers of the media (one per shared media).
    scenes: Vec<glib::WeakRef<gst::Element>>,
}

/// Shows the bay occupied (the vehicle's box over the floor) or empty (the floor alone, still).
fn show(mix: &gst::Element, empty: bool) {
    if let Some(vehicle) = mix.static_pad("sink_1") {
        vehicle.set_property("alpha", if empty { 0.0f64 } else { 1.0f64 });
    }
}

impl TestCamera {
    /// Starts serving on 127.0.0.1.
    pub fn start(config: &CameraConfig) -> Result<TestCamera, CameraError> {
        gst::init().map_err(|e| CameraError::Setup(e.to_string()))?;
        let frozen = Arc::new(Mutex::new(FreezeState::default()));
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let (tx, rx) = mpsc::channel::<Result<u16, String>>();
        let thread = {
            let config = config.clone();
            let frozen = Arc::clone(&frozen);
            let main_loop = main_loop.clone();
            std::thread::Builder::new()
                .name("rtsp-camera".into())
                .spawn(move || serve(&config, &context, &main_loop, frozen, &tx))
                .map_err(|e| CameraError::Setup(e.to_string()))?
        };
        let port = rx
            .recv()
            .map_err(|_| CameraError::Setup("o servidor RTSP terminou ao iniciar".into()))?
            .map_err(CameraError::Setup)?;
        Ok(TestCamera {
            port,
            path: config.path.clone(),
            frozen,
            main_loop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `rtsp://` URL of the stream.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, self.path)
    }

    /// Shows an empty bay (`true`: the bare floor, as [`empty_bay_frame`] draws it) or an
    /// occupied one (`false`: the vehicle's box, [`VEHICLE_BOX`]).
    pub fn set_empty_bay(&self, empty: bool) {
        let mut state = self.frozen.lock().unwrap_or_else(PoisonError::into_inner);
        state.empty = empty;
        state.scenes.retain(|weak| match weak.upgrade() {
            Some(scene) => {
                show(&scene, empty);
                true
            }
            None => false,
        });
    }

    /// Stops (`true`) or resumes (`false`) frames while keeping sessions open.
    pub fn set_frozen(&self, frozen: bool) {
        let mut state = self.frozen.lock().unwrap_or_else(PoisonError::into_inner);
        state.frozen = frozen;
        state.valves.retain(|weak| match weak.upgrade() {
            Some(valve) => {
                valve.set_property("drop", frozen);
                true
            }
            None => false,
        });
    }
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        self.main_loop.quit();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    config: &CameraConfig,
    context: &glib::MainContext,
    main_loop: &glib::MainLoop,
    frozen: Arc<Mutex<FreezeState>>,
    ready: &mpsc::Sender<Result<u16, String>>,
) {
    let setup = || -> Result<(rtsp::RTSPServer, glib::SourceId), String> {
        let server = rtsp::RTSPServer::new();
        server.set_address("127.0.0.1");
        server.set_service(&config.port.to_string());
        let mounts = server
            .mount_points()
            .ok_or("servidor RTSP sem pontos de montagem")?;
        let factory = rtsp::RTSPMediaFactory::new();
        factory.set_launch(&config.launch());
        // One encoder for every client, as a camera has.
        factory.set_shared(true);
        if config.udp_only {
            factory.set_protocols(rtsp::gst_rtsp::RTSPLowerTrans::UDP);
            // A refused TCP SETUP leaves the shared media being torn down, and the client's
            // UDP retry a moment later would get 503 from it: each client gets its own.
            factory.set_shared(false);
        }
        factory.connect_media_configure(move |_, media| {
            let Ok(bin) = media.element().downcast::<gst::Bin>() else {
                return;
            };
            let mut state = frozen.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(valve) = bin.by_name("freeze") {
                valve.set_property("drop", state.frozen);
                state.valves.push(valve.downgrade());
            }
            if let Some(mix) = bin.by_name("mix") {
                show(&mix, state.empty);
                state.scenes.push(mix.downgrade());
            }
        });
        mounts.add_factory(&config.path, factory);
        let source = server
            .attach(Some(context))
            .map_err(|e| format!("não foi possível abrir a porta RTSP: {e}"))?;
        Ok((server, source))
    };
    let result = context.with_thread_default(|| {
        let (server, source) = match setup() {
            Ok(ok) => ok,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let port = u16::try_from(server.bound_port()).unwrap_or(0);
        let _ = ready.send(Ok(port));
        main_loop.run();
        // Attached to our own context: `SourceId::remove` would look in the global one.
        if let Some(source) = context.find_source_by_id(&source) {
            source.destroy();
        }
        // Close every client connection so they see the camera go away.
        server.client_filter(Some(&mut |_, _| rtsp::RTSPFilterResult::Remove));
    });
    if let Err(e) = result {
        let _ = ready.send(Err(e.to_string()));
    }
}
