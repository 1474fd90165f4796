//! The inspector's e-CPF A3 card at the signature (§14, 2j): the PKCS#11 middleware the
//! station uses (configured, or the first of the known locations), the ICP-Brasil roots its
//! certificate must chain to, and the signature of the laudo's canonical bytes.
//!
//! Demo mode uses a real SoftHSM2 token made on first start in the data folder
//! ([`demo_token`]), holding an e-CPF-like certificate for the demo inspector issued by a demo
//! CA: the kiosk signs through the very same PKCS#11 path as with a real card.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use vistoria_core::signing::test_pki::{self, TestPki};
use vistoria_core::signing::{
    DetachedSignature, EcpfCertificate, SignaturePolicy, Signer, SigningContext, sign_checked,
};
use vistoria_drivers::smartcard::{Pkcs11Signer, ReaderWatcher, find_module};

use super::Failure;

/// How the station reaches the inspector's card.
#[derive(Debug, Clone)]
pub enum CardSetup {
    /// Through a PKCS#11 module.
    Pkcs11 {
        /// The middleware; `None` probes the known install locations.
        module: Option<PathBuf>,
        /// Only the token with this label (demo mode), else the first with a card.
        token_label: Option<String>,
        /// ICP-Brasil roots (DER) the certificate must chain to.
        roots: Vec<Vec<u8>>,
    },
    /// No card can sign on this station; why, in Portuguese (shown at the signature).
    Unavailable(String),
    /// Being prepared on a background thread (demo mode's token on a first start, which takes
    /// a few seconds of key generation the window should not wait for).
    Preparing(Arc<Mutex<Preparing>>),
}

/// A card setup still being made, then made.
#[derive(Debug)]
pub enum Preparing {
    /// The thread making it.
    Running(std::thread::JoinHandle<CardSetup>),
    /// What it made.
    Done(CardSetup),
}

impl CardSetup {
    /// The setup to use now: a [`CardSetup::Preparing`] waits for its thread.
    fn ready(&self) -> CardSetup {
        let CardSetup::Preparing(preparing) = self else {
            return self.clone();
        };
        let mut state = preparing.lock().unwrap_or_else(PoisonError::into_inner);
        let placeholder = Preparing::Done(CardSetup::Unavailable(String::new()));
        let done = match std::mem::replace(&mut *state, placeholder) {
            Preparing::Running(handle) => handle.join().unwrap_or_else(|_| {
                CardSetup::Unavailable("a preparação do cartão de demonstração falhou".into())
            }),
            Preparing::Done(setup) => setup,
        };
        *state = Preparing::Done(done.clone());
        done
    }
}

impl CardSetup {
    /// What the signature will go through, in Portuguese, for Diagnóstico.
    pub fn describe(&self) -> String {
        match self {
            CardSetup::Pkcs11 {
                module,
                token_label,
                roots,
            } => {
                let module = match find_module(module.as_deref()) {
                    Some(path) => format!("Middleware PKCS#11: {}", path.display()),
                    None => "Nenhum middleware PKCS#11 encontrado nesta estação".to_owned(),
                };
                let token = token_label
                    .as_ref()
                    .map(|label| format!(" · token «{label}»"))
                    .unwrap_or_default();
                format!(
                    "{module}{token} · {} certificado(s) raiz ICP-Brasil aceito(s)",
                    roots.len()
                )
            }
            CardSetup::Unavailable(why) => why.clone(),
            CardSetup::Preparing(preparing) => {
                match &*preparing.lock().unwrap_or_else(PoisonError::into_inner) {
                    Preparing::Running(_) => {
                        "Preparando o token de demonstração (SoftHSM2)…".to_owned()
                    }
                    Preparing::Done(setup) => setup.describe(),
                }
            }
        }
    }

    /// Opens the card with `pin` and signs `content` after the §14 checks (certificate CPF =
    /// the inspector's, valid at central time, digitalSignature, chain to the roots, and the
    /// station's own biometric `check`, which only core's matcher makes).
    pub fn sign(
        &self,
        pin: &str,
        inspector_cpf: &str,
        check: &vistoria_core::biometrics::BiometricCheck,
        now: chrono::DateTime<chrono::Utc>,
        content: &[u8],
    ) -> Result<(DetachedSignature, EcpfCertificate), Failure> {
        let (module, token_label, roots) = match self.ready() {
            CardSetup::Pkcs11 {
                module,
                token_label,
                roots,
            } => (module, token_label, roots),
            CardSetup::Unavailable(why) => return Err(Failure::Device(why)),
            CardSetup::Preparing(_) => {
                return Err(Failure::device(
                    "cartão de demonstração ainda em preparação",
                ));
            }
        };
        if pin.trim().is_empty() {
            return Err(Failure::rule("digite o PIN do cartão e-CPF"));
        }
        let module = find_module(module.as_deref()).ok_or_else(|| {
            Failure::device(
                "nenhum middleware de cartão e-CPF (PKCS#11) encontrado nesta estação; chame o técnico",
            )
        })?;
        let roots: Vec<EcpfCertificate> = roots
            .iter()
            .filter_map(|der| EcpfCertificate::from_der(der).ok())
            .collect();
        let mut card = Pkcs11Signer::open(&module, pin, token_label.as_deref())
            .map_err(|e| Failure::device(e.to_string()))?;
        let certificate = EcpfCertificate::from_der(card.certificate_der())
            .map_err(|e| Failure::device(e.to_string()))?;
        let policy = SignaturePolicy::ad_rb_v2_3();
        let signed = sign_checked(
            &mut card,
            content,
            &SigningContext {
                inspector_cpf,
                now,
                roots: &roots,
                policy: &policy,
                biometric_matched: check.score() >= check.threshold(),
            },
        )
        // The §14 checks refused the certificate (someone else's, expired, not ICP-Brasil).
        .map_err(|e| Failure::rule(e.to_string()))?;
        Ok((signed, certificate))
    }
}

