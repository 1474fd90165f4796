//! The station's one TOML configuration, read and validated once at start.
//!
//! Every problem is reported at once, each naming the field and the rule, in Portuguese: the
//! person reading it is a technician at the station, not a developer.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The whole configuration. Unknown keys are refused (a typo such as `backnd = "uvc"` must not
/// leave the station on the simulated camera); [`Config::parse`] names them in Portuguese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The inspection station (ECV).
    pub station: Station,
    /// The system company's central server.
    pub central: Central,
    /// Devices attached to this kiosk; every section has defaults.
    #[serde(default)]
    pub devices: Devices,
    /// Where the fingerprint templates' key is kept.
    #[serde(default)]
    pub biometrics: Biometrics,
}

/// The template key's place (issue 19, LGPD): outside the data directory, readable only by
/// the service user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Biometrics {
    /// The key file; default `biometria.key` beside the configuration file.
    pub key_file: Option<PathBuf>,
}

impl Config {
    /// The template key file of this configuration, read from `config_file`.
    pub fn template_key_file(&self, config_file: &Path) -> PathBuf {
        self.biometrics
            .key_file
            .clone()
            .unwrap_or_else(|| crate::biometrics::vault::default_key_file(config_file))
    }
}

/// Identity and place of the station; all of it goes into the tarja of every photo (§7, 2r).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Station {
    /// Code given by the Detran, e.g. `ECV-MT-0001`.
    pub code: String,
    /// Name printed on the tarja and the laudo.
    pub name: String,
    /// Street address.
    pub address: String,
    /// City and state, e.g. `Cuiabá/MT`.
    pub city: String,
    /// Fixed latitude of the inspection bay, decimal degrees (2r).
    pub latitude: f64,
    /// Fixed longitude of the inspection bay, decimal degrees (2r).
    pub longitude: f64,
    /// The device families this kiosk runs on simulators (`camera`, `fingerprint`): not read
    /// from the file but set at start, and sent in every package's metadata
    /// (`simulated_devices`) so the central never mistakes a simulated capture for a real one.
    #[serde(skip)]
    pub simulated_devices: Vec<String>,
}

/// How to reach the central server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Central {
    /// Base URL, `https://…` (plain `http://` only on loopback, for tests and demo).
    pub url: String,
    /// This station's token, issued by `vistoria-central station add`.
    pub token: String,
    /// SHA-256 of the server's certificate (hex), pinned when present.
    #[serde(default)]
    pub cert_sha256: Option<String>,
}

/// Which backend each device uses. `sim` is the simulator (demo mode, tests).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Devices {
    /// Lets `sim` stand for the camera or the fingerprint reader (a test bench, a training
    /// room). Without it a real station refuses to start on a simulator.
    pub allow_simulated: bool,
    /// Still camera for the photos of §7.
    pub camera: DeviceSection,
    /// Fingerprint reader (§16).
    pub fingerprint: DeviceSection,
    /// Panoramic IP camera (§17).
    pub panoramic: DeviceSection,
    /// Borescope (§18).
    pub borescope: DeviceSection,
    /// Smart-card reader with the e-CPF A3 (§14).
    pub smartcard: DeviceSection,
    /// Laudo printer (§10).
    pub printer: DeviceSection,
}

/// One device's settings: a backend name and where to find the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceSection {
    /// `sim`, or the real backend's name.
    pub backend: String,
    /// Device path, URL, queue name or module path, as the backend needs.
    pub address: Option<String>,
}

impl Default for DeviceSection {
    fn default() -> Self {
        DeviceSection {
            backend: "sim".to_owned(),
            address: None,
        }
    }
}

/// The device families whose `sim` backend runs a simulator at a station (the others' `sim`
/// means "none": the kiosk shows them as absent).
pub const SIMULATED_FAMILIES: &[&str] = &["camera", "fingerprint"];

