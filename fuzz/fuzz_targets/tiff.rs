//! The TIFF reader (FVC sets, the simulated reader's folders) on hostile bytes: dimensions,
//! strip offsets and counts are all claims of the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vistoria_core::biometrics::GrayImage;

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = GrayImage::from_tiff(data) {
        assert_eq!(image.pixels.len(), image.width * image.height);
        assert!(image.pixels.len() <= data.len(), "more pixels than bytes");
        assert_eq!(GrayImage::from_tiff(&image.to_tiff()).as_ref(), Ok(&image));
    }
});
