//! `vistoria staff …`: the station's staff from the shell, for the technician who installs it
//! (issue 19). The same operations as the Administração screen, through the same
//! `vistoria_core::staff` functions; the shell's authority is the machine's (whoever can open
//! the station's data and key file). Every command but `bootstrap` opens the store, so the
//! kiosk must be stopped first; `bootstrap` runs beside it. Passwords are typed twice without
//! echo, or read from the environment variable `--password-env` names: never an argument
//! (it would be in the shell's history and in `ps`). `--json` prints one JSON line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use vistoria_core::accounts::Role;
use vistoria_core::biometrics::enrolment::{CONSENT_TEXT, Consent, ENROL_CAPTURES};
use vistoria_core::biometrics::vault::Vault;
use vistoria_core::biometrics::{Finger, GrayImage};
use vistoria_core::config::Config;
use vistoria_core::paths::Paths;
use vistoria_core::staff::{self, Actor, NewPerson, StaffError};
use vistoria_core::store::{Store, StoreError};
use vistoria_drivers::fingerprint::capture_touch;

/// Touches a shell enrolment allows before giving up on a finger.
const MAX_TOUCHES: usize = 10;

/// Staff subcommands.
#[derive(Subcommand)]
pub enum StaffCommand {
    /// Prints the one-time code that creates the first administrator at the kiosk (run as
    /// root on the station; refused once there is an administrator).
    Bootstrap {
        /// Data directory (default: $VISTORIA_DATA, then /var/lib/vistoria).
        #[arg(long)]
        data: Option<PathBuf>,
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Lists everyone, with their role, state and enrolled fingers.
    List {
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Adds a person.
    Add {
        /// Login (3–32 lower-case letters, digits, dot, hyphen).
        #[arg(long)]
        login: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// CPF (11 digits, check digits verified).
        #[arg(long)]
        cpf: String,
        /// operador, vistoriador, tecnico or administrador.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from this environment variable instead of asking twice.
        #[arg(long)]
        password_env: Option<String>,
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Stops a person's login; their history stays.
    Deactivate {
        /// Login.
        login: String,
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Lets a deactivated person log in again.
    Reactivate {
        /// Login.
        login: String,
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Replaces a person's password.
    Password {
        /// Login.
        login: String,
        /// Read the password from this environment variable instead of asking twice.
        #[arg(long)]
        password_env: Option<String>,
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Enrols one finger of an inspector from the station's reader (three accepted touches).
    Enrol {
        /// The inspector's login.
        login: String,
        /// right-thumb, right-index, …, left-little.
        #[arg(long, value_parser = parse_finger)]
        finger: Finger,
        /// The inspector has read the consent text (printed) and agrees; without it the
        /// command asks.
        #[arg(long)]
        consent: bool,
        /// One JSON line per touch and one at the end.
        #[arg(long)]
        json: bool,
    },
    /// Removes one finger of an inspector.
    RemoveFinger {
        /// The inspector's login.
        login: String,
        /// The finger.
        #[arg(long, value_parser = parse_finger)]
        finger: Finger,
        /// One JSON line.
        #[arg(long)]
        json: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    match text.to_lowercase().as_str() {
        "operador" | "operator" => Ok(Role::Operator),
        "vistoriador" | "inspector" => Ok(Role::Inspector),
        "tecnico" | "técnico" | "technician" => Ok(Role::Technician),
        "administrador" | "administrator" => Ok(Role::Administrator),
        _ => Err("use operador, vistoriador, tecnico ou administrador".into()),
    }
}

fn parse_finger(text: &str) -> Result<Finger, String> {
    Finger::from_code(text).ok_or_else(|| {
        let all: Vec<&str> = Finger::ALL.iter().map(|f| f.code()).collect();
        format!("dedo desconhecido; use um de: {}", all.join(", "))
    })
}

/// Who runs the command, for the audit log.
fn shell_user() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "desconhecido".into())
}

/// Runs a staff command.
pub fn run(command: &StaffCommand, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let StaffCommand::Bootstrap { data, json } = command {
        let paths = Paths::resolve(config, data.as_deref());
        let code = staff::issue_setup_code(paths.data_dir(), &shell_user(), SystemTime::now())?;
        let hours = staff::SETUP_CODE_LIFE.as_secs() / 3600;
        if *json {
            println!("{}", json!({"code": code, "valid_hours": hours}));
        } else {
            println!("Código de instalação: {code}");
            println!(
                "Digite-o na tela «Configuração inicial» do quiosque para cadastrar o primeiro \
                 administrador. Vale por {hours} h e uma única vez."
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let paths = Paths::resolve(config, None);
    let settings = Config::load(paths.config_file())?;
    let mut station = Opened::open(&paths, &settings)?;
    let actor = Actor::Shell { user: shell_user() };
    match command {
        StaffCommand::Bootstrap { .. } => unreachable!("handled above"),
        StaffCommand::List { json } => {
            let people = staff::list(&station.store, &station.vault)?;
            if *json {
                println!("{}", json!({ "staff": people }));
            } else {
                for p in &people {
                    let fingers: Vec<&str> = p.fingers.iter().map(|f| f.label_pt()).collect();
                    println!(
                        "{:<16} {:<14} {:<9} {} {}{}",
                        p.login,
                        p.role.label_pt(),
                        if p.active { "ativo" } else { "desativado" },
                        p.name,
                        if fingers.is_empty() {
                            String::new()
                        } else {
                            format!(" — digitais: {}", fingers.join(", "))
                        },
                        if p.needs_fingers() {
                            " (cadastre 2 dedos)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        StaffCommand::Add {
            login,
            name,
            cpf,
            role,
            password_env,
            json,
        } => {
            let password = if role.uses_fingerprint() {
                None
            } else {
                Some(password(password_env.as_deref())?)
            };
            let person = NewPerson {
                login: login.clone(),
                name: name.clone(),
                cpf: cpf.clone(),
                role: *role,
                password,
            };
            let account = staff::add(&mut station.store, &actor, &person, None)?;
            done(
                *json,
                json!({"added": account.login, "role": account.role}),
                &format!(
                    "{} cadastrado(a) como {}{}",
                    account.name,
                    account.role.label_pt(),
                    if account.role.uses_fingerprint() {
                        "; cadastre dois dedos com «vistoria staff enrol»"
                    } else {
                        ""
                    }
                ),
            );
        }
        StaffCommand::Deactivate { login, json } | StaffCommand::Reactivate { login, json } => {
            let active = matches!(command, StaffCommand::Reactivate { .. });
            let account = staff::set_active(&mut station.store, &actor, login, active, None)?;
            let state = if active { "reativado" } else { "desativado" };
            done(
                *json,
                json!({"login": account.login, "active": account.active}),
                &format!("{} {state}", account.login),
            );
        }
        StaffCommand::Password {
            login,
            password_env,
            json,
        } => {
            let password = password(password_env.as_deref())?;
            staff::reset_password(&mut station.store, &actor, login, &password, None)?;
            done(
                *json,
                json!({"login": login, "password_reset": true}),
                &format!("senha de {login} trocada"),
            );
        }
        StaffCommand::Enrol {
            login,
            finger,
            consent,
            json,
        } => enrol(
            &mut station,
            &settings,
            &actor,
            login,
            *finger,
            *consent,
            *json,
        )?,
        StaffCommand::RemoveFinger {
            login,
            finger,
            json,
        } => {
            let removed = staff::remove_finger(
                &mut station.store,
                &station.vault,
                &actor,
                login,
                *finger,
                None,
            )?;
            done(
                *json,
                json!({"login": login, "finger": finger, "removed": removed}),
                &if removed {
                    format!("{} de {login} removido", finger.label_pt())
                } else {
                    format!("{login} não tinha o {} cadastrado", finger.label_pt())
                },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The station's store and vault, opened for the shell.
struct Opened {
    store: Store,
    vault: Vault,
}

impl Opened {
    fn open(paths: &Paths, settings: &Config) -> anyhow::Result<Opened> {
        let store = match Store::open(paths.data_dir()) {
            Ok((store, _)) => store,
            Err(StoreError::Locked(dir)) => bail!(
                "o quiosque está usando {}: pare-o antes (sudo systemctl stop vistoria-kiosk) \
                 ou use a tela Administração",
                dir.display()
            ),
            Err(e) => return Err(e.into()),
        };
        let key = settings.template_key_file(paths.config_file());
        let vault = Vault::open(paths.data_dir(), &key).context("cofre biométrico")?;
        Ok(Opened { store, vault })
    }
}

fn done(json: bool, line: serde_json::Value, sentence: &str) {
    if json {
        println!("{line}");
    } else {
        println!("{sentence}");
    }
}

/// The password from the environment, or typed twice without echo (two lines of standard
/// input when it is not a terminal, for scripts).
fn password(env: Option<&str>) -> anyhow::Result<String> {
    if let Some(var) = env {
        return std::env::var(var).with_context(|| format!("variável de ambiente {var} ausente"));
    }
    let (first, second) = if std::io::stdin().is_terminal() {
        (
            rpassword::prompt_password("Senha: ")?,
            rpassword::prompt_password("Repita a senha: ")?,
        )
    } else {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> anyhow::Result<String> {
            lines
                .next()
                .context("a senha deve vir em duas linhas da entrada")?
                .map_err(Into::into)
        };
        (next()?, next()?)
    };
    if first != second {
        bail!("as senhas digitadas não conferem");
    }
    Ok(first)
}

fn enrol(
    station: &mut Opened,
    settings: &Config,
    actor: &Actor,
    login: &str,
    finger: Finger,
    consent: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut enrolment = staff::start_enrolment(&station.store, actor, login, finger)?;
    if !json {
        println!("Termo de consentimento (leia ao vistoriador):\n{CONSENT_TEXT}\n");
    }
    if !consent {
        print!("O vistoriador leu e concorda? [s/N] ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "s" | "sim") {
            bail!("cadastro cancelado: sem o consentimento do vistoriador");
        }
    }
    let mut reader = vistoria_station::fingerprint_reader(&settings.devices)?;
    let mut touches = 0;
    while !enrolment.complete() {
        if touches == MAX_TOUCHES {
            bail!(
                "{MAX_TOUCHES} toques sem {ENROL_CAPTURES} capturas aceitas: limpe o leitor e o \
                 dedo e tente de novo"
            );
        }
        touches += 1;
        if !json {
            println!(
                "Coloque o {} no leitor ({} de {ENROL_CAPTURES})…",
                finger.label_pt(),
                enrolment.accepted() + 1
            );
        }
        let image = capture_touch(reader.as_mut(), Duration::from_secs(30))
            .map_err(|e| anyhow::anyhow!("leitor biométrico: {e}"))?;
        let image = GrayImage {
            width: image.width,
            height: image.height,
            pixels: image.pixels,
        };
        match enrolment.add(&image) {
            Ok(quality) if json => println!(
                "{}",
                json!({"touch": touches, "accepted": true, "quality": quality.score})
            ),
            Ok(quality) => println!("  aceita (qualidade {})", quality.score),
            Err(e) if json => println!(
                "{}",
                json!({"touch": touches, "accepted": false, "reason": e.to_string()})
            ),
            Err(e) => println!("  recusada: {e}"),
        }
    }
    let consent = Consent {
        person: enrolment.user().to_owned(),
    };
    let finish = staff::finish_enrolment(
        &mut station.store,
        &station.vault,
        actor,
        enrolment,
        &consent,
        None,
    );
    if let Err(StaffError::Biometric(e)) = &finish {
        bail!("{e}");
    }
    finish?;
    let fingers = station.vault.fingers(login)?;
    let labels: Vec<&str> = fingers.iter().map(|f| f.label_pt()).collect();
    done(
        json,
        json!({"login": login, "enrolled": finger, "fingers": fingers}),
        &format!(
            "{} de {login} cadastrado; dedos cadastrados: {}",
            finger.label_pt(),
            labels.join(", ")
        ),
    );
    Ok(())
}
