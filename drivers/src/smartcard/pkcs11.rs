//! Signing with the e-CPF A3 card through its PKCS#11 middleware (`cryptoki`), §14.
//!
//! The middleware is a shared library from the card's vendor; the station configures its path
//! or we probe the usual install locations ([`KNOWN_MODULES`]).

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};
use vistoria_core::signing::der::ecdsa_raw_to_der;
use vistoria_core::signing::{EcpfCertificate, PublicKeyKind, Signer, SignerError};

/// Where the middlewares of the cards sold in Brazil install their PKCS#11 module, probed in
/// this order when the station configures none: SafeNet/Thales eToken, Oberthur/IDEMIA
/// (AET SafeSign), Watchdata, G&D/Valid (SafeSign), OpenSC.
pub const KNOWN_MODULES: &[&str] = &[
    "/usr/lib/libeTPkcs11.so",
    "/usr/lib/x86_64-linux-gnu/libeTPkcs11.so",
    "/usr/lib/libaetpkss.so",
    "/usr/lib/libaetpkss.so.3",
    "/usr/lib/watchdata/ICP/lib/libwdpkcs_icp.so",
    "/usr/lib/watchdata/lib/libwdpkcs.so",
    "/usr/lib/libwdpkcs.so",
    "/usr/lib/libgclib.so",
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
];

/// The module to load: the configured one when given (even if absent, so the error names
/// it), else the first of [`KNOWN_MODULES`] that exists.
pub fn find_module(configured: Option<&Path>) -> Option<PathBuf> {
    match configured {
        Some(path) => Some(path.to_path_buf()),
        None => KNOWN_MODULES.iter().map(PathBuf::from).find(|p| p.exists()),
    }
}

/// Maps a PKCS#11 failure to what the inspector reads. `final_try` is the token's
/// `CKF_USER_PIN_FINAL_TRY` flag read after a wrong PIN.
pub fn map_error(error: &CkError, final_try: bool) -> SignerError {
    match error {
        CkError::Pkcs11(rv, _) => match rv {
            RvError::PinIncorrect if final_try => SignerError::WrongPinLastTry,
            RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange => {
                SignerError::WrongPin
            }
            RvError::PinLocked => SignerError::PinLocked,
            RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed => SignerError::CardRemoved,
            other => SignerError::Device(other.to_string()),
        },
        CkError::LibraryLoading(e) => SignerError::Module(e.to_string()),
        other => SignerError::Device(other.to_string()),
    }
}

/// A logged-in session on the card, holding the signing key and its certificate.
pub struct Pkcs11Signer {
    // Keep the context alive as long as the session.
    _pkcs11: Pkcs11,
    session: Session,
    key: ObjectHandle,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    supports_ecdsa_sha256: bool,
    token_label: String,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token_label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Loads `module`, finds the first token (or the one labelled `token_label`), logs in with
    /// `pin` and picks the certificate whose private key (same `CKA_ID`) can sign, preferring
    /// one with a CPF (an e-CPF) when the card has several.
    pub fn open(
        module: &Path,
        pin: &str,
        token_label: Option<&str>,
    ) -> Result<Pkcs11Signer, SignerError> {
        let pkcs11 = Pkcs11::new(module)
            .map_err(|e| SignerError::Module(format!("{}: {e}", module.display())))?;
        match pkcs11.initialize(CInitializeArgs::OsThreads) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(map_error(&e, false)),
        }
        let slots = pkcs11
            .get_slots_with_token()
            .map_err(|e| map_error(&e, false))?;
        let mut chosen: Option<(Slot, String)> = None;
        for slot in slots {
            let info = pkcs11
                .get_token_info(slot)
                .map_err(|e| map_error(&e, false))?;
            let label = info.label().trim().to_owned();
            if token_label.is_none_or(|wanted| wanted == label) {
                if info.user_pin_locked() {
                    return Err(SignerError::PinLocked);
                }
                chosen = Some((slot, label));
                break;
            }
        }
        let (slot, token_label) = chosen.ok_or(SignerError::NoCard)?;
        let session = pkcs11
            .open_ro_session(slot)
            .map_err(|e| map_error(&e, false))?;
        let secret = AuthPin::new(pin.to_owned());
        if let Err(e) = session.login(UserType::User, Some(&secret)) {
            // Only CKF_USER_PIN_FINAL_TRY says something about the tries left: COUNT_LOW is
            // set by any wrong PIN since the last good one (PKCS#11 2.40 §5.7.3).
            let final_try = pkcs11
                .get_token_info(slot)
                .map(|i| i.user_pin_final_try())
                .unwrap_or(false);
            return Err(map_error(&e, final_try));
        }
        let supports_ecdsa_sha256 = pkcs11
            .get_mechanism_list(slot)
            .map(|list| list.contains(&cryptoki::mechanism::MechanismType::ECDSA_SHA256))
            .unwrap_or(false);

