//! `vistoria simulate`'s signature (§14): a real canonical laudo and a real CAdES-BES `.p7s`,
//! made exactly as the kiosk makes them, with the one difference that the simulated
//! inspector's e-CPF key is a file of a test PKI (`test_pki`) instead of a card. The central
//! verifies them like any other: it must trust the test PKI's root (`--icp-roots PKI/roots`)
//! and the inspector is registered at each sync.

use std::path::Path;

use anyhow::Context;
use vistoria_core::central_client::{CentralClient, ClientError};
use vistoria_core::clock::CentralStamp;
use vistoria_core::config::Station;
use vistoria_core::domain::Inspection;
use vistoria_core::laudo::{
    BiometricCheck, InspectorInfo, Laudo, LaudoInputs, StationInfo, stored,
};
use vistoria_core::signing::certificate::certificates_from_pem_or_der;
use vistoria_core::signing::test_pki::{self, SoftwareSigner, TestPki};
use vistoria_core::signing::{
    DetachedSignature, EcpfCertificate, SignaturePolicy, SigningContext, sign_checked,
};
use vistoria_core::store::Store;
use vistoria_core::wire::{InspectorList, StationInspector};

/// The simulated inspector's CPF (valid check digits; fictitious).
pub const INSPECTOR_CPF: &str = "11144477735";
/// The simulated inspector's name.
pub const INSPECTOR_NAME: &str = "Vistoriador Simulado";

/// The test PKI in `dir` for the simulated inspector, made there (openssl) when missing.
/// Its `roots/` folder is what the central must trust.
pub fn ensure_pki(dir: &Path) -> anyhow::Result<TestPki> {
    if !TestPki::exists(dir, false) {
        let missing = test_pki::missing_tools(false);
        if !missing.is_empty() {
            anyhow::bail!(
                "para assinar os laudos simulados falta instalar {} (rode installer/setup-dev.sh)",
                missing.join(", ")
            );
        }
        let _ = std::fs::remove_dir_all(dir);
        let name = INSPECTOR_NAME.to_uppercase();
        let options = test_pki::Options {
            name: Some(&name),
            ..test_pki::Options::default()
        };
        test_pki::make(dir, INSPECTOR_CPF, &options)
            .map_err(anyhow::Error::msg)
            .context("criando a PKI de teste do vistoriador simulado")?;
    }
    Ok(TestPki {
        dir: dir.to_path_buf(),
    })
}

/// The simulated station's staff, as the kiosk registers it (§11).
pub fn register_inspector(client: &CentralClient) -> Result<(), ClientError> {
    client
        .put_inspectors(&InspectorList {
            inspectors: vec![StationInspector {
                cpf: INSPECTOR_CPF.to_owned(),
                name: INSPECTOR_NAME.to_owned(),
            }],
        })
        .map(drop)
}

/// The simulated card: the PKI's key and the root the kiosk checks it against.
pub struct SimCard {
    signer: SoftwareSigner,
    roots: Vec<EcpfCertificate>,
}

impl SimCard {
    /// The card of the PKI in `pki`.
    pub fn open(pki: &TestPki) -> anyhow::Result<SimCard> {
        let signer = SoftwareSigner::of(pki).map_err(anyhow::Error::msg)?;
        let roots = certificates_from_pem_or_der(&std::fs::read(pki.file("ca.pem"))?)?;
        Ok(SimCard { signer, roots })
    }

    /// Builds the laudo of the concluded `inspection` from what the store holds, signs it
    /// after the kiosk's certificate checks and stores laudo and `.p7s` as its media (a
    /// resumed run replaces an earlier attempt's). Returns the signature.
    // The kiosk's signature takes the same parts; a struct for one caller would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        &mut self,
        store: &mut Store,
        station: &Station,
        inspection: &Inspection,
        check: BiometricCheck,
        now: CentralStamp,
        central_url: &str,
        actor: &str,
    ) -> anyhow::Result<DetachedSignature> {
        let id = inspection.id();
        let photos = stored::photo_refs(store, id)?;
        let laudo = Laudo::from_inspection(
            inspection,
            LaudoInputs {
                number: stored::laudo_number(store, &station.code, id)?,
                station: StationInfo {
                    code: station.code.clone(),
                    name: station.name.clone(),
                    city: station.city.clone(),
                },
                inspector: InspectorInfo {
                    name: INSPECTOR_NAME.to_owned(),
                    cpf: INSPECTOR_CPF.to_owned(),
                },
                photos,
                panoramic_segments: stored::segment_refs(store, id)?,
                biometric_check: check,
                plate_reading: stored::plate_reading(store, inspection)?,
                film_gaps: vistoria_core::film::stored_gaps(store, id)?,
                issued_at: now.at,
                verify_base_url: vistoria_core::laudo::verify_base_url(central_url),
            },
        )?;
        let content = laudo.canonical_bytes();
        let signed = sign_checked(
            &mut self.signer,
            &content,
            &SigningContext {
                inspector_cpf: INSPECTOR_CPF,
                now: now.at,
                roots: &self.roots,
                policy: &SignaturePolicy::ad_rb_v2_3(),
                biometric_matched: true,
            },
        )?;
        stored::store_signed(store, id, &content, &signed.p7s, now, actor)?;
        Ok(signed)
    }
}
