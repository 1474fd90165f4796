//! `vistoria sign --module LIB --pin-env VAR FILE -o FILE.p7s`: signs a file with the e-CPF
//! card (CAdES-BES detached, ICP-Brasil AD-RB), for checks by technicians and tests (§14).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use sha2::Digest;
use vistoria_core::signing::certificate::certificates_from_pem_or_der;
use vistoria_core::signing::{EcpfCertificate, SignaturePolicy, Signer, mask_cpf, sign_detached};
use vistoria_drivers::smartcard::{Pkcs11Signer, find_module};

/// Arguments of `vistoria sign`.
#[derive(Args)]
pub struct SignArgs {
    /// PKCS#11 module of the card's middleware (default: the first known middleware found).
    #[arg(long)]
    pub module: Option<PathBuf>,
    /// Environment variable that holds the card's PIN.
    #[arg(long, default_value = "VISTORIA_PIN")]
    pub pin_env: String,
    /// Token label, when several cards are present.
    #[arg(long)]
    pub token: Option<String>,
    /// CPF the certificate must carry (ICP-Brasil otherName 2.16.76.1.3.1).
    #[arg(long)]
    pub cpf: Option<String>,
    /// Trusted roots (PEM or DER); with them the chain is checked.
    #[arg(long)]
    pub roots: Option<PathBuf>,
    /// The policy artefact (PA_AD_RB_v2_3.der) to take the policy hash from.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// File to sign.
    pub file: PathBuf,
    /// Where to write the detached `.p7s`.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Loads the signature policy: the artefact when given, else the built-in AD-RB v2.3.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<SignaturePolicy> {
    match path {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("lendo {}", p.display()))?;
            Ok(SignaturePolicy::from_artifact(&bytes)?)
        }
        None => Ok(SignaturePolicy::ad_rb_v2_3()),
    }
}

/// Opens the card: module from the option or probed, PIN from the environment.
pub fn open_card(
    module: Option<&Path>,
    pin_env: &str,
    token: Option<&str>,
) -> anyhow::Result<Pkcs11Signer> {
    let module = find_module(module).context(
        "nenhum middleware PKCS#11 encontrado; informe --module com o caminho da biblioteca do cartão",
    )?;
    let pin = std::env::var(pin_env)
        .with_context(|| format!("variável de ambiente {pin_env} com o PIN não definida"))?;
    Ok(Pkcs11Signer::open(&module, &pin, token)?)
}

/// Runs `vistoria sign`.
pub fn run(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let content =
        std::fs::read(&args.file).with_context(|| format!("lendo {}", args.file.display()))?;
    let policy = load_policy(args.policy.as_deref())?;
    let mut card = open_card(args.module.as_deref(), &args.pin_env, args.token.as_deref())?;
    let certificate = EcpfCertificate::from_der(card.certificate_der())?;
    // The command is for checks, so it signs with the machine clock; the kiosk uses central time.
    let now = chrono::Utc::now();
    match (&args.cpf, &args.roots) {
        (Some(cpf), Some(roots)) => {
            let roots = certificates_from_pem_or_der(&std::fs::read(roots)?)?;
            let chain: Vec<EcpfCertificate> = card
                .chain_der()
                .iter()
                .filter_map(|d| EcpfCertificate::from_der(d).ok())
                .collect();
            certificate.check(cpf, now, &roots, &chain)?;
        }
        (Some(cpf), None) => {
            let expected: String = cpf.chars().filter(char::is_ascii_digit).collect();
            anyhow::ensure!(
                certificate.cpf() == Some(expected.as_str()),
                "o CPF do certificado ({}) não é {}",
                certificate
                    .cpf()
                    .map(mask_cpf)
                    .unwrap_or_else(|| "ausente".into()),
                mask_cpf(&expected)
            );
            certificate.check_validity(now)?;
        }
        _ => certificate.check_validity(now)?,
    }
    let p7s = sign_detached(&mut card, &content, now, &policy, &[])?;
    std::fs::write(&args.output, &p7s)
        .with_context(|| format!("gravando {}", args.output.display()))?;
    let line = serde_json::json!({
        "p7s": args.output.display().to_string(),
        "p7s_sha256": hex_sha256(&p7s),
        "content_sha256": hex_sha256(&content),
        "signer": certificate.holder_name(),
        "cpf": certificate.cpf().map(mask_cpf),
        "serial": certificate.serial_hex(),
        "token": card.token_label(),
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

fn hex_sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
