//! Recorded sequences of a bay for the presence tests (§17e): a small ray tracer renders what
//! a panoramic camera on the side wall of an inspection bay sees at the preview's size
//! (320×180): a concrete floor with painted bay lines and a stain, a car (box body, cabin
//! with dark glass, dark underbody) that drives in and parks, a person (legs, shirt, head)
//! that walks through or stands, soft contact shadows, lamps whose level changes and
//! flickers from frame to frame (and may fall off across the bay), and a camera with the
//! sRGB transfer curve and sensor noise.
//!
//! [`record`] writes a scenario's frames as PNG files (a "recording"), [`replay`] reads them
//! back as the RGB the recorder's preview delivers; the tests feed them through
//! `GrayFrame::from_rgb` into the detector, as the recorder does. Everything is made at test
//! time from a seed: no binary fixtures.

use std::path::{Path, PathBuf};

use super::presence::{GrayFrame, Region};

/// Frame width (the recorder's preview).
pub const WIDTH: u32 = 320;
/// Frame height.
pub const HEIGHT: u32 = 180;

/// The bay on the floor, in metres: x along the bay (its 6.5 m), z away from the camera.
const BAY_X: (f32, f32) = (-3.25, 3.25);
const BAY_Z: (f32, f32) = (2.0, 5.5);
/// The car parks here (centre), lengthwise along x.
const PARKED: (f32, f32) = (0.0, 3.75);
/// The car enters from here (the door at the right).
const DOOR_X: f32 = 9.0;

/// Light over time: level and slope across the bay are interpolated between keyframes
/// (seconds, value); each frame's level is further shaken by `flicker` (uniform, ± share).
#[derive(Debug, Clone, PartialEq)]
pub struct Lighting {
    /// Overall level (1 = as in the reference).
    pub level: Vec<(f64, f32)>,
    /// Slope across the bay: the level changes by this share from its middle to its ends
    /// (a door opened on one side).
    pub slope: Vec<(f64, f32)>,
    /// Frame-to-frame flicker, as a share of the level.
    pub flicker: f32,
}

impl Lighting {
    /// Steady lamps.
    pub fn steady() -> Lighting {
        Lighting {
            level: vec![(0.0, 1.0)],
            slope: vec![(0.0, 0.0)],
            flicker: 0.0,
        }
    }
}

/// The car: its reflectance (0.08 black, 0.5 silver, 0.75 white), when it starts driving in
/// from the door and how long it takes to park.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CarScript {
    /// Body reflectance.
    pub albedo: f32,
    /// When it starts to drive in, in seconds.
    pub enter_at: f64,
    /// How long it drives before it stands still.
    pub drive_s: f64,
}

/// A person walking through waypoints `(seconds, x, z)`; not in the scene before the first
/// or after the last.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonScript {
    /// Waypoints in time order.
    pub waypoints: Vec<(f64, f32, f32)>,
}

/// One recorded sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Length in seconds.
    pub seconds: f64,
    /// Frames per second (the preview's 2).
    pub fps: f64,
    /// The car, if any.
    pub car: Option<CarScript>,
    /// The person, if any.
    pub person: Option<PersonScript>,
    /// The lamps.
    pub lighting: Lighting,
    /// Sensor noise, σ in grey levels.
    pub noise: f32,
    /// Seed of the noise and the flicker.
    pub seed: u64,
}

impl Scenario {
    /// An empty bay under steady light.
    pub fn empty(seconds: f64, seed: u64) -> Scenario {
        Scenario {
            seconds,
            fps: 2.0,
            car: None,
            person: None,
            lighting: Lighting::steady(),
            noise: 2.5,
            seed,
        }
    }

