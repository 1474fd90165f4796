//! The central's `.p7s` check on hostile bytes: the CMS/X.509 parsers, our DER walker over
//! the signed attributes (signingCertificateV2, the policy), the certificate reader and the
//! AD-RB policy artefact reader. Seeds: real `.p7s` signed over [`CONTENT`] (see README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vistoria_core::signing::{EcpfCertificate, SignaturePolicy, der, verify_p7s};

/// What the seed signatures sign (the same constant as the proptest harness in core).
const CONTENT: &[u8] = vistoria_core::signing::FUZZ_CONTENT;
const CPF: &str = "52998224725";

fuzz_target!(|data: &[u8]| {
    if let Ok(verified) = verify_p7s(CONTENT, data, CPF) {
        assert_eq!(verified.cpf, CPF);
        let _ = verified.check_chain(&[], &[], verified.signing_time);
    }
    if let Some(tlv) = der::first_tlv(data) {
        assert!(tlv.len() <= data.len());
        let _ = der::tlv_content(tlv);
    }
    let _ = SignaturePolicy::from_artifact(data);
    if let Ok(cert) = EcpfCertificate::from_der(data) {
        let _ = (
            cert.cpf(),
            cert.holder_name(),
            cert.serial_hex(),
            cert.key_kind(),
        );
    }
});
