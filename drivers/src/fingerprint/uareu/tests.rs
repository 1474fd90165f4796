//! The driver against the device model: the whole conversation, without hardware.

use std::time::Duration;

use super::model::DeviceModel;
use super::protocol::{self, IMAGE_HEIGHT, IMAGE_WIDTH, Mode};
use super::{State, UareU};
use crate::fingerprint::{FingerprintReader, capture_touch};
use crate::{Device, DeviceError, DeviceStatus};

fn finger() -> Vec<u8> {
    (0..IMAGE_WIDTH * IMAGE_HEIGHT)
        .map(|i| {
            let (x, y) = (i % IMAGE_WIDTH, i / IMAGE_WIDTH);
            (((x as f32 * 0.7 + y as f32 * 0.3).sin() * 90.0) + 128.0) as u8
        })
        .collect()
}

const T: Duration = Duration::from_millis(200);

#[test]
fn init_powers_up_and_reads_the_version() {
    let mut reader = UareU::new(DeviceModel::new(42));
    reader.init().unwrap();
    assert_eq!(reader.state(), State::Ready);
    assert_eq!(reader.version, Some([0x45, 0x00, 0x01, 0x02]));
    // The host cleared the low-power bit with a vendor write to HWSTAT.
    let log = &reader.transport().log;
    assert!(log.iter().any(|(s, d)| s.value == protocol::REG_HWSTAT
        && s.request_type == protocol::CTRL_OUT
        && d.as_slice() == [0x01]));
}

#[test]
fn a_touch_gives_the_descrambled_image() {
    let image = finger();
    let mut reader = UareU::new(DeviceModel::new(7));
    reader.transport().put_finger(image.clone());
    reader.await_finger(T).unwrap();
    assert_eq!(reader.state(), State::FingerOn);
    let got = reader.capture().unwrap();
    assert_eq!((got.width, got.height), (IMAGE_WIDTH, IMAGE_HEIGHT));
    assert_eq!(reader.transport().mode(), Mode::AwaitFingerOff);
    reader.transport().lift_finger();
    reader.await_removal(T).unwrap();
    assert_eq!(reader.state(), State::Ready);
    // Every pixel survives except the last byte of each encrypted block (never transmitted)
    // and the one line the device does not send.
    let differing = got
        .pixels
        .iter()
        .zip(&image)
        .filter(|(a, b)| a != b)
        .count();
    assert!(differing <= IMAGE_WIDTH + 3, "{differing} pixels differ");
    // The key was fetched twice (initial and after the key change), with the masked request.
    let key_reads = reader
        .transport()
        .log
        .iter()
        .filter(|(s, _)| s.value == protocol::REG_SCRAMBLE_DATA_KEY)
        .count();
    assert_eq!(key_reads, 2);
}

#[test]
fn encrypted_and_plain_transfers_decode_alike() {
    // The 4500 scrambles, some 4000B firmwares do not: both give the same picture.
    let image = finger();
    let mut model = DeviceModel::new(7);
    model.put_finger(image.clone());
    model.encrypt = true;
    let mut reader = UareU::new(model);
    reader.await_finger(T).unwrap();
    let good = reader.capture().unwrap();
    let mut other = DeviceModel::new(8);
    other.encrypt = false;
    assert_ne!(good.pixels, vec![0; good.pixels.len()]);
    let plain = {
        let mut r = UareU::new(other);
        r.transport().put_finger(image.clone());
        r.await_finger(T).unwrap();
        r.capture().unwrap()
    };
    let same = good
        .pixels
        .iter()
        .zip(&plain.pixels)
        .filter(|(a, b)| a == b)
        .count();
    assert!(same > good.pixels.len() * 99 / 100);
}

#[test]
fn no_finger_times_out() {
    let mut reader = UareU::new(DeviceModel::new(1));
    let err = reader.await_finger(Duration::from_millis(30)).unwrap_err();
    assert!(matches!(err, DeviceError::Timeout(_)));
    assert!(matches!(reader.capture(), Err(DeviceError::Fault(_))));
}

#[test]
fn unplug_mid_capture_is_reported_and_replug_recovers() {
    let mut reader = UareU::new(DeviceModel::new(3));
    reader.transport().put_finger(finger());
    reader.await_finger(T).unwrap();
    reader.transport().unplug();
    assert!(matches!(reader.capture(), Err(DeviceError::Missing(_))));
    assert_eq!(reader.state(), State::Unplugged);
    assert_eq!(reader.status(), DeviceStatus::Missing);
    reader.transport().plug();
    reader.transport().put_finger(finger());
    let img = capture_touch_after_lift(&mut reader);
    assert_eq!(img.len(), IMAGE_WIDTH * IMAGE_HEIGHT);
    assert_eq!(reader.status(), DeviceStatus::Ready);
}

fn capture_touch_after_lift(reader: &mut UareU<DeviceModel>) -> Vec<u8> {
    reader.await_finger(T).unwrap();
    let img = reader.capture().unwrap();
    reader.transport().lift_finger();
    reader.await_removal(T).unwrap();
    img.pixels
}

#[test]
fn truncated_transfer_and_stuck_sensor_are_faults() {
    let mut reader = UareU::new(DeviceModel::new(5));
    reader.transport().put_finger(finger());
    reader.transport().truncate_next = Some(1000);
    reader.await_finger(T).unwrap();
    let err = reader.capture().unwrap_err();
    assert!(err.to_string().contains("truncada"), "{err}");

    let mut model = DeviceModel::new(5);
    model.stuck_low_power = true;
    let mut stuck = UareU::new(model);
    assert!(matches!(stuck.self_test(), Err(DeviceError::Fault(_))));
}

#[test]
fn capture_touch_waits_for_lift() {
    let mut model = DeviceModel::new(9);
    model.put_finger(finger());
    let mut reader = UareU::new(model);
    // The finger never lifts: the touch times out waiting for removal.
    let err = capture_touch(&mut reader, Duration::from_millis(40)).unwrap_err();
    assert!(matches!(err, DeviceError::Timeout(_)));
}

/// A reader (or something pretending to be one on the USB bus) sending a crafted header whose
/// blocks lay out more lines than the image has: the capture fails with the header named,
/// where `assemble` used to index past the image and panic (issue 17).
#[test]
fn a_crafted_image_header_is_a_fault_not_a_panic() {
    use super::protocol::{ImageHeader, block, encode_header};
    let mut reader = UareU::new(DeviceModel::new(11));
    reader.init().unwrap();
    reader.transport().put_finger(finger());
    let header = ImageHeader {
        num_lines: 2,
        key_number: 0,
        blocks: vec![(block::NOT_PRESENT, 255); 15],
    };
    let mut raw = encode_header(&header).to_vec();
    raw.extend(vec![9u8; 2 * IMAGE_WIDTH]);
    reader.transport().raw_next = Some(raw);
    reader.await_finger(T).unwrap();
    let err = reader.capture().unwrap_err();
    assert!(matches!(err, DeviceError::Fault(_)), "{err}");
    assert!(err.to_string().contains("cabeçalho"), "{err}");
}
