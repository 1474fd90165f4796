//! The station's borescope (§8, §18): a Wi-Fi borescope for engine numbers of difficult
//! access, offered on the photo screen's engine-number step when one is configured
//! (`[devices.borescope]`, backend `mjpeg-http` or `rtsp` with its `address`) or, in demo mode,
//! simulated. Its frames become evidence through the same pipeline as the still camera's
//! ([`crate::Station::take_photo`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use vistoria_core::config::Devices;
use vistoria_drivers::borescope::{Borescope, GstBorescope};
use vistoria_drivers::camera::Frame;
use vistoria_drivers::{Device, DeviceError, DeviceStatus};

use crate::demo_borescope::{BorescopeFault, DemoBorescope};
use crate::{DeviceSetup, Failure, Station, lock};

/// How long a photo waits for the borescope's first frame (Wi-Fi, a keyframe).
const GRAB_TIMEOUT: Duration = Duration::from_secs(10);

/// The borescope the station holds, with its name readable without waiting for it.
pub(crate) struct BorescopeSlot {
    device: Mutex<Box<dyn Borescope + Send>>,
    name: String,
    /// Demo mode: the simulated borescope's fault.
    demo_fault: Option<Arc<Mutex<Option<BorescopeFault>>>>,
}

impl BorescopeSlot {
    fn new(
        device: Box<dyn Borescope + Send>,
        demo_fault: Option<Arc<Mutex<Option<BorescopeFault>>>>,
    ) -> BorescopeSlot {
        BorescopeSlot {
            name: device.name().to_owned(),
            device: Mutex::new(device),
            demo_fault,
        }
    }
}

/// The borescope `setup` names: demo mode's simulated one; a configured station's on its
/// stream address; none otherwise (`sim` or no address: the screen offers no borescope).
pub(crate) fn open(setup: &DeviceSetup) -> Option<BorescopeSlot> {
    match setup {
        DeviceSetup::Demo { .. } => {
            let fault = Arc::new(Mutex::new(None));
            let scope = DemoBorescope::new(fault.clone());
            Some(BorescopeSlot::new(Box::new(scope), Some(fault)))
        }
        DeviceSetup::Configured { devices, .. } => configured(devices),
    }
}

fn configured(devices: &Devices) -> Option<BorescopeSlot> {
    let section = &devices.borescope;
    match (section.backend.as_str(), &section.address) {
        ("mjpeg-http" | "rtsp", Some(url)) => {
            let scope = OnDemand {
                url: url.clone(),
                status: DeviceStatus::Ready,
            };
            Some(BorescopeSlot::new(Box::new(scope), None))
        }
        _ => None,
    }
}

/// A configured borescope, connected for each photo: a Wi-Fi borescope is switched on when the
/// inspector needs it, so the kiosk holds no stream open in between.
struct OnDemand {
    url: String,
    status: DeviceStatus,
}

impl Device for OnDemand {
    fn name(&self) -> &str {
        "Boroscópio"
    }

    fn status(&self) -> DeviceStatus {
        self.status.clone()
    }

    fn self_test(&mut self) -> Result<String, DeviceError> {
        let f = self.grab()?;
        Ok(format!("quadro de {}×{} recebido", f.width, f.height))
    }
}

impl Borescope for OnDemand {
    fn grab(&mut self) -> Result<Frame, DeviceError> {
        let grabbed = GstBorescope::open(&self.url, GRAB_TIMEOUT).and_then(|mut s| s.grab());
        self.status = match &grabbed {
            Ok(_) => DeviceStatus::Ready,
            Err(e) => DeviceStatus::Fault(e.to_string()),
        };
        grabbed
    }
}

impl Station {
    /// The borescope's name when the station has one (the photo screen offers it on the
    /// engine number). Does not wait for the device.
    pub fn borescope(&self) -> Option<String> {
        self.0.borescope.as_ref().map(|b| b.name.clone())
    }

    /// A frame from the borescope and its name.
    pub(crate) fn borescope_frame(&self) -> Result<(Frame, String), Failure> {
        let slot = self.0.borescope.as_ref().ok_or_else(|| {
            Failure::rule("nenhum boroscópio configurado nesta estação ([devices.borescope])")
        })?;
        let frame = lock(&slot.device).grab().map_err(|e| {
            Failure::device(format!(
                "{e}. Ligue o boroscópio, confira o Wi-Fi ou chame o técnico."
            ))
        })?;
        Ok((frame, slot.name.clone()))
    }

    /// Demo mode: starts or stops a fault of the simulated borescope.
    pub fn set_demo_borescope_fault(&self, fault: Option<BorescopeFault>) {
        if let Some(shared) = self
            .0
            .borescope
            .as_ref()
            .and_then(|b| b.demo_fault.as_ref())
        {
            *lock(shared) = fault;
        }
    }
}