    /// Times of the frames.
    pub fn times(&self) -> impl Iterator<Item = (u64, f64)> + '_ {
        let n = (self.seconds * self.fps).floor() as u64;
        (0..n).map(move |i| (i, i as f64 / self.fps))
    }

    /// The region a technician would set for this camera: the bay's floor and the height a
    /// car stands up to, as fractions of the frame.
    pub fn bay_region() -> Region {
        Region {
            x: 0.12,
            y: 0.2,
            w: 0.76,
            h: 0.6,
        }
    }

    /// Three stills of the empty bay under the scenario's first light, with fresh noise: what
    /// the station's "capture the empty-bay reference" takes.
    pub fn reference_stills(&self) -> Vec<GrayFrame> {
        let empty = Scenario {
            car: None,
            person: None,
            lighting: Lighting {
                level: vec![(0.0, level_at(&self.lighting.level, 0.0))],
                slope: vec![(0.0, level_at(&self.lighting.slope, 0.0))],
                flicker: 0.0,
            },
            seed: self.seed ^ 0x5eed_5eed,
            ..self.clone()
        };
        (0..3).map(|i| empty.frame(i, 0.0)).collect()
    }

    /// Frame `index`, seen at `t` seconds.
    pub fn frame(&self, index: u64, t: f64) -> GrayFrame {
        let camera = Camera::new();
        let shake = if self.lighting.flicker > 0.0 {
            1.0 + self.lighting.flicker * (2.0 * unit(hash(&[self.seed, index, 1])) - 1.0)
        } else {
            1.0
        };
        let light = Light {
            level: level_at(&self.lighting.level, t) * shake,
            slope: level_at(&self.lighting.slope, t),
        };
        let car = self.car.and_then(|c| car_at(&c, t));
        let person = self.person.as_ref().and_then(|p| person_at(p, t));
        let scene = Scene { car, person };
        let mut luma = Vec::with_capacity((WIDTH * HEIGHT) as usize);
        for py in 0..HEIGHT {
            for px in 0..WIDTH {
                let (albedo, x) = scene.trace(&camera, px, py);
                let radiance = (EXPOSURE * albedo * light.at(x)).max(0.0);
                let noise = self.noise * gaussian(&[self.seed, index, u64::from(py * WIDTH + px)]);
                let v = 255.0 * srgb(radiance) + noise;
                luma.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
        GrayFrame {
            width: WIDTH,
            height: HEIGHT,
            luma,
        }
    }
}

/// One frame of a recording, as the recorder's preview delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedFrame {
    /// Seconds from the start.
    pub t_s: f64,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Packed RGB.
    pub rgb: Vec<u8>,
}

/// Renders `scenario` into `dir` as `frame-NNNNN-MMMMMMMMms.png` (RGB, grey): the recording.
pub fn record(dir: &Path, scenario: &Scenario) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for (index, t) in scenario.times() {
        let frame = scenario.frame(index, t);
        let rgb: Vec<u8> = frame.luma.iter().flat_map(|v| [*v, *v, *v]).collect();
        let image = image::RgbImage::from_raw(frame.width, frame.height, rgb)
            .ok_or("quadro com tamanho inconsistente")?;
        let path = dir.join(format!(
            "frame-{index:05}-{:08}ms.png",
            (t * 1000.0).round() as u64
        ));
        image
            .save(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path);
    }
    Ok(files)
}

/// Reads a recording made by [`record`] back, in order.
pub fn replay(dir: &Path) -> Result<Vec<RecordedFrame>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let ms: u64 = name
                .rsplit('-')
                .next()
                .and_then(|s| s.strip_suffix("ms"))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("{}: nome sem o tempo", path.display()))?;
            let image = image::open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .to_rgb8();
            Ok(RecordedFrame {
                t_s: ms as f64 / 1000.0,
                width: image.width(),
                height: image.height(),
                rgb: image.into_raw(),
            })
        })
        .collect()
}

/// Scales reflectance × light so the brightest paint under +40 % light stays below white.
const EXPOSURE: f32 = 0.85;

struct Light {
    level: f32,
    slope: f32,
}

impl Light {
    fn at(&self, x: f32) -> f32 {
        self.level * (1.0 + self.slope * x / BAY_X.1)
    }
}

fn level_at(keys: &[(f64, f32)], t: f64) -> f32 {
    let Some(first) = keys.first() else {
        return 1.0;
    };
    if t <= first.0 {
        return first.1;
    }
    for pair in keys.windows(2) {
        let ((t0, v0), (t1, v1)) = (pair[0], pair[1]);
        if t <= t1 {
            let k = ((t - t0) / (t1 - t0).max(1e-9)) as f32;
            return v0 + (v1 - v0) * k;
        }
    }
    keys.last().map_or(1.0, |k| k.1)
}

