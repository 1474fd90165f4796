//! The canonical laudo reader (what the central reads back from a package before checking the
//! signature over it): only canonical bytes of a known version are a laudo.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vistoria_core::laudo::Laudo;

fuzz_target!(|data: &[u8]| {
    if let Ok(laudo) = Laudo::from_canonical(data) {
        assert_eq!(laudo.canonical_bytes(), data);
    }
});
