//! `vistoria-central`: the reference central server and its offline commands.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use vistoria_central::flags::LimitFlags;
use vistoria_central::report::{Recheck, add_station, report};
use vistoria_central::retention::{PurgeRequest, purge};
use vistoria_central::server::{ServeOptions, StorageFlags, open_storage, serve};
use vistoria_central::{stations, users};

/// Reference central server of a Vistoria system company.
#[derive(Parser)]
#[command(name = "vistoria-central", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serves the API over HTTPS; prints `{"url":…,"cert_sha256":…}` as the first stdout line.
    Serve {
        /// Data folder (database, media, keys, certificate).
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8443")]
        addr: SocketAddr,
        /// Plain HTTP instead of TLS; refused unless `--addr` is a loopback address.
        #[arg(long)]
        insecure_http: bool,
        /// Vehicle registry (JSON array); the built-in demo registry if absent.
        #[arg(long)]
        registry: Option<PathBuf>,
        /// TLS certificate chain (PEM, the server's certificate first) instead of the self-made
        /// one; needs `--key`.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// Private key (PEM) of `--cert`.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitFlags,
        /// Folder of the ICP-Brasil root certificates (PEM or DER) an e-CPF must chain to.
        /// Required: without roots no laudo signature could be accepted.
        #[arg(long)]
        icp_roots: Option<PathBuf>,
        /// The receipt-signing key file every instance of a central shares (32 bytes, made by
        /// `key new`); DATA/keys/ when absent (one instance).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Accept certificates that name no LCR (no revocation check for them). Only for test
        /// PKIs (demo, tests), which have no LCR server; never for ICP-Brasil.
        #[arg(long)]
        lcr_optional: bool,
        /// Hours between retention purges (§9: what is older than five years is removed, and
        /// the run recorded); the first runs at start. 0 leaves purging to the `purge` command.
        #[arg(long, default_value_t = 24)]
        purge_every_hours: u64,
        /// Runs the help desk (issue 23) with this configuration (TOML: GLPI, WhatsApp, hours,
        /// categories; see README). Its store is DATA/helpdesk.sqlite: one instance runs it.
        #[arg(long, value_name = "FILE.toml")]
        helpdesk: Option<PathBuf>,
    },
    /// The receipt-signing key of a central of several instances.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Station tokens.
    Station {
        #[command(subcommand)]
        command: StationCommand,
    },
    /// Releases of the station software (§15 a).
    Release {
        #[command(subcommand)]
        command: ReleaseCommand,
    },
    /// Software and security policies of the stations (§15 b, c).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Credentials of people for the Detran API: Detran auditors and administrators.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// One JSON line per received inspection with its verification status, then the totals;
    /// re-reads the stored bytes of what is due for a check.
    Report {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
        /// JSON lines (the only format).
        #[arg(long)]
        json: bool,
        /// Re-read the bytes of the inspections last checked more than this many days ago (the
        /// commit is the first check); 0 re-reads every one.
        #[arg(long, default_value_t = 30)]
        recheck_after_days: u32,
        /// Stop re-reading after this many bytes; the next run goes on from there.
        #[arg(long)]
        recheck_budget_bytes: Option<u64>,
    },
    /// Removes what is older than the five years of §9, printing each removal as a JSON line.
    Purge {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
        /// Only print what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Pretend the current time is this (RFC 3339), for audits and tests.
        #[arg(long, hide = true)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Writes a new key file (mode 0600) for `serve --key-file` and prints its public key.
    New {
        /// Where to write it; an existing file is never replaced.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Where the signing key is, as `serve` takes it.
#[derive(clap::Args)]
struct SigningFlags {
    /// Data folder.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    storage: StorageFlags,
    /// The key file every instance shares (`serve --key-file`); DATA/keys/ when absent.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

impl SigningFlags {
    fn key(&self) -> anyhow::Result<vistoria_central::keys::ServerKey> {
        Ok(match &self.key_file {
            Some(path) => vistoria_central::keys::ServerKey::load_file(path)?,
            None => vistoria_central::keys::ServerKey::load_or_create(&self.data.join("keys"))?,
        })
    }
}

#[derive(Subcommand)]
enum ReleaseCommand {
    /// Stores a `vistoria` .deb and publishes the signed version policy that makes it current;
    /// stations below `--min-version` finish what is open and start nothing new.
    Publish {
        /// The package (its version is read from its control file).
        file: PathBuf,
        /// Lowest version a station may run and still open inspections.
        #[arg(long)]
        min_version: String,
        #[command(flatten)]
        signing: SigningFlags,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Publishes the `[software]` and/or `[security]` sections of a TOML file, each as a new
    /// signed version (see central/README.md).
    Set {
        /// The policy file.
        file: PathBuf,
        #[command(flatten)]
        signing: SigningFlags,
    },
}

#[derive(Subcommand)]
enum StationCommand {
    /// Registers a station and prints its new bearer token (only a hash is stored).
    Add {
        /// Station code, e.g. `ECV-CUIABA-01`.
        code: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// Gives a station a new token (printed) and refuses the old one at once, also on a
    /// running server.
    Rotate {
        /// Station code.
        code: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// What the station's last inventory holds against the software policy (§15 b), as JSON.
    Show {
        /// Station code.
        code: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// Sets the station's business hours, inside which its panoramic camera streams live to
    /// the portal (§7); prints them. Without `--days`/`--periods`/`--utc-offset`, the default:
    /// `seg-sex`, `07:00-18:00`, `-04:00`.
    Hours {
        /// Station code.
        code: String,
        /// Days open: `seg-sex`, `seg,qua,sex`, `seg-sab`, `seg-dom`.
        #[arg(long, default_value = "seg-sex")]
        days: String,
        /// Periods of each day open, local time: `07:00-11:00,13:00-17:00` (`24:00` ends a day).
        #[arg(long, default_value = "07:00-18:00")]
        periods: String,
        /// The station's offset from UTC: `-04:00` (Mato Grosso), `-03:00` (Brasília).
        #[arg(long, default_value = "-04:00", allow_hyphen_values = true)]
        utc_offset: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// Cancels a station's token at once, also on a running server (`rotate` issues a new one).
    Revoke {
        /// Station code.
        code: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a credential and prints its bearer token once (only a hash is stored).
    Add {
        /// What it may do: `detran` (auditor: reads every station's inspections) or `admin`.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Unique name (an e-mail address fits); never reused, even after `revoke`.
        #[arg(long)]
        name: String,
        /// Print `{"name":…,"role":…,"token":…}` instead of the bare token.
        #[arg(long)]
        json: bool,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// Lists every credential (revoked ones too), one per line; with `--portal`, the portal
    /// accounts instead (never a password hash).
    List {
        /// JSON lines instead of text.
        #[arg(long)]
        json: bool,
        /// The portal's accounts (`user password`) instead of the API credentials.
        #[arg(long)]
        portal: bool,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// Gives a person a password for the web portal (`/portal/`), creating their portal
    /// account or replacing its password and role; their open sessions end. The password is
    /// read from `--password-env VAR` or typed twice (two lines of standard input when it is not
    /// a terminal), never from an argument.
    Password {
        /// The person's name (the login); may be the name of an API credential too.
        name: String,
        /// What they may see: `detran` (every station, read-only), `gestor` (one station, see
        /// `--station`), `admin`, or `tecnico` (the help desk's console only).
        #[arg(long, value_enum)]
        role: PortalRoleArg,
        /// The manager's station (required with `--role gestor`).
        #[arg(long)]
        station: Option<String>,
        /// Read the password from this environment variable.
        #[arg(long)]
        password_env: Option<String>,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
    /// Revokes a credential: refused from the next request on, by every instance.
    Revoke {
        /// The credential's name.
        name: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        storage: StorageFlags,
    },
}

/// `--role` of `user password`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum PortalRoleArg {
    Detran,
    Gestor,
    Admin,
    Tecnico,
}

/// The password for `user password`: from the environment, or typed twice without echo (two
/// lines of standard input when it is not a terminal, for scripts).
fn portal_password(env: Option<&str>) -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _};
    if let Some(var) = env {
        return std::env::var(var)
            .map_err(|_| anyhow::anyhow!("variável de ambiente {var} ausente ou inválida"));
    }
    let (first, second) = if std::io::stdin().is_terminal() {
        (
            rpassword::prompt_password("Senha do portal: ")?,
            rpassword::prompt_password("Repita a senha: ")?,
        )
    } else {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> anyhow::Result<String> {
            lines
                .next()
                .ok_or_else(|| anyhow::anyhow!("a senha deve vir em duas linhas da entrada"))?
                .map_err(Into::into)
        };
        (next()?, next()?)
    };
    if first != second {
        anyhow::bail!("as senhas digitadas não conferem; nada foi alterado");
    }
    Ok(first)
}

/// `--role` of `user add`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Detran,
    Admin,
}

impl From<RoleArg> for vistoria_central::storage::directory::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Detran => Self::Detran,
            RoleArg::Admin => Self::Admin,
        }
    }
}

/// `user …`.
fn run_user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            role,
            name,
            json,
            data,
            storage,
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            let role = role.into();
            let token = users::add(meta.as_ref(), &name, role)?;
            if json {
                print_json(&serde_json::json!({"name": name, "role": role, "token": token}))
            } else {
                println!("{token}");
                Ok(())
            }
        }
        UserCommand::List {
            json,
            portal: true,
            data,
            storage,
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            for account in users::portal_accounts(meta.as_ref())? {
                let state = match (account.disabled_at, account.locked_until) {
                    (Some(at), _) => format!("desativado em {}", at.to_rfc3339()),
                    (None, Some(until)) if until > chrono::Utc::now() => {
                        format!("bloqueado até {}", until.to_rfc3339())
                    }
                    _ => "ativo".to_owned(),
                };
                if json {
                    print_json(&serde_json::json!({
                        "name": account.name,
                        "role": account.role.code(),
                        "station": account.role.station(),
                        "created_at": account.created_at,
                        "disabled_at": account.disabled_at,
                        "locked_until": account.locked_until,
                    }))?;
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{state}",
                        account.name,
                        account.role.code(),
                        account.role.station().unwrap_or("-"),
                        account.created_at.to_rfc3339()
                    );
                }
            }
            Ok(())
        }
        UserCommand::List {
            json,
            portal: false,
            data,
            storage,
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            for user in users::list(meta.as_ref())? {
                if json {
                    print_json(&user)?;
                } else {
                    let state = match user.revoked_at {
                        Some(at) => format!("revogado em {}", at.to_rfc3339()),
                        None => "ativo".to_owned(),
                    };
                    let role = serde_json::to_value(user.role)?;
                    let role = role.as_str().unwrap_or_default();
                    println!(
                        "{}\t{role}\t{}\t{state}",
                        user.name,
                        user.created_at.to_rfc3339()
                    );
                }
            }
            Ok(())
        }
        UserCommand::Password {
            name,
            role,
            station,
            password_env,
            data,
            storage,
        } => {
            use vistoria_central::storage::portal::PortalRole;
            let role = match (role, station) {
                (PortalRoleArg::Gestor, Some(station)) => PortalRole::Gestor { station },
                (PortalRoleArg::Gestor, None) => anyhow::bail!(
                    "um gestor é de uma estação: informe --station CÓDIGO (ex.: --station ECV-CUIABA-01)"
                ),
                (_, Some(_)) => anyhow::bail!(
                    "--station vale só para --role gestor; auditores e administradores veem todas \
                     as estações"
                ),
                (PortalRoleArg::Detran, None) => PortalRole::Detran,
                (PortalRoleArg::Admin, None) => PortalRole::Admin,
                (PortalRoleArg::Tecnico, None) => PortalRole::Tecnico,
            };
            let password = portal_password(password_env.as_deref())?;
            let (meta, _) = open_storage(&data, &storage)?;
            users::set_password(meta.as_ref(), &name, &role, &password)?;
            eprintln!(
                "senha do portal definida para {name} ({}); entre em https://ENDEREÇO-DA-CENTRAL/portal/",
                role.label_pt()
            );
            Ok(())
        }
        UserCommand::Revoke {
            name,
            data,
            storage,
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            users::revoke(meta.as_ref(), &name)?;
            eprintln!("credencial de {name} revogada");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // stdout carries machine-readable output only; logs go to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erro: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Last line of `purge`.
#[derive(serde::Serialize)]
struct PurgeSummary {
    /// Inspections and queries removed (or due, with `--dry-run`).
    purged: u64,
    inspections: u64,
    queries: u64,
    /// The stations' audit rows removed on their own (about no kept inspection).
    audit_rows: u64,
    /// Due inspections left for the next run: an upload or commit of theirs was running.
    skipped: u64,
    dry_run: bool,
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// `serve` refuses to start without roots: a central that trusts nobody would refuse every
/// signed laudo, and one that trusted everybody is what issue 17 found.
fn trust_options(
    icp_roots: Option<PathBuf>,
    lcr_optional: bool,
) -> anyhow::Result<vistoria_central::trust::TrustOptions> {
    let Some(dir) = icp_roots else {
        anyhow::bail!(
            "informe --icp-roots PASTA com os certificados raiz ICP-Brasil (PEM ou DER) aos quais \
             o e-CPF dos vistoriadores deve se encadear; sem eles nenhuma assinatura de laudo pode \
             ser aceita"
        );
    };
    let roots = vistoria_central::trust::load_roots(&dir);
    if roots.is_empty() {
        anyhow::bail!(
            "nenhum certificado raiz legível em --icp-roots {}; coloque lá os certificados raiz \
             ICP-Brasil (PEM ou DER)",
            dir.display()
        );
    }
    tracing::info!(roots = roots.len(), dir = %dir.display(), lcr_optional, "raízes ICP-Brasil carregadas");
    let mut options = vistoria_central::trust::TrustOptions::new(&dir);
    options.lcr_optional = lcr_optional;
    Ok(options)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            data,
            storage,
            addr,
            insecure_http,
            registry,
            cert,
            key,
            limits,
            icp_roots,
            key_file,
            lcr_optional,
            purge_every_hours,
            helpdesk,
        } => {
            let limits = limits.limits();
            let trust = trust_options(icp_roots, lcr_optional)?;
            let runtime = tokio::runtime::Runtime::new()?;
            let served = runtime.block_on(serve(ServeOptions {
                data,
                addr,
                insecure_http,
                registry,
                limits,
                cert: cert.zip(key),
                trust,
                storage,
                key_file,
                purge_every: (purge_every_hours > 0).then(|| {
                    std::time::Duration::from_secs(purge_every_hours.saturating_mul(3600))
                }),
                helpdesk,
            }));
            // Every request has ended (or its grace ran out); a stuck disk write must not keep
            // the process alive forever.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
            served
        }
        Command::Key {
            command: KeyCommand::New { out },
        } => {
            let key = vistoria_central::keys::ServerKey::create_file(&out)?;
            println!("{}", key.public_base64());
            Ok(())
        }
        Command::Station {
            command:
                StationCommand::Add {
                    code,
                    data,
                    storage,
                },
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            let token = add_station(meta.as_ref(), &code)?;
            println!("{token}");
            Ok(())
        }
        Command::Station {
            command:
                StationCommand::Rotate {
                    code,
                    data,
                    storage,
                },
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            println!("{}", stations::rotate(meta.as_ref(), &data, &code)?);
            Ok(())
        }
        Command::Station {
            command:
                StationCommand::Revoke {
                    code,
                    data,
                    storage,
                },
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            stations::revoke(meta.as_ref(), &data, &code)?;
            eprintln!("token da estação {code} revogado");
            Ok(())
        }
        Command::Station {
            command:
                StationCommand::Hours {
                    code,
                    days,
                    periods,
                    utc_offset,
                    data,
                    storage,
                },
        } => {
            let hours =
                vistoria_central::storage::live::BusinessHours::parse(&days, &periods, &utc_offset)
                    .map_err(anyhow::Error::msg)?;
            let (meta, _) = open_storage(&data, &storage)?;
            if !meta.station_activity()?.iter().any(|s| s.code == code) {
                anyhow::bail!("estação {code} não cadastrada; cadastre com `station add {code}`");
            }
            meta.set_business_hours(&code, &hours, chrono::Utc::now())?;
            println!("{code}: {}", hours.describe());
            Ok(())
        }
        Command::Station {
            command:
                StationCommand::Show {
                    code,
                    data,
                    storage,
                },
        } => {
            let (meta, _) = open_storage(&data, &storage)?;
            print_json(&vistoria_central::release::station_devices(
                meta.as_ref(),
                &code,
            )?)
        }
        Command::Release {
            command:
                ReleaseCommand::Publish {
                    file,
                    min_version,
                    signing,
                },
        } => {
            let key = signing.key()?;
            let (meta, blobs) = open_storage(&signing.data, &signing.storage)?;
            let policy = vistoria_central::release::publish_release(
                meta.as_ref(),
                blobs.as_ref(),
                &key,
                &file,
                &min_version,
                Utc::now(),
            )?;
            print_json(&policy)
        }
        Command::Policy {
            command: PolicyCommand::Set { file, signing },
        } => {
            let key = signing.key()?;
            let (meta, _) = open_storage(&signing.data, &signing.storage)?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let published = vistoria_central::release::publish_policy_file(
                meta.as_ref(),
                &key,
                &text,
                Utc::now(),
            )?;
            print_json(&published)
        }
        Command::User { command } => run_user(command),
        Command::Report {
            data,
            storage,
            json: _,
            recheck_after_days,
            recheck_budget_bytes,
        } => {
            let (meta, blobs) = open_storage(&data, &storage)?;
            let recheck = Recheck {
                now: Utc::now(),
                older_than: chrono::Duration::days(i64::from(recheck_after_days)),
                budget_bytes: recheck_budget_bytes,
            };
            let (lines, summary) = report(meta.as_ref(), blobs.as_ref(), &recheck)?;
            for line in &lines {
                print_json(line)?;
            }
            print_json(&summary)
        }
        Command::Purge {
            data,
            storage,
            dry_run,
            now,
        } => {
            let (meta, blobs) = open_storage(&data, &storage)?;
            let now = now.unwrap_or_else(Utc::now);
            let request = PurgeRequest {
                meta: meta.as_ref(),
                blobs: blobs.as_ref(),
                now,
                dry_run,
                origin: "comando purge".into(),
            };
            // A server running on the same store holds leases on what it is receiving; the
            // command takes none and the `serve` schedule removes the same things safely.
            let run = purge(&request, |_| Some(()), print_json)?;
            print_json(&PurgeSummary {
                purged: run.inspections + run.queries,
                inspections: run.inspections,
                queries: run.queries,
                audit_rows: run.audit_rows,
                skipped: run.skipped,
                dry_run,
            })
        }
    }
}