/// Centre x of the car at `t`, if it is in the scene (eased in from the door).
fn car_at(car: &CarScript, t: f64) -> Option<Car> {
    if t < car.enter_at {
        return None;
    }
    let k = ((t - car.enter_at) / car.drive_s.max(1e-6)).min(1.0) as f32;
    let ease = 1.0 - (1.0 - k).powi(3);
    Some(Car {
        x: DOOR_X + (PARKED.0 - DOOR_X) * ease,
        z: PARKED.1,
        albedo: car.albedo,
    })
}

fn person_at(person: &PersonScript, t: f64) -> Option<(f32, f32)> {
    let first = person.waypoints.first()?;
    let last = person.waypoints.last()?;
    if t < first.0 || t > last.0 {
        return None;
    }
    for pair in person.waypoints.windows(2) {
        let ((t0, x0, z0), (t1, x1, z1)) = (pair[0], pair[1]);
        if t <= t1 {
            let k = ((t - t0) / (t1 - t0).max(1e-9)) as f32;
            return Some((x0 + (x1 - x0) * k, z0 + (z1 - z0) * k));
        }
    }
    Some((first.1, first.2))
}

type V3 = [f32; 3];

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: V3, b: V3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn norm(a: V3) -> V3 {
    let n = dot(a, a).sqrt().max(1e-9);
    [a[0] / n, a[1] / n, a[2] / n]
}

/// On the side wall, 4.5 m up, looking down across the bay.
struct Camera {
    pos: V3,
    forward: V3,
    right: V3,
    up: V3,
    tan_h: f32,
    tan_v: f32,
}

impl Camera {
    fn new() -> Camera {
        let pos = [0.0, 4.5, -0.5];
        let forward = norm(sub([0.0, 0.0, 3.75], pos));
        let right = norm(cross([0.0, 1.0, 0.0], forward));
        let up = cross(forward, right);
        let tan_h = 0.95;
        Camera {
            pos,
            forward,
            right,
            up,
            tan_h,
            tan_v: tan_h * HEIGHT as f32 / WIDTH as f32,
        }
    }

    fn ray(&self, px: u32, py: u32) -> V3 {
        let u = (2.0 * (px as f32 + 0.5) / WIDTH as f32 - 1.0) * self.tan_h;
        let v = (1.0 - 2.0 * (py as f32 + 0.5) / HEIGHT as f32) * self.tan_v;
        norm([
            self.forward[0] + u * self.right[0] + v * self.up[0],
            self.forward[1] + u * self.right[1] + v * self.up[1],
            self.forward[2] + u * self.right[2] + v * self.up[2],
        ])
    }
}

#[derive(Debug, Clone, Copy)]
struct Car {
    x: f32,
    z: f32,
    albedo: f32,
}

/// An axis-aligned box and the reflectance of its top and of its sides.
struct Slab {
    min: V3,
    max: V3,
    top: f32,
    side: f32,
}

impl Car {
    fn parts(&self) -> [Slab; 3] {
        let (x, z, a) = (self.x, self.z, self.albedo);
        [
            // Underbody and tyres.
            Slab {
                min: [x - 1.9, 0.0, z - 0.85],
                max: [x + 1.9, 0.2, z + 0.85],
                top: 0.04,
                side: 0.04,
            },
            // Body.
            Slab {
                min: [x - 2.2, 0.2, z - 0.9],
                max: [x + 2.2, 0.9, z + 0.9],
                top: a,
                side: a * 0.7,
            },
            // Cabin: roof of the body's colour, glass around.
            Slab {
                min: [x - 1.0, 0.9, z - 0.78],
                max: [x + 1.1, 1.45, z + 0.78],
                top: a,
                side: 0.06,
            },
        ]
    }

    /// Distance on the floor from the car's footprint (0 under it).
    fn floor_distance(&self, x: f32, z: f32) -> f32 {
        let dx = ((x - self.x).abs() - 2.2).max(0.0);
        let dz = ((z - self.z).abs() - 0.9).max(0.0);
        dx.hypot(dz)
    }
}

struct Scene {
    car: Option<Car>,
    person: Option<(f32, f32)>,
}

const PERSON_RADIUS: f32 = 0.22;
const PERSON_HEIGHT: f32 = 1.5;
const HEAD: (f32, f32) = (1.62, 0.12);

