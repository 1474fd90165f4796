//! Demo mode's simulated devices and seeded staff, so a newcomer can run a whole inspection
//! with nothing attached: a camera that photographs the inspection's own vehicle (its plate
//! rendered into a synthetic rear view, so the OCR has something real to read), and a
//! fingerprint reader whose finger the person at the screen picks.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vistoria_core::accounts::{self, Account, Role};
use vistoria_core::biometrics::Finger;
use vistoria_core::biometrics::GrayImage;
use vistoria_core::biometrics::enrolment::{Consent, Enrolment};
use vistoria_core::biometrics::vault::Vault;
use vistoria_core::domain::{PhotoKind, Plate};
use vistoria_core::ocr::synth;
use vistoria_core::store::Store;
use vistoria_drivers::camera::sim::{CameraFault, SimCamera};
use vistoria_drivers::camera::{Frame, StillCamera};
use vistoria_drivers::fingerprint::sim::SimReader;
use vistoria_drivers::fingerprint::{FingerImage, FingerprintReader};
use vistoria_drivers::{Device, DeviceError, DeviceStatus};

use super::lock;

/// Demo logins and password.
pub const OPERATOR: &str = "operador";
/// Technician's login.
pub const TECHNICIAN: &str = "tecnico";
/// Administrator's login (staff, station settings).
pub const ADMINISTRATOR: &str = "admin";
/// Inspector's login (fingerprint).
pub const INSPECTOR: &str = "vistoriador";
/// The demo inspector's name (on the demo e-CPF too).
pub const INSPECTOR_NAME: &str = "Ana Paula Souza";
/// The demo inspector's CPF (fictitious, valid check digits).
pub const INSPECTOR_CPF: &str = "39053344705";
/// Password of the demo's password accounts.
pub const PASSWORD: &str = "vistoria123";

/// The synthetic fingers the demo reader offers: (label, file stem, seed).
const FINGERS: [(&str, &str, u64); 2] = [
    ("Dedo de Ana Paula (vistoriadora)", "ana", 41),
    ("Dedo de outra pessoa", "outra", 13),
];
/// Impressions written per finger; the first three enrol the inspector.
const IMPRESSIONS: usize = 5;
const FINGER_SIZE: (usize, usize) = (320, 400);

/// What the camera is pointed at.
#[derive(Debug, Clone, Default, PartialEq)]
struct Subject {
    plate: Option<Plate>,
    kind: Option<PhotoKind>,
}

/// The demo's handles on its simulated devices.
pub struct DemoDevices {
    reader: Arc<Mutex<SimReader>>,
    subject: Arc<Mutex<Subject>>,
    camera_fault: Arc<Mutex<Option<CameraFault>>>,
    other_plate: bool,
    /// The simulated panoramic camera of the bay (kept alive with the kiosk).
    bay: Option<vistoria_drivers::panoramic::test_server::TestCamera>,
}

impl DemoDevices {
    /// The fingers the reader can be given.
    pub fn fingers() -> Vec<String> {
        FINGERS.iter().map(|f| f.0.to_owned()).collect()
    }

    /// Which finger goes on the reader next.
    pub fn choose_finger(&mut self, index: usize) -> Result<(), DeviceError> {
        let (_, stem, _) = FINGERS
            .get(index)
            .ok_or_else(|| DeviceError::Missing("dedo simulado".into()))?;
        // Impressions not used by the enrolment, so a login is a fresh touch.
        let names: Vec<String> = (3..IMPRESSIONS)
            .map(|i| format!("{stem}-{i}.tif"))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        lock(&self.reader).select(&refs)
    }

    /// The reader's next touch has `fault` (Diagnóstico's and the tests' way to a bad reader).
    pub fn inject_reader_fault(&self, fault: vistoria_drivers::fingerprint::sim::Fault) {
        lock(&self.reader).inject(fault);
    }

    /// From now on the camera shows a vehicle whose plate is not the inspection's.
    pub fn show_other_plate(&mut self, other: bool) {
        self.other_plate = other;
    }

    /// Keeps the simulated panoramic camera, so the diagnostics can empty the bay.
    pub fn set_bay_camera(&mut self, camera: vistoria_drivers::panoramic::test_server::TestCamera) {
        self.bay = Some(camera);
    }

    /// The simulated bay looks empty (`true`) or holds the vehicle (`false`); §4 warning.
    pub fn show_empty_bay(&self, empty: bool) {
        if let Some(bay) = &self.bay {
            bay.set_empty_bay(empty);
        }
    }

