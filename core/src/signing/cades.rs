//! CAdES-BES detached SignedData (RFC 5652, ETSI TS 101 733, DOC-ICP-15.03) under the
//! ICP-Brasil AD-RB policy: what the laudo's `.p7s` is (§14).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::certificate::EcpfCertificate;
use super::der::{
    algorithm, context_constructed, octet_string, oid, sequence, set_of, small_integer, time, tlv,
};
use super::keys::{OID_ECDSA_SHA256, OID_SHA256_RSA, PublicKeyKind};
use super::{Signer, SignerError, SigningError};

/// id-signedData.
pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// id-data.
pub const OID_DATA: &str = "1.2.840.113549.1.7.1";
/// id-sha256.
pub const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// id-contentType.
pub const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// id-messageDigest.
pub const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// id-signingTime.
pub const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
/// id-aa-signingCertificateV2 (RFC 5035).
pub const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
/// id-aa-ets-sigPolicyId.
pub const OID_SIG_POLICY_ID: &str = "1.2.840.113549.1.9.16.2.15";
/// id-spq-ets-uri.
pub const OID_SPQ_URI: &str = "1.2.840.113549.1.9.16.5.1";
/// ICP-Brasil AD-RB (Referência Básica) CAdES policy, version 2.3.
pub const OID_AD_RB_V2_3: &str = "2.16.76.1.7.1.1.2.3";
/// Where ITI publishes the AD-RB v2.3 policy artefact.
pub const AD_RB_V2_3_URI: &str = "http://politicas.icpbrasil.gov.br/PA_AD_RB_v2_3.der";

/// The signature policy named in the signed attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// Policy OID.
    pub oid: String,
    /// SHA-256 policy hash (`sigPolicyHash`).
    pub hash: [u8; 32],
    /// Where the policy is published (`sigPolicyQualifiers` SPuri).
    pub uri: String,
}

impl SignaturePolicy {
    /// AD-RB v2.3 with the `signPolicyHash` that ITI's artefact carries (Nota Técnica
    /// 003/2016-CGNP/ITI: signatures quote the hash embedded in the `.der`). This value was
    /// taken from public implementations, not from the artefact on this machine; stations
    /// load the artefact with [`SignaturePolicy::from_artifact`] to be sure.
    pub fn ad_rb_v2_3() -> SignaturePolicy {
        const HASH_HEX: &str = "b16e88bbf77322a67995b79078778ed3d0ea7c88587b6f6d518b715e8f76a3d5";
        let mut hash = [0u8; 32];
        hex::decode_to_slice(HASH_HEX, &mut hash).expect("a 64-digit hex constant");
        SignaturePolicy {
            oid: OID_AD_RB_V2_3.into(),
            hash,
            uri: AD_RB_V2_3_URI.into(),
        }
    }

    /// AD-RB v2.3 with the hash read from ITI's policy artefact (`PA_AD_RB_v2_3.der`): the
    /// OCTET STRING that ends its outer SEQUENCE (`signPolicyHash`).
    pub fn from_artifact(artifact: &[u8]) -> Result<SignaturePolicy, SigningError> {
        let bad = || SigningError::Policy("artefato de política ilegível".into());
        let outer: der::asn1::Any = der::Decode::from_der(artifact).map_err(|_| bad())?;
        let mut rest = outer.value();
        let mut last = None;
        while !rest.is_empty() {
            let element = super::der::first_tlv(rest).ok_or_else(bad)?;
            rest = &rest[element.len()..];
            last = Some(element);
        }
        let last = last.ok_or_else(bad)?;
        // OCTET STRING of 32 bytes: tag, length 32, value.
        if last.len() != 34 || last[0] != 0x04 || last[1] != 32 {
            return Err(bad());
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&last[2..]);
        Ok(SignaturePolicy {
            hash,
            ..SignaturePolicy::ad_rb_v2_3()
        })
    }
}