/// The keys each table of the file may hold (`""` is the top level); anything else is refused.
const KNOWN_KEYS: &[(&str, &[&str])] = &[
    ("", &["station", "central", "devices", "biometrics"]),
    ("biometrics", &["key_file"]),
    (
        "station",
        &["code", "name", "address", "city", "latitude", "longitude"],
    ),
    ("central", &["url", "token", "cert_sha256"]),
    (
        "devices",
        &[
            "allow_simulated",
            "camera",
            "fingerprint",
            "panoramic",
            "borescope",
            "smartcard",
            "printer",
        ],
    ),
    ("devices.*", &["backend", "address"]),
];

/// The real backends each device family knows, besides `sim`.
const BACKENDS: &[(&str, &[&str])] = &[
    ("camera", &["uvc"]),
    ("fingerprint", &["uareu"]),
    ("panoramic", &["rtsp"]),
    ("borescope", &["mjpeg-http", "rtsp"]),
    ("smartcard", &["pcsc"]),
    ("printer", &["cups"]),
];

/// One field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `station.latitude`.
    pub field: String,
    /// The rule, in Portuguese.
    pub rule: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "campo `{}`: {}", self.field, self.rule)
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("não foi possível ler o arquivo de configuração {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a field has the wrong type or is missing.
    #[error("arquivo de configuração {path} inválido: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Fields that break a rule, all of them.
    #[error("arquivo de configuração {path} tem {} erro(s):\n{}", .errors.len(), list(.errors))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Each field and its rule.
        errors: Vec<FieldError>,
    },
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates TOML text; `path` is only used in messages. Unknown keys are
    /// listed with the other problems, each with its dotted path and the keys allowed there.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let syntax = |e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_owned(),
        };
        let mut table: toml::Table = text.parse().map_err(syntax)?;
        let mut errors = Vec::new();
        remove_unknown_keys(&mut table, "", &mut errors);
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.to_path_buf(),
                    message: e.to_string().trim().to_owned(),
                })?;
        errors.extend(config.problems());
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                errors,
            })
        }
    }

    /// Every rule this configuration breaks.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, rule: &str| {
            errors.push(FieldError {
                field: field.to_owned(),
                rule: rule.to_owned(),
            })
        };
        let s = &self.station;
        let code_ok = (3..=20).contains(&s.code.len())
            && s.code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if !code_ok {
            fail(
                "station.code",
                "deve ter de 3 a 20 caracteres: letras maiúsculas, números ou hífen",
            );
        }
        for (field, value) in [
            ("station.name", &s.name),
            ("station.address", &s.address),
            ("station.city", &s.city),
        ] {
            if value.trim().is_empty() {
                fail(field, "não pode ficar vazio");
            }
        }
        // 2r: every photo carries the station's fixed coordinates; they must be in Brazil.
        if !(-34.0..=5.5).contains(&s.latitude) {
            fail(
                "station.latitude",
                "deve estar entre -34,0 e 5,5 graus (território brasileiro)",
            );
        }
        if !(-74.0..=-28.5).contains(&s.longitude) {
            fail(
                "station.longitude",
                "deve estar entre -74,0 e -28,5 graus (território brasileiro)",
            );
        }

        let c = &self.central;
        if let Some(rule) = url_problem(&c.url) {
            fail("central.url", rule);
        }
        if c.token.trim().len() < 16 {
            fail(
                "central.token",
                "deve ter pelo menos 16 caracteres (use o token gerado pelo servidor central)",
            );
        }
        if let Some(pin) = &c.cert_sha256
            && (pin.len() != 64 || !pin.chars().all(|ch| ch.is_ascii_hexdigit()))
        {
            fail(
                "central.cert_sha256",
                "deve ter 64 dígitos hexadecimais (SHA-256 do certificado)",
            );
        }

        if !self.devices.allow_simulated {
            for name in self.simulated_devices() {
                fail(
                    &format!("devices.{name}.backend"),
                    "\"sim\" (simulador) não é aceito numa estação real, e é o valor quando a \
                     seção falta; configure o dispositivo real, ou declare allow_simulated = true \
                     em [devices] se esta é uma bancada de testes",
                );
            }
        }
        for (name, allowed) in BACKENDS {
            let section = self.devices.section(name);
            if section.backend != "sim" && !allowed.contains(&section.backend.as_str()) {
                let rule = format!(
                    "backend desconhecido \"{}\"; use \"sim\" ou {}",
                    section.backend,
                    allowed
                        .iter()
                        .map(|b| format!("\"{b}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                fail(&format!("devices.{name}.backend"), &rule);
            }
        }
        errors
    }
}

impl Config {
    /// The device families this configuration runs on simulators (see
    /// [`SIMULATED_FAMILIES`]).
    pub fn simulated_devices(&self) -> Vec<String> {
        SIMULATED_FAMILIES
            .iter()
            .filter(|name| self.devices.section(name).backend == "sim")
            .map(|name| (*name).to_owned())
            .collect()
    }
}

/// Removes the keys [`KNOWN_KEYS`] does not list from `table` (at `prefix`), one error each.
fn remove_unknown_keys(table: &mut toml::Table, prefix: &str, errors: &mut Vec<FieldError>) {
    let pattern = match prefix.split_once('.') {
        Some((head, _)) => format!("{head}.*"),
        None => prefix.to_owned(),
    };
    let Some((_, known)) = KNOWN_KEYS.iter().find(|(p, _)| *p == pattern) else {
        return;
    };
    let unknown: Vec<String> = table
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        table.remove(&key);
        let field = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let suggestion = known
            .iter()
            .min_by_key(|k| edit_distance(k, &key))
            .filter(|k| edit_distance(k, &key) <= 2)
            .map(|k| format!("; você quis dizer `{k}`?"))
            .unwrap_or_default();
        let allowed = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(FieldError {
            field,
            rule: format!("chave desconhecida{suggestion} (aceitas aqui: {allowed})"),
        });
    }
    for (key, value) in table.iter_mut() {
        if let toml::Value::Table(inner) = value {
            let inner_prefix = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            remove_unknown_keys(inner, &inner_prefix, errors);
        }
    }
}