/// The PC/SC readers and whether each holds a card, as `pcscd` sees them now.
pub fn readers() -> Result<Vec<(String, bool)>, Failure> {
    let mut watcher = ReaderWatcher::new().map_err(|e| Failure::device(e.to_string()))?;
    watcher
        .poll(std::time::Duration::ZERO)
        .map_err(|e| Failure::device(e.to_string()))?;
    Ok(watcher
        .snapshot()
        .iter()
        .map(|(reader, atr)| (reader.clone(), atr.is_some()))
        .collect())
}

/// Where demo mode keeps its token: `DATA/ecpf-demo`.
pub fn demo_token_dir(data: &Path) -> PathBuf {
    data.join("ecpf-demo")
}

/// The SoftHSM2 configuration of the demo token in `data` (what `SOFTHSM2_CONF` must name
/// before the module is first loaded: SoftHSM2 reads it only from the environment).
pub fn demo_softhsm_conf(data: &Path) -> PathBuf {
    demo_token_dir(data).join("softhsm2.conf")
}

/// [`demo_token`], made on a background thread when it is not there yet.
pub fn demo_token_soon(dir: &Path, name: &str, cpf: &str) -> CardSetup {
    if TestPki::exists(dir, true) {
        return demo_token(dir, name, cpf);
    }
    let (dir, name, cpf) = (dir.to_path_buf(), name.to_owned(), cpf.to_owned());
    match std::thread::Builder::new()
        .name("demo-ecpf-token".into())
        .spawn(move || demo_token(&dir, &name, &cpf))
    {
        Ok(handle) => CardSetup::Preparing(Arc::new(Mutex::new(Preparing::Running(handle)))),
        Err(e) => CardSetup::Unavailable(format!("cartão de demonstração: {e}")),
    }
}

/// Demo mode's card: the SoftHSM2 token in `dir` (usually [`demo_token_dir`]) for the
/// inspector `name`/`cpf`, made on first start (PIN [`test_pki::TOKEN_PIN`]); a test PKI
/// without a token found there is made again with one. Without SoftHSM2 the signature step
/// says what to install, and the inspection waits, concluded, until it can be signed.
pub fn demo_token(dir: &Path, name: &str, cpf: &str) -> CardSetup {
    let dir = dir.to_path_buf();
    if !TestPki::exists(&dir, true) {
        let missing = test_pki::missing_tools(true);
        if !missing.is_empty() {
            return CardSetup::Unavailable(format!(
                "Cartão de demonstração indisponível: falta instalar {} (pacotes softhsm2 e opensc; \
                 rode installer/setup-dev.sh). A vistoria continua concluída e pode ser assinada depois.",
                missing.join(", ")
            ));
        }
        // A half-made token from an interrupted start is made again from scratch.
        let _ = std::fs::remove_dir_all(&dir);
        let options = test_pki::Options {
            softhsm: true,
            name: Some(name),
            ..test_pki::Options::default()
        };
        if let Err(e) = test_pki::make(&dir, cpf, &options) {
            tracing::error!(%e, "demo token not made");
            let _ = std::fs::remove_dir_all(&dir);
            return CardSetup::Unavailable(format!(
                "Cartão de demonstração (SoftHSM2) não pôde ser criado: {e}"
            ));
        }
    }
    let pki = TestPki { dir };
    let conf = pki.softhsm_conf();
    if std::env::var_os("SOFTHSM2_CONF").is_none_or(|v| Path::new(&v) != conf) {
        return CardSetup::Unavailable(format!(
            "Cartão de demonstração: o SoftHSM2 deste processo não usa {} (SOFTHSM2_CONF)",
            conf.display()
        ));
    }
    let roots = std::fs::read(pki.file("ca.der")).map(|ca| vec![ca]);
    match (pki.module(), roots) {
        (Some(module), Ok(roots)) => CardSetup::Pkcs11 {
            module: Some(module),
            token_label: Some(test_pki::TOKEN_LABEL.to_owned()),
            roots,
        },
        _ => CardSetup::Unavailable(
            "Cartão de demonstração incompleto; apague a pasta de dados".into(),
        ),
    }
}

/// The ICP-Brasil roots a real station trusts: every certificate (PEM or DER) in `dir`.
pub fn roots_in(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut roots = Vec::new();
    for entry in entries.flatten() {
        let Ok(bytes) = std::fs::read(entry.path()) else {
            continue;
        };
        match vistoria_core::signing::certificate::certificates_from_pem_or_der(&bytes) {
            Ok(certs) => roots.extend(certs.iter().map(|c| c.der().to_vec())),
            Err(e) => tracing::warn!(path = %entry.path().display(), %e, "not a certificate"),
        }
    }
    roots
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_say_what_the_signature_goes_through() {
        let configured = CardSetup::Pkcs11 {
            module: Some(PathBuf::from("/opt/middleware/libaetpkss.so")),
            token_label: None,
            roots: vec![Vec::new(), Vec::new()],
        };
        let text = configured.describe();
        assert!(text.contains("/opt/middleware/libaetpkss.so"), "{text}");
        assert!(text.contains("2 certificado(s) raiz"), "{text}");
        let missing = CardSetup::Unavailable("nenhum cartão configurado".into());
        assert_eq!(missing.describe(), "nenhum cartão configurado");
        let preparing = CardSetup::Preparing(Arc::new(Mutex::new(Preparing::Done(missing))));
        assert_eq!(preparing.describe(), "nenhum cartão configurado");
    }
}