impl Scene {
    /// Reflectance seen by the ray through pixel (`px`, `py`), and the x it lies at (for the
    /// light's slope).
    fn trace(&self, camera: &Camera, px: u32, py: u32) -> (f32, f32) {
        let o = camera.pos;
        let d = camera.ray(px, py);
        let mut best = (f32::INFINITY, 0.35f32);
        if let Some(car) = &self.car {
            for part in car.parts() {
                if let Some((t, top)) = hit_box(o, d, &part)
                    && t < best.0
                {
                    best = (t, if top { part.top } else { part.side });
                }
            }
        }
        if let Some((x, z)) = self.person {
            for (t, albedo) in hit_person(o, d, x, z) {
                if t < best.0 {
                    best = (t, albedo);
                }
            }
        }
        if d[1] < 0.0 {
            let t = -o[1] / d[1];
            if t < best.0 {
                let (x, z) = (o[0] + t * d[0], o[2] + t * d[2]);
                best = (t, self.floor(x, z));
            }
        }
        let x = if best.0.is_finite() {
            o[0] + best.0 * d[0]
        } else {
            0.0
        };
        (best.1, x)
    }

    fn floor(&self, x: f32, z: f32) -> f32 {
        let mut albedo = 0.42
            + 0.05 * (2.0 * value_noise(x * 4.0, z * 4.0) - 1.0)
            + 0.02 * (2.0 * value_noise(x * 19.0 + 7.0, z * 19.0) - 1.0);
        // Painted bay lines, 10 cm wide.
        let on = |v: f32, lo: f32, hi: f32| (lo - 0.1..=hi + 0.1).contains(&v);
        let near = |v: f32, edge: f32| (v - edge).abs() < 0.05;
        let on_bay = on(x, BAY_X.0, BAY_X.1) && on(z, BAY_Z.0, BAY_Z.1);
        if on_bay && (near(x, BAY_X.0) || near(x, BAY_X.1) || near(z, BAY_Z.0) || near(z, BAY_Z.1))
        {
            albedo = 0.75;
        }
        // An oil stain.
        if ((x - 1.2) / 0.5).powi(2) + ((z - 4.4) / 0.3).powi(2) < 1.0 {
            albedo *= 0.6;
        }
        // Contact shadows.
        if let Some(car) = &self.car {
            albedo *= 0.3 + 0.7 * smoothstep(0.0, 0.5, car.floor_distance(x, z));
        }
        if let Some((px, pz)) = self.person {
            albedo *= 0.55 + 0.45 * smoothstep(0.15, 0.55, (x - px).hypot(z - pz));
        }
        albedo
    }
}

/// Ray–box (slab method): distance and whether the top face was hit.
fn hit_box(o: V3, d: V3, b: &Slab) -> Option<(f32, bool)> {
    let (mut t0, mut t1) = (0.0f32, f32::INFINITY);
    let mut entry_axis = 0;
    for axis in 0..3 {
        if d[axis].abs() < 1e-9 {
            if o[axis] < b.min[axis] || o[axis] > b.max[axis] {
                return None;
            }
            continue;
        }
        let (mut a, mut c) = (
            (b.min[axis] - o[axis]) / d[axis],
            (b.max[axis] - o[axis]) / d[axis],
        );
        if a > c {
            std::mem::swap(&mut a, &mut c);
        }
        if a > t0 {
            t0 = a;
            entry_axis = axis;
        }
        t1 = t1.min(c);
        if t0 > t1 {
            return None;
        }
    }
    Some((t0, entry_axis == 1))
}

/// Ray against a standing person at (`x`, `z`): legs and shirt (a cylinder), head (a sphere).
fn hit_person(o: V3, d: V3, x: f32, z: f32) -> Vec<(f32, f32)> {
    let mut hits = Vec::new();
    // Cylinder around the vertical axis through (x, z).
    let (ox, oz) = (o[0] - x, o[2] - z);
    let a = d[0] * d[0] + d[2] * d[2];
    let b = 2.0 * (ox * d[0] + oz * d[2]);
    let c = ox * ox + oz * oz - PERSON_RADIUS * PERSON_RADIUS;
    let disc = b * b - 4.0 * a * c;
    if a > 1e-9 && disc >= 0.0 {
        let t = (-b - disc.sqrt()) / (2.0 * a);
        let y = o[1] + t * d[1];
        if t > 0.0 && (0.0..PERSON_HEIGHT).contains(&y) {
            hits.push((t, if y < 0.85 { 0.1 } else { 0.45 }));
        }
    }
    // The cylinder's top (shoulders), seen from above.
    if d[1] < 0.0 {
        let t = (PERSON_HEIGHT - o[1]) / d[1];
        let (hx, hz) = (o[0] + t * d[0] - x, o[2] + t * d[2] - z);
        if t > 0.0 && hx * hx + hz * hz <= PERSON_RADIUS * PERSON_RADIUS {
            hits.push((t, 0.5));
        }
    }
    let centre = [x, HEAD.0, z];
    let oc = sub(o, centre);
    let b = dot(oc, d);
    let c = dot(oc, oc) - HEAD.1 * HEAD.1;
    let disc = b * b - c;
    if disc >= 0.0 {
        let t = -b - disc.sqrt();
        if t > 0.0 {
            hits.push((t, 0.25));
        }
    }
    hits
}