        let certs = session
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::CertificateType(CertificateType::X_509),
            ])
            .map_err(|e| map_error(&e, false))?;
        let mut found: Vec<(Vec<u8>, ObjectHandle, bool)> = Vec::new();
        let mut others = Vec::new();
        for cert in certs {
            let attrs = session
                .get_attributes(cert, &[AttributeType::Value, AttributeType::Id])
                .map_err(|e| map_error(&e, false))?;
            let (mut value, mut id) = (None, None);
            for attr in attrs {
                match attr {
                    Attribute::Value(v) => value = Some(v),
                    Attribute::Id(i) => id = Some(i),
                    _ => {}
                }
            }
            let Some(value) = value else { continue };
            let key = match id {
                Some(id) => session
                    .find_objects(&[
                        Attribute::Class(ObjectClass::PRIVATE_KEY),
                        Attribute::Id(id),
                    ])
                    .map_err(|e| map_error(&e, false))?
                    .into_iter()
                    .next(),
                None => None,
            };
            match key {
                Some(key) => {
                    let has_cpf =
                        EcpfCertificate::from_der(&value).is_ok_and(|c| c.cpf().is_some());
                    found.push((value, key, has_cpf));
                }
                None => others.push(value),
            }
        }
        found.sort_by_key(|(_, _, has_cpf)| !*has_cpf);
        let (certificate, key, _) = found.into_iter().next().ok_or(SignerError::NoKey)?;
        Ok(Pkcs11Signer {
            _pkcs11: pkcs11,
            session,
            key,
            certificate,
            chain: others,
            supports_ecdsa_sha256,
            token_label,
        })
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }
}

impl Signer for Pkcs11Signer {
    fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain.clone()
    }

    fn sign(&mut self, message: &[u8], kind: PublicKeyKind) -> Result<Vec<u8>, SignerError> {
        let sign = |mechanism: &Mechanism, data: &[u8]| {
            self.session
                .sign(mechanism, self.key, data)
                .map_err(|e| map_error(&e, false))
        };
        match kind {
            PublicKeyKind::Rsa => sign(&Mechanism::Sha256RsaPkcs, message),
            PublicKeyKind::EcdsaP256 => {
                // Many cards only offer raw CKM_ECDSA: hash here, sign the digest.
                let raw = if self.supports_ecdsa_sha256 {
                    sign(&Mechanism::EcdsaSha256, message)?
                } else {
                    sign(&Mechanism::Ecdsa, &Sha256::digest(message))?
                };
                ecdsa_raw_to_der(&raw)
                    .ok_or_else(|| SignerError::Device("assinatura ECDSA malformada".into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    #[test]
    fn token_errors_become_the_inspectors_messages() {
        let ck = |rv| CkError::Pkcs11(rv, Function::Sign);
        assert_eq!(
            map_error(&ck(RvError::PinIncorrect), false),
            SignerError::WrongPin
        );
        assert_eq!(
            map_error(&ck(RvError::PinIncorrect), true),
            SignerError::WrongPinLastTry
        );
        assert_eq!(
            map_error(&ck(RvError::PinLocked), false),
            SignerError::PinLocked
        );
        for removed in [
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
            RvError::SessionHandleInvalid,
        ] {
            assert_eq!(map_error(&ck(removed), false), SignerError::CardRemoved);
        }
        assert_eq!(
            SignerError::CardRemoved.to_string(),
            "o cartão foi retirado durante a assinatura; recoloque o e-CPF e assine de novo"
        );
        assert!(
            SignerError::WrongPinLastTry
                .to_string()
                .contains("resta só uma tentativa")
        );
        assert!(
            SignerError::PinLocked
                .to_string()
                .starts_with("PIN bloqueado")
        );
    }

    #[test]
    fn a_configured_module_wins_over_probing() {
        let configured = Path::new("/opt/card/lib.so");
        assert_eq!(
            find_module(Some(configured)),
            Some(configured.to_path_buf())
        );
        assert!(KNOWN_MODULES.iter().any(|m| m.ends_with("libeTPkcs11.so")));
        assert!(
            KNOWN_MODULES
                .iter()
                .any(|m| m.ends_with("opensc-pkcs11.so"))
        );
    }
}