    /// Starts or stops a camera fault (diagnostics, tests).
    pub fn set_camera_fault(&self, fault: Option<CameraFault>) {
        *lock(&self.camera_fault) = fault;
    }

    /// Points the camera at the inspection's vehicle.
    pub fn point_camera(&self, plate: Option<Plate>, kind: Option<PhotoKind>) {
        let plate = match plate {
            // Another vehicle: same format, other letters.
            Some(p) if self.other_plate => {
                Plate::parse(&p.as_str().replace(|c: char| c.is_ascii_alphabetic(), "X")).ok()
            }
            p => p,
        };
        *lock(&self.subject) = Subject { plate, kind };
    }
}

/// A station at a fixed place in Cuiabá, for simulations and benchmarks.
pub fn simulated_station(code: &str) -> vistoria_core::config::Station {
    vistoria_core::config::Station {
        code: code.to_owned(),
        name: "Estação simulada".to_owned(),
        address: "Av. Historiador Rubens de Mendonça, 1000".to_owned(),
        city: "Cuiabá/MT".to_owned(),
        latitude: -15.5989,
        longitude: -56.0949,
        simulated_devices: vistoria_core::config::SIMULATED_FAMILIES
            .iter()
            .map(|f| (*f).to_owned())
            .collect(),
    }
}

/// The demo's devices: its handles, the camera and the reader.
pub type Simulated = (
    DemoDevices,
    Box<dyn StillCamera + Send>,
    Box<dyn FingerprintReader + Send>,
);

/// Demo mode: the simulated devices and the demo staff (the inspector enrolled). Idempotent: a
/// second run on the same data reuses what is there.
pub fn prepare(store: &mut Store, vault: &Vault) -> Result<Simulated, String> {
    let devices = simulated(store)?;
    seed_staff(store, vault)?;
    Ok(devices)
}