/// Levenshtein distance, for "did you mean" (keys are a few ASCII letters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

impl Devices {
    fn section(&self, name: &str) -> &DeviceSection {
        match name {
            "camera" => &self.camera,
            "fingerprint" => &self.fingerprint,
            "panoramic" => &self.panoramic,
            "borescope" => &self.borescope,
            "smartcard" => &self.smartcard,
            _ => &self.printer,
        }
    }
}

fn url_problem(url: &str) -> Option<&'static str> {
    if let Some(rest) = url.strip_prefix("https://") {
        return rest
            .is_empty()
            .then_some("falta o endereço do servidor depois de https://");
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let loopback = ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
            rest.strip_prefix(host)
                .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
        });
        return (!loopback).then_some(
            "deve começar com https:// (http:// só é aceito para 127.0.0.1 ou localhost)",
        );
    }
    Some("deve ser um endereço https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[station]
code = "ECV-MT-0001"
name = "Vistoria Centro"
address = "Av. Historiador Rubens de Mendonça, 1000"
city = "Cuiabá/MT"
latitude = -15.5989
longitude = -56.0949

[central]
url = "https://central.example.com.br"
token = "0123456789abcdef0123"

[devices.camera]
backend = "uvc"
address = "/dev/video0"

[devices.fingerprint]
backend = "uareu"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("vistoria.toml"))
    }

    #[test]
    fn a_good_file_parses_with_device_defaults() {
        let c = parse(GOOD).expect("valid");
        assert_eq!(c.station.code, "ECV-MT-0001");
        assert_eq!(c.devices.camera.backend, "uvc");
        assert_eq!(c.devices.fingerprint.backend, "uareu");
        assert_eq!(c.devices.borescope.backend, "sim");
        assert!(c.simulated_devices().is_empty());
        assert_eq!(c.central.cert_sha256, None);
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_field() {
        let bad = GOOD
            .replace("ECV-MT-0001", "ecv 1")
            .replace("-15.5989", "40.0")
            .replace("https://central.example.com.br", "http://10.0.0.1")
            .replace("\"uvc\"", "\"webcam\"");
        let err = parse(&bad).expect_err("invalid");
        let ConfigError::Invalid { errors, .. } = &err else {
            panic!("expected Invalid, got {err}");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "station.code",
                "station.latitude",
                "central.url",
                "devices.camera.backend"
            ]
        );
        let text = err.to_string();
        assert!(text.contains("4 erro(s)"), "{text}");
        assert!(text.contains("território brasileiro"), "{text}");
        assert!(text.contains("\"webcam\""), "{text}");
    }

    #[test]
    fn a_missing_field_names_it() {
        let err = parse(&GOOD.replace("token = ", "tokn = ")).expect_err("missing token");
        let text = err.to_string();
        assert!(text.contains("token"), "{text}");
        assert!(matches!(err, ConfigError::Syntax { .. }));
    }

    #[test]
    fn garbage_is_a_syntax_error_not_a_panic() {
        assert!(matches!(
            parse("[station\ncode = "),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert_eq!(url_problem("http://127.0.0.1:8080"), None);
        assert_eq!(url_problem("http://localhost/api"), None);
        assert_eq!(url_problem("http://[::1]:9"), None);
        assert!(url_problem("http://central.example").is_some());
        assert!(url_problem("http://127.0.0.1.evil.example").is_some());
        assert!(url_problem("ftp://x").is_some());
        assert_eq!(url_problem("https://x"), None);
    }

    /// Issue 17: `backnd = "uvc"` was ignored and the station ran the simulated camera.
    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let text = GOOD.replace("backend = \"uvc\"", "backnd = \"uvc\"");
        let err = parse(&text).expect_err("unknown key");
        let ConfigError::Invalid { errors, .. } = &err else {
            panic!("expected Invalid, got {err}");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        // The typo, and the simulator it would have left the camera on.
        assert_eq!(fields, ["devices.camera.backnd", "devices.camera.backend"]);
        let text = err.to_string();
        assert!(
            text.contains("chave desconhecida; você quis dizer `backend`?"),
            "{text}"
        );
        for (edit, field) in [
            ("[central]", "[central]\ntimeout = 5"),
            ("[station]", "[station]\ncodigo = \"X\""),
            (
                "[devices.camera]",
                "[devices.camara]\nbackend = \"uvc\"\n[devices.camera]",
            ),
            ("[station]", "alow_simulated = true\n[station]"),
        ] {
            let err = parse(&GOOD.replacen(edit, field, 1)).expect_err(field);
            assert!(
                err.to_string().contains("chave desconhecida"),
                "{field}: {err}"
            );
        }
        let err = parse(&GOOD.replacen("[station]", "[station]\ncodigo = \"X\"", 1))
            .expect_err("unknown key");
        assert!(err.to_string().contains("campo `station.codigo`"), "{err}");
    }

    /// Without `allow_simulated`, a camera or reader left on `sim` (explicitly or by a missing
    /// section) is refused; with it, the configuration says which devices are simulated.
    #[test]
    fn simulators_need_to_be_allowed_explicitly() {
        let text = GOOD.replace("backend = \"uareu\"", "backend = \"sim\"");
        let err = parse(&text).expect_err("sim not allowed");
        assert!(
            err.to_string()
                .contains("campo `devices.fingerprint.backend`: \"sim\" (simulador)"),
            "{err}"
        );
        let missing = GOOD.replace("[devices.fingerprint]\nbackend = \"uareu\"\n", "");
        let err = parse(&missing).expect_err("default sim not allowed");
        assert!(
            err.to_string().contains("devices.fingerprint.backend"),
            "{err}"
        );
        let allowed = text.replace(
            "[devices.camera]",
            "[devices]\nallow_simulated = true\n\n[devices.camera]",
        );
        let config = parse(&allowed).expect("allowed");
        assert_eq!(config.simulated_devices(), ["fingerprint"]);
    }

    #[test]
    fn a_malformed_pin_is_refused() {
        let text = GOOD.replace(
            "token = \"0123456789abcdef0123\"",
            "token = \"0123456789abcdef0123\"\ncert_sha256 = \"abc\"",
        );
        let err = parse(&text).expect_err("bad pin");
        assert!(err.to_string().contains("central.cert_sha256"));
    }
}
