//! An ICP-Brasil-like test PKI made with `openssl` on this machine: a test root CA and an
//! e-CPF-like certificate (otherName 2.16.76.1.3.1 with the CPF, digitalSignature), optionally
//! on a SoftHSM2 token, and optionally a two-level hierarchy with an intermediate CA, its LCR
//! with a revoked leaf, and the certificates each path refusal needs (see the script). The tests of every crate and demo mode make theirs here, from the one
//! script embedded below (`make-test-pki.sh`), so there is a single recipe.
//!
//! Nothing here is trusted by a real station: the roots a station accepts are configured.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The script, embedded so the installed binary (demo mode) has it too.
const SCRIPT: &str = include_str!("make-test-pki.sh");

/// User PIN of the SoftHSM2 token the script makes.
pub const TOKEN_PIN: &str = "123456";
/// Label of that token.
pub const TOKEN_LABEL: &str = "e-CPF";

/// How to make the PKI.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// ECDSA P-256 instead of RSA 2048.
    pub ec: bool,
    /// otherName encoding: `octet` (default), `printable` or `utf8`.
    pub encoding: Option<&'a str>,
    /// Leave digitalSignature out of the key usage.
    pub no_digital_signature: bool,
    /// Put the key and certificates on a SoftHSM2 token.
    pub softhsm: bool,
    /// Holder name (the CN is `NAME:CPF`).
    pub name: Option<&'a str>,
    /// Also make the two-level PKI of `h/` (intermediate, revoked leaf and LCRs, and the
    /// certificates every refusal needs) with LCRs published under this base URL.
    pub hierarchy: Option<&'a str>,
}

/// What was made, all in one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPki {
    /// The folder: `ca.pem`, `ca.der`, `ecpf.pem`, `ecpf.der`, `ecpf.key`, and with a token
    /// `softhsm2.conf`, `tokens/` and `module.txt`.
    pub dir: PathBuf,
}

impl TestPki {
    /// A file of the PKI.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The folder holding the root alone: what a central's `--icp-roots` takes.
    pub fn roots_dir(&self) -> PathBuf {
        self.file("roots")
    }

    /// A file of the two-level PKI (`--hierarchy`): `ac.pem`, `leaf.der`, `ac.crl`…
    pub fn hierarchy_file(&self, name: &str) -> PathBuf {
        self.dir.join("h").join(name)
    }

    /// The SoftHSM2 configuration to put in `SOFTHSM2_CONF`.
    pub fn softhsm_conf(&self) -> PathBuf {
        self.file("softhsm2.conf")
    }

    /// The SoftHSM2 PKCS#11 module, when the PKI has a token.
    pub fn module(&self) -> Option<PathBuf> {
        std::fs::read_to_string(self.file("module.txt"))
            .ok()
            .map(|m| PathBuf::from(m.trim()))
    }

    /// Whether the PKI in `dir` is complete (a token too when `softhsm`).
    pub fn exists(dir: &Path, softhsm: bool) -> bool {
        dir.join("ecpf.der").exists()
            && dir.join("ca.pem").exists()
            && dir.join("roots").join("ca.pem").exists()
            && (!softhsm || dir.join("module.txt").exists())
    }
}

/// Which of the programs the script needs are missing (`openssl`, and for a token
/// `softhsm2-util` and `pkcs11-tool`).
pub fn missing_tools(softhsm: bool) -> Vec<&'static str> {
    let mut tools = vec!["openssl"];
    if softhsm {
        tools.extend(["softhsm2-util", "pkcs11-tool"]);
    }
    tools
        .into_iter()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect()
}

/// Makes the PKI for `cpf` in `dir` (created if needed).
pub fn make(dir: &Path, cpf: &str, options: &Options<'_>) -> Result<TestPki, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(SCRIPT).arg("make-test-pki.sh");
    cmd.arg(dir).arg(cpf);
    if options.ec {
        cmd.arg("--ec");
    }
    if let Some(encoding) = options.encoding {
        cmd.args(["--encoding", encoding]);
    }
    if options.no_digital_signature {
        cmd.arg("--no-digital-signature");
    }
    if options.softhsm {
        cmd.arg("--softhsm");
    }
    if let Some(name) = options.name {
        cmd.args(["--name", name]);
    }
    if let Some(base) = options.hierarchy {
        cmd.args(["--hierarchy", base]);
    }
    let out = cmd.output().map_err(|e| format!("make-test-pki.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "make-test-pki.sh: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(TestPki {
        dir: dir.to_path_buf(),
    })
}

/// A private key in a PEM file standing in for the e-CPF card (tests, `vistoria simulate`):
/// the same [`super::Signer`] the PKCS#11 card implements, without a card. Never a station's.
pub struct SoftwareSigner {
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    key_pem: String,
}

impl SoftwareSigner {
    /// The certificate `cert` (DER or PEM) with the PKCS#8 PEM key in `key`.
    pub fn from_files(cert: &Path, key: &Path) -> Result<SoftwareSigner, String> {
        let bytes = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
        let certificate = super::certificate::certificates_from_pem_or_der(&bytes)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: nenhum certificado", cert.display()))?;
        let key_pem =
            std::fs::read_to_string(key).map_err(|e| format!("{}: {e}", key.display()))?;
        Ok(SoftwareSigner {
            certificate: certificate.der().to_vec(),
            chain: Vec::new(),
            key_pem,
        })
    }

    /// The e-CPF of a PKI made by [`make`] (`ecpf.der`, `ecpf.key`).
    pub fn of(pki: &TestPki) -> Result<SoftwareSigner, String> {
        SoftwareSigner::from_files(&pki.file("ecpf.der"), &pki.file("ecpf.key"))
    }

    /// Offers these CA certificates (DER) with the signer's, as a card holding its chain does.
    pub fn with_chain(mut self, chain: Vec<Vec<u8>>) -> SoftwareSigner {
        self.chain = chain;
        self
    }
}

impl super::Signer for SoftwareSigner {
    fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    fn chain_der(&self) -> Vec<Vec<u8>> {
        self.chain.clone()
    }

    fn sign(
        &mut self,
        message: &[u8],
        kind: super::PublicKeyKind,
    ) -> Result<Vec<u8>, super::SignerError> {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::signature::{SignatureEncoding as _, Signer as _};
        let bad = |e: &dyn std::fmt::Display| super::SignerError::Device(e.to_string());
        Ok(match kind {
            super::PublicKeyKind::Rsa => {
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(&self.key_pem).map_err(|e| bad(&e))?;
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                    .sign(message)
                    .to_vec()
            }
            super::PublicKeyKind::EcdsaP256 => {
                let key =
                    p256::ecdsa::SigningKey::from_pkcs8_pem(&self.key_pem).map_err(|e| bad(&e))?;
                let sig: p256::ecdsa::Signature = key.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}