/// The simulated devices alone (a station configured with `backend = "sim"`): the finger
/// images are written into the data folder.
pub fn simulated(store: &Store) -> Result<Simulated, String> {
    let data = store.data_dir().to_path_buf();
    let finger_dir = data.join("demo-dedos");
    std::fs::create_dir_all(&finger_dir).map_err(|e| format!("{}: {e}", finger_dir.display()))?;
    // Drawing a synthetic print takes a moment: draw the missing ones on all cores.
    let dir = &finger_dir;
    let missing: Vec<(PathBuf, u64, usize)> = FINGERS
        .iter()
        .flat_map(|(_, stem, seed)| {
            (0..IMPRESSIONS).map(move |i| (dir.join(format!("{stem}-{i}.tif")), *seed, i))
        })
        .filter(|(path, _, _)| !path.exists())
        .collect();
    std::thread::scope(|scope| {
        let jobs: Vec<_> = missing
            .iter()
            .map(|(path, seed, i)| {
                scope.spawn(move || {
                    // Written aside and renamed: a run killed mid-write leaves no half image
                    // that the next run would take for a finished one.
                    let partial = path.with_extension("tif.partial");
                    std::fs::write(&partial, impression(*seed, *i).to_tiff())
                        .and_then(|()| std::fs::rename(&partial, path))
                        .map_err(|e| format!("{}: {e}", path.display()))
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err("desenho de digital interrompido".into()))
            })
            .collect::<Result<Vec<()>, String>>()
    })?;
    let reader = Arc::new(Mutex::new(
        SimReader::open(&finger_dir).map_err(|e| e.to_string())?,
    ));
    let subject = Arc::new(Mutex::new(Subject::default()));
    let camera_fault = Arc::new(Mutex::new(None));
    let mut devices = DemoDevices {
        reader: reader.clone(),
        subject: subject.clone(),
        camera_fault: camera_fault.clone(),
        other_plate: false,
        bay: None,
    };
    devices.choose_finger(0).map_err(|e| e.to_string())?;
    let camera = DemoCamera {
        subject,
        fault: camera_fault,
        rendered: None,
    };
    Ok((devices, Box::new(camera), Box::new(SharedReader(reader))))
}

/// Impression `i` of a synthetic finger: the same ridges, shifted a little each time.
fn impression(seed: u64, i: usize) -> GrayImage {
    let shift = [
        (0.0, 0.0),
        (6.0, -4.0),
        (-5.0, 5.0),
        (3.0, 7.0),
        (-7.0, -3.0),
    ][i % IMPRESSIONS];
    GrayImage::synthetic(FINGER_SIZE.0, FINGER_SIZE.1, seed, shift)
}

fn seed_staff(store: &mut Store, vault: &Vault) -> Result<(), String> {
    let staff = [
        (OPERATOR, "Carlos Operador", Role::Operator, "52998224725"),
        (TECHNICIAN, "Téo Técnico", Role::Technician, "11144477735"),
        (
            ADMINISTRATOR,
            "Alice Administradora",
            Role::Administrator,
            "86288366757",
        ),
        (INSPECTOR, INSPECTOR_NAME, Role::Inspector, INSPECTOR_CPF),
    ];
    for (login, name, role, cpf) in staff {
        if store.account(login).map_err(|e| e.to_string())?.is_some() {
            continue;
        }
        let password = (!role.uses_fingerprint()).then_some(PASSWORD);
        let account = Account::new(login, name, role, cpf, password).map_err(|e| e.to_string())?;
        accounts::save(store, &account, "demo", None).map_err(|e| e.to_string())?;
    }
    if vault.load(INSPECTOR).is_err() {
        let mut enrolment = Enrolment::new(INSPECTOR, Finger::RightIndex);
        for i in 0..3 {
            enrolment
                .add(&impression(FINGERS[0].2, i))
                .map_err(|e| format!("cadastro biométrico de demonstração: {e}"))?;
        }
        enrolment
            .finish(
                store,
                vault,
                "demo",
                &Consent {
                    person: INSPECTOR.to_owned(),
                },
                None,
            )
            .map_err(|e| format!("cadastro biométrico de demonstração: {e}"))?;
    }
    Ok(())
}

/// The simulated reader, shared with [`DemoDevices`] so the finger can be changed.
struct SharedReader(Arc<Mutex<SimReader>>);

impl Device for SharedReader {
    fn name(&self) -> &str {
        "Leitor biométrico (simulado)"
    }
    fn status(&self) -> DeviceStatus {
        lock(&self.0).status()
    }
    fn self_test(&mut self) -> Result<String, DeviceError> {
        lock(&self.0).self_test()
    }
}

impl FingerprintReader for SharedReader {
    fn await_finger(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        // A person takes a moment to put the finger down: shows the "waiting" state.
        std::thread::sleep(Duration::from_millis(300).min(timeout));
        lock(&self.0).await_finger(timeout)
    }
    fn capture(&mut self) -> Result<FingerImage, DeviceError> {
        lock(&self.0).capture()
    }
    fn await_removal(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        lock(&self.0).await_removal(timeout)
    }
}

/// A camera that photographs the inspection's vehicle: a synthetic rear view with the
/// vehicle's own plate, one per photo kind, with sensor noise and the simulator's faults.
struct DemoCamera {
    subject: Arc<Mutex<Subject>>,
    fault: Arc<Mutex<Option<CameraFault>>>,
    rendered: Option<(Subject, SimCamera)>,
}

impl DemoCamera {
    fn sim(&mut self) -> Result<&mut SimCamera, DeviceError> {
        let subject = lock(&self.subject).clone();
        let stale = self.rendered.as_ref().is_none_or(|(s, _)| *s != subject);
        if stale {
            let frame = render(&subject);
            self.rendered = Some((subject, SimCamera::new(vec![frame])?));
        }
        let fault = *lock(&self.fault);
        let (_, sim) = self
            .rendered
            .as_mut()
            .ok_or_else(|| DeviceError::Fault("simulador de câmera sem imagem".into()))?;
        sim.set_fault(fault);
        Ok(sim)
    }
}

impl Device for DemoCamera {
    fn name(&self) -> &str {
        "Câmera fotográfica (simulada)"
    }
    fn status(&self) -> DeviceStatus {
        match *lock(&self.fault) {
            Some(CameraFault::Unplugged) => DeviceStatus::Missing,
            Some(CameraFault::Frozen) => DeviceStatus::Fault("imagem congelada".into()),
            Some(CameraFault::Dark) => DeviceStatus::Fault("imagem escura".into()),
            Some(CameraFault::WrongResolution) => {
                DeviceStatus::Fault("resolução abaixo do mínimo".into())
            }
            None => DeviceStatus::Ready,
        }
    }
    fn self_test(&mut self) -> Result<String, DeviceError> {
        self.sim()?.self_test()
    }
}

impl StillCamera for DemoCamera {
    fn resolution(&self) -> (u32, u32) {
        match *lock(&self.fault) {
            Some(CameraFault::WrongResolution) => (1280, 720),
            _ => (FRAME.0, FRAME.1),
        }
    }
    fn capture(&mut self) -> Result<Frame, DeviceError> {
        self.sim()?.capture()
    }
}

/// The camera's mode: the minimum of §7.
const FRAME: (u32, u32) = (1600, 1024);

/// A rear view with the subject's plate where the synthetic scene had its own. A person in
/// front of a real vehicle moves until the photo is good; the demo's vehicle does the same: a
/// scene the station's quality checks would refuse (too dark, blown out, blurred) is drawn
/// again from another seed, so no demo vehicle is one whose photo can never be taken.
fn render(subject: &Subject) -> Frame {
    let kind_seed = subject
        .kind
        .and_then(|k| PhotoKind::ALL.iter().position(|x| *x == k))
        .unwrap_or(0) as u64;
    let plate_seed = subject.plate.as_ref().map_or(0, |p| {
        p.as_str()
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    });
    let seed = plate_seed ^ (kind_seed * 7919);
    let limits = vistoria_core::capture::QualityLimits::default();
    let mut image = scene_with_plate(seed, subject.plate.as_ref());
    for retake in 1..16u64 {
        if vistoria_core::capture::quality::check_quality(&image, &limits).is_ok() {
            break;
        }
        image = scene_with_plate(
            seed.wrapping_add(retake.wrapping_mul(0x9E37_79B9)),
            subject.plate.as_ref(),
        );
    }
    Frame {
        width: image.width(),
        height: image.height(),
        rgb: image.into_raw(),
    }
}

/// Synthetic scene `seed` with `plate` (when given) in place of the scene's own.
fn scene_with_plate(seed: u64, plate: Option<&Plate>) -> image::RgbImage {
    let scene = synth::scene(seed, FRAME.0, FRAME.1);
    let mut image = scene.image;
    if let Some(plate) = plate {
        let xs = scene.corners.map(|c| c.0);
        let ys = scene.corners.map(|c| c.1);
        let (x0, x1) = (
            xs.iter().copied().fold(f32::MAX, f32::min),
            xs.iter().copied().fold(0.0, f32::max),
        );
        let (y0, y1) = (
            ys.iter().copied().fold(f32::MAX, f32::min),
            ys.iter().copied().fold(0.0, f32::max),
        );
        // Cover the scene's own plate with the bumper colour, then put ours in its place.
        let bumper = *image.get_pixel(
            (x0 as u32).saturating_sub(12),
            (y0 as u32).saturating_sub(12),
        );
        let margin = 10.0;
        for y in (y0 - margin).max(0.0) as u32..((y1 + margin) as u32).min(FRAME.1) {
            for x in (x0 - margin).max(0.0) as u32..((x1 + margin) as u32).min(FRAME.0) {
                image.put_pixel(x, y, bumper);
            }
        }
        let ours = synth::render_plate(plate, (x1 - x0) as u32);
        let top = ((y0 + y1) / 2.0 - ours.height() as f32 / 2.0).max(0.0) as i64;
        image::imageops::overlay(&mut image, &ours, x0 as i64, top);
    }
    image
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vistoria_core::biometrics::{Prepared, THRESHOLD, analyse, matcher, quality};

    /// Every demo impression is good enough to use; impressions of one finger match each
    /// other and never the other finger (demo mode's login must behave like the real one).
    #[test]
    fn demo_fingers_are_usable_and_distinct() {
        let mut templates = Vec::new();
        for (_, stem, seed) in FINGERS {
            let mut previous: Option<GrayImage> = None;
            for i in 0..IMPRESSIONS {
                let img = impression(seed, i);
                let analysis = analyse(&img);
                quality::assess(&img, &analysis, previous.as_ref())
                    .unwrap_or_else(|e| panic!("{stem}-{i}: {e}"));
                templates.push((stem, Prepared::new(&analysis.template)));
                previous = Some(img);
            }
        }
        for (a, (sa, ta)) in templates.iter().enumerate() {
            for (sb, tb) in templates.iter().skip(a + 1) {
                let score = matcher::score(ta, tb);
                if sa == sb {
                    assert!(score >= THRESHOLD, "{sa}: {score}");
                } else {
                    assert!(score < THRESHOLD, "{sa} × {sb}: {score}");
                }
            }
        }
    }
}