/// The DER of the signed attributes as a SET OF (what is hashed and signed, RFC 5652 §5.4).
pub fn signed_attributes(
    content: &[u8],
    certificate: &EcpfCertificate,
    signing_time: DateTime<Utc>,
    policy: &SignaturePolicy,
) -> Result<Vec<u8>, SigningError> {
    let attribute = |type_oid: &str, value: &[u8]| sequence(&[&oid(type_oid), &set_of(&[value])]);
    let content_type = attribute(OID_CONTENT_TYPE, &oid(OID_DATA));
    let digest = attribute(OID_MESSAGE_DIGEST, &octet_string(&Sha256::digest(content)));
    let signing = attribute(OID_SIGNING_TIME, &time(signing_time));

    // ESSCertIDv2 with the default hash algorithm (SHA-256) omitted, as DER requires, and
    // IssuerSerial present (DOC-ICP-15.03 asks for it).
    let (issuer, serial) = issuer_and_serial(certificate)?;
    let general_names = sequence(&[&context_constructed(4, &issuer)]);
    let issuer_serial = sequence(&[&general_names, &serial]);
    let cert_id = sequence(&[
        &octet_string(&Sha256::digest(certificate.der())),
        &issuer_serial,
    ]);
    let signing_cert = attribute(
        OID_SIGNING_CERTIFICATE_V2,
        &sequence(&[&sequence(&[&cert_id])]),
    );

    let qualifier = sequence(&[&oid(OID_SPQ_URI), &super::der::ia5_string(&policy.uri)]);
    let policy_id = sequence(&[
        &oid(&policy.oid),
        &sequence(&[&algorithm(OID_SHA256, false), &octet_string(&policy.hash)]),
        &sequence(&[&qualifier]),
    ]);
    let policy_attr = attribute(OID_SIG_POLICY_ID, &policy_id);

    Ok(set_of(&[
        &content_type,
        &digest,
        &signing,
        &signing_cert,
        &policy_attr,
    ]))
}

fn issuer_and_serial(certificate: &EcpfCertificate) -> Result<(Vec<u8>, Vec<u8>), SigningError> {
    use der::Encode;
    let tbs = &certificate.x509().tbs_certificate;
    let issuer = tbs
        .issuer
        .to_der()
        .map_err(|e| SigningError::Encoding(e.to_string()))?;
    let serial = tbs
        .serial_number
        .to_der()
        .map_err(|e| SigningError::Encoding(e.to_string()))?;
    Ok((issuer, serial))
}

/// Signs `content` (the laudo's canonical bytes) and returns the detached CAdES-BES `.p7s`
/// (DER ContentInfo). `chain` adds CA certificates to the `certificates` field.
pub fn sign_detached(
    signer: &mut dyn Signer,
    content: &[u8],
    signing_time: DateTime<Utc>,
    policy: &SignaturePolicy,
    chain: &[EcpfCertificate],
) -> Result<Vec<u8>, SigningError> {
    let certificate = EcpfCertificate::from_der(signer.certificate_der())?;
    let kind = certificate
        .key_kind()
        .ok_or(SigningError::Signer(SignerError::UnsupportedKey))?;
    let attrs = signed_attributes(content, &certificate, signing_time, policy)?;
    let signature = signer.sign(&attrs, kind)?;
    signed_data(&certificate, chain, kind, &attrs, &signature)
}

/// The ContentInfo of a detached SignedData from its parts: the signed attributes as a SET OF
/// and the signature over them. Separate so tests can assemble hostile attributes.
pub(crate) fn signed_data(
    certificate: &EcpfCertificate,
    chain: &[EcpfCertificate],
    kind: PublicKeyKind,
    attrs: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, SigningError> {
    let (issuer, serial) = issuer_and_serial(certificate)?;
    let signature_algorithm = match kind {
        PublicKeyKind::Rsa => algorithm(OID_SHA256_RSA, true),
        PublicKeyKind::EcdsaP256 => algorithm(OID_ECDSA_SHA256, false),
    };
    // [0] IMPLICIT SignedAttributes: same content as the SET OF, tag 0xA0.
    let implicit_attrs = tlv(0xA0, attrs.get(header_len(attrs)..).unwrap_or_default());
    let signer_info = sequence(&[
        &small_integer(1),
        &sequence(&[&issuer, &serial]),
        &algorithm(OID_SHA256, false),
        &implicit_attrs,
        &signature_algorithm,
        &octet_string(signature),
    ]);
    let mut certs: Vec<&[u8]> = vec![certificate.der()];
    certs.extend(chain.iter().map(EcpfCertificate::der));
    let signed_data = sequence(&[
        &small_integer(1),
        &set_of(&[&algorithm(OID_SHA256, false)]),
        &sequence(&[&oid(OID_DATA)]),
        &tlv(0xA0, &certs.concat()),
        &set_of(&[&signer_info]),
    ]);
    Ok(sequence(&[
        &oid(OID_SIGNED_DATA),
        &context_constructed(0, &signed_data),
    ]))
}

fn header_len(tlv_bytes: &[u8]) -> usize {
    match tlv_bytes.get(1) {
        Some(b) if *b >= 0x80 => 2 + (*b & 0x7F) as usize,
        _ => 2,
    }
}
