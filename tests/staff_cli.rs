//! `vistoria staff …` as a technician runs it at a new station's shell (issue 19): the first
//! administrator's code, people added with passwords from the environment or typed twice
//! (never as an argument), an inspector's finger enrolled from the configured reader (the
//! folder simulator serving FVC impressions), the list, a deactivation; `--json` throughout.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use vistoria_core::biometrics::GrayImage;
use vistoria_core::biometrics::image::fvc_sample;
use vistoria_core::biometrics::quality::as_too_dark;

struct Station {
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
}

impl Station {
    /// A station's configuration with the simulated reader serving `touches` in order.
    fn new(touches: &[GrayImage]) -> Station {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        let data = dir.path().join("data");
        let reader = dir.path().join("leitor");
        for d in [&etc, &data, &reader] {
            std::fs::create_dir_all(d).unwrap();
        }
        for (i, image) in touches.iter().enumerate() {
            std::fs::write(reader.join(format!("{i:02}.tif")), image.to_tiff()).unwrap();
        }
        let config = etc.join("vistoria.toml");
        std::fs::write(
            &config,
            format!(
                r#"[station]
code = "ECV-MT-0001"
name = "Vistoria Centro"
address = "Av. Historiador Rubens de Mendonça, 1000"
city = "Cuiabá/MT"
latitude = -15.5989
longitude = -56.0949

[central]
url = "http://127.0.0.1:9"
token = "0123456789abcdef0123"

[devices]
allow_simulated = true

[devices.fingerprint]
backend = "sim"
address = "{}"
"#,
                reader.display()
            ),
        )
        .unwrap();
        Station {
            _dir: dir,
            config,
            data,
        }
    }

    fn staff(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vistoria"))
            .arg("--config")
            .arg(&self.config)
            .arg("staff")
            .args(args)
            .env("VISTORIA_DATA", &self.data)
            .env("USER", "tecnico-instalador")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed; its JSON lines.
    fn json(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Vec<Value> {
        let out = self.staff(args, env, stdin);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Runs a command that must fail; its standard error.
    fn refused(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> String {
        let out = self.staff(args, env, stdin);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn a_technician_staffs_a_new_station_from_the_shell() {
    let images: Option<Vec<GrayImage>> = (1..=3)
        .map(|i| fvc_sample(&format!("101_{i}.tif")))
        .collect();
    let Some(images) = images else { return };
    let touches = [
        as_too_dark(&images[0]),
        images[0].clone(),
        images[1].clone(),
        images[2].clone(),
    ];
    let st = Station::new(&touches);

    // The one-time code for the kiosk's setup screen.
    let code = &st.json(&["bootstrap", "--json"], &[], "")[0];
    assert_eq!(code["code"].as_str().unwrap().len(), 14, "{code}");
    assert!(st.data.join("setup-code.json").is_file());

    // People: passwords from the environment or typed twice, never as an argument.
    let pw = [("SENHA", "senha-forte-1")];
    let added = &st.json(
        &[
            "add",
            "--login",
            "alice",
            "--name",
            "Alice Admin",
            "--cpf",
            "862.883.667-57",
            "--role",
            "administrador",
            "--password-env",
            "SENHA",
            "--json",
        ],
        &pw,
        "",
    )[0];
    assert_eq!(added["role"], "administrator");
    let err = st.refused(
        &[
            "add",
            "--login",
            "carlos",
            "--name",
            "Carlos",
            "--cpf",
            "52998224725",
            "--role",
            "operador",
            "--password",
            "senha-forte-1",
        ],
        &[],
        "",
    );
    assert!(err.contains("--password"), "{err}");
    let err = st.refused(
        &[
            "add",
            "--login",
            "carlos",
            "--name",
            "Carlos",
            "--cpf",
            "52998224725",
            "--role",
            "operador",
        ],
        &[],
        "senha-forte-1\noutra-senha-2\n",
    );
    assert!(err.contains("não conferem"), "{err}");
    st.json(
        &[
            "add",
            "--login",
            "carlos",
            "--name",
            "Carlos",
            "--cpf",
            "52998224725",
            "--role",
            "operador",
            "--json",
        ],
        &[],
        "senha-forte-1\nsenha-forte-1\n",
    );
    let err = st.refused(
        &[
            "add",
            "--login",
            "bia",
            "--name",
            "Bia",
            "--cpf",
            "52998224724",
            "--role",
            "vistoriador",
        ],
        &[],
        "",
    );
    assert!(err.contains("CPF inválido"), "{err}");
    st.json(
        &[
            "add",
            "--login",
            "ana",
            "--name",
            "Ana",
            "--cpf",
            "39053344705",
            "--role",
            "vistoriador",
            "--json",
        ],
        &[],
        "",
    );
    // Once there is an administrator, no more codes.
    let err = st.refused(&["bootstrap"], &[], "");
    assert!(err.contains("já tem administrador"), "{err}");

    // Her right index from the reader: the too-dark touch is refused with its reason.
    let lines = st.json(
        &[
            "enrol",
            "ana",
            "--finger",
            "right-index",
            "--consent",
            "--json",
        ],
        &[],
        "",
    );
    assert_eq!(lines[0]["accepted"], false, "{lines:?}");
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("escura demais"),
        "{lines:?}"
    );
    assert_eq!(lines.iter().filter(|l| l["accepted"] == true).count(), 3);
    let last = lines.last().unwrap();
    assert_eq!(
        last["fingers"],
        serde_json::json!(["right-index"]),
        "{last}"
    );
    // Without the consent given, nothing is read.
    let err = st.refused(&["enrol", "ana", "--finger", "left-index"], &[], "n\n");
    assert!(err.contains("sem o consentimento"), "{err}");

    st.json(&["deactivate", "carlos", "--json"], &[], "");
    let list = &st.json(&["list", "--json"], &[], "")[0]["staff"];
    let by = |login: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["login"] == login)
            .unwrap()
            .clone()
    };
    assert_eq!(by("carlos")["active"], false);
    assert_eq!(by("ana")["fingers"], serde_json::json!(["right-index"]));
    assert_eq!(by("alice")["role"], "administrator");
    // The template key is beside the configuration, not in the data folder.
    assert!(st.config.with_file_name("biometria.key").is_file());
}