/// The camera's transfer curve (sRGB: a linear toe, then a 1/2.4 power): not a pure power,
/// so a change of light is not exactly a gain in luma, as with real cameras.
fn srgb(linear: f32) -> f32 {
    if linear <= 0.003_130_8 {
        12.92 * linear
    } else {
        1.055 * linear.min(1.0).powf(1.0 / 2.4) - 0.055
    }
}

fn smoothstep(lo: f32, hi: f32, v: f32) -> f32 {
    let k = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    k * k * (3.0 - 2.0 * k)
}

/// SplitMix64 over a few words.
fn hash(words: &[u64]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for w in words {
        h ^= w.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(h << 6);
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
    }
    h
}

fn unit(h: u64) -> f32 {
    (h >> 40) as f32 / (1u64 << 24) as f32
}

/// Standard normal (Box–Muller) from a hash of `words`.
fn gaussian(words: &[u64]) -> f32 {
    let h = hash(words);
    let u1 = unit(h).max(1e-7);
    let u2 = unit(hash(&[h]));
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Smooth noise in 0…1 on a unit lattice (fixed: the floor is the same in every frame).
fn value_noise(x: f32, z: f32) -> f32 {
    let (ix, iz) = (x.floor(), z.floor());
    let (fx, fz) = (smoothstep(0.0, 1.0, x - ix), smoothstep(0.0, 1.0, z - iz));
    let corner = |dx: f32, dz: f32| {
        unit(hash(&[
            (ix + dx) as i64 as u64,
            (iz + dz) as i64 as u64,
            0xf100,
        ]))
    };
    let top = corner(0.0, 0.0) + (corner(1.0, 0.0) - corner(0.0, 0.0)) * fx;
    let bottom = corner(0.0, 1.0) + (corner(1.0, 1.0) - corner(0.0, 1.0)) * fx;
    top + (bottom - top) * fz
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn recordings_replay_as_they_were_rendered() {
        let dir = tempfile::tempdir().unwrap();
        let mut scenario = Scenario::empty(1.5, 7);
        scenario.car = Some(CarScript {
            albedo: 0.5,
            enter_at: 0.0,
            drive_s: 0.5,
        });
        let files = record(dir.path(), &scenario).unwrap();
        assert_eq!(files.len(), 3);
        let frames = replay(dir.path()).unwrap();
        assert_eq!(
            frames.iter().map(|f| f.t_s).collect::<Vec<_>>(),
            [0.0, 0.5, 1.0]
        );
        let gray = GrayFrame::from_rgb(frames[2].width, frames[2].height, &frames[2].rgb);
        assert_eq!(gray, scenario.frame(2, 1.0));
    }

    #[test]
    fn the_parked_car_darkens_its_place_and_the_floor_stays_put() {
        let mut scenario = Scenario::empty(1.0, 3);
        scenario.noise = 0.0;
        let empty = scenario.frame(0, 0.0);
        scenario.car = Some(CarScript {
            albedo: 0.08,
            enter_at: 0.0,
            drive_s: 0.1,
        });
        let parked = scenario.frame(1, 5.0);
        let at = |f: &GrayFrame, x: u32, y: u32| f.luma[(y * WIDTH + x) as usize];
        // The middle of the bay: floor, then the dark car.
        assert!(at(&empty, 160, 90) > 120, "{}", at(&empty, 160, 90));
        assert!(at(&parked, 160, 90) < 100, "{}", at(&parked, 160, 90));
        // A corner of the frame is the same floor in both.
        assert_eq!(at(&empty, 5, 175), at(&parked, 5, 175));
    }
}
