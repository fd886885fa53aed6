//! The `gateway` command: clap subcommands only; the work is in the library.
use anyhow::Context;
use clap::{Parser, Subcommand};
use gateway::app::reconciliations::{self, Since};
use gateway::app::{self, Principal};
use gateway::config::{Config, LogFormat};
use gateway::crypto::Keyring;
use gateway::{jobs, startup};
use migration::{Migrator, MigratorTrait};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "Multi-tenant Stripe webhook gateway"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (applies pending migrations first).
    Serve,
    /// Apply or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the OpenAPI spec (JSON; `--yaml` for YAML).
    Openapi {
        #[arg(long)]
        yaml: bool,
    },
    /// Master key tools.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Tenant bootstrap from the shell.
    Tenants {
        #[command(subcommand)]
        action: TenantsAction,
    },
    /// Reconcile tenants against Stripe now: replay missed events, report discrepancies.
    Reconcile {
        /// The tenant's slug or id.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        tenant: Option<String>,
        /// Every active tenant with a Stripe config, one after another.
        #[arg(long)]
        all: bool,
        /// Start the window at this RFC 3339 instant (at most 30 days back) instead of just
        /// before the last successful run ended: recovery after an outage.
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Check a tenant's Stripe secret key with Stripe (never prints it).
    CheckConfig {
        /// The tenant's slug or id.
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Print a new master key line `id:base64(32 bytes)`; put it first in GATEWAY_MASTER_KEYS.
    Generate {
        /// The new key's id (1–32 of A–Z a–z 0–9 _ -); default `k<unix time>`.
        #[arg(long)]
        id: Option<String>,
    },
    /// Re-encrypt every stored secret under the newest master key (safe while serving).
    Rewrap {
        /// Rows per batch.
        #[arg(long, default_value_t = 100)]
        batch_size: u64,
    },
}

#[derive(Subcommand)]
enum TenantsAction {
    /// Create a tenant.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List tenants (first 100).
    List,
}

/// Logs go to stderr: colours only on a terminal (never into a file or a collector), and for a
/// command other than `serve` only warnings and errors (its output is what was asked for), unless
/// `RUST_LOG` says otherwise.
fn init_logging(format: LogFormat, serving: bool) {
    use std::io::IsTerminal;
    let default = if serving {
        "info,sqlx=warn,sea_orm=warn,poem=warn"
    } else {
        "warn,sqlx=warn,sea_orm=warn,poem=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// The state, with the tasks a command's use cases need (a command does not serve).
async fn prepared(config: Config) -> anyhow::Result<gateway::state::AppState> {
    let state = startup::prepare(config).await?.state;
    gateway::background::start(&state, gateway::background::Role::Command);
    Ok(state)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}

async fn reconcile(
    config: Config,
    tenant: Option<String>,
    all: bool,
    since: Since,
) -> anyhow::Result<bool> {
    let state = prepared(config).await?;
    let tenants = match tenant {
        Some(reference) => vec![
            app::scope::in_scope(&state, Principal::Operator, &reference)
                .await
                .with_context(|| format!("no tenant {reference}"))?,
        ],
        None if all => reconciliations::reconcilable(&state).await?,
        None => Vec::new(),
    };
    let mut all_ok = true;
    for tenant in tenants {
        let slug = &tenant.slug;
        let line = |r: &entity::reconciliation_runs::Model, msg: &str| {
            if msg == reconciliations::STARTED {
                println!(
                    "{slug}: run {} for {} .. {}",
                    r.id, r.window_start, r.window_end
                );
                return;
            }
            println!(
                "{slug}: {msg} (created {}, updated {}, unchanged {}, failed {})",
                r.created_count, r.updated_count, r.unchanged_count, r.failed_count
            );
        };
        let done = match reconciliations::run(&state, &tenant, since, &line).await {
            Ok(done) => done,
            Err(e @ app::Error::Conflict { .. }) => {
                println!("{slug}: not started: {e}");
                all_ok = false;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let found: Vec<serde_json::Value> =
            serde_json::from_str(&done.discrepancies).unwrap_or_default();
        println!(
            "{slug}: {} — created {}, updated {}, unchanged {}, failed {}; {} discrepancies{}",
            done.status,
            done.created_count,
            done.updated_count,
            done.unchanged_count,
            done.failed_count,
            found.len(),
            done.error
                .as_deref()
                .map(|e| format!("; error: {e}"))
                .unwrap_or_default()
        );
        for d in found {
            println!(
                "{slug}:   {} {} {}",
                d["kind"].as_str().unwrap_or(""),
                d["stripe_id"].as_str().unwrap_or(""),
                d["detail"].as_str().unwrap_or("")
            );
        }
        all_ok &= done.status == entity::status::RunStatus::Succeeded;
    }
    Ok(all_ok)
}

async fn check_config(config: Config, reference: &str) -> anyhow::Result<bool> {
    use gateway::app::stripe_config::KeyReport;
    use gateway::stripe::keycheck::KeyCheck;
    let state = prepared(config).await?;
    let tenant = app::scope::in_scope(&state, Principal::Operator, reference)
        .await
        .with_context(|| format!("no tenant {reference}"))?;
    let slug = &tenant.slug;
    let mode = entity::status::StripeMode::of_livemode;
    match app::stripe_config::check(&state, &tenant).await? {
        KeyReport::NoConfig => {
            println!(
                "{slug} ({}): no Stripe config{}",
                tenant.kind,
                if tenant.kind == entity::status::TenantKind::Connected {
                    " for the platform"
                } else {
                    ""
                }
            );
            Ok(false)
        }
        KeyReport::Checked { hint, live, result } => match result {
            KeyCheck::Ok => {
                println!("{slug}: ok — key {hint} works ({} mode)", mode(live));
                Ok(true)
            }
            KeyCheck::Invalid(why) => {
                println!("{slug}: invalid key {hint}: {why}");
                Ok(false)
            }
            KeyCheck::WrongMode { livemode } => {
                println!(
                    "{slug}: wrong mode — key {hint} looks like {} mode but Stripe says {}",
                    mode(live),
                    mode(livemode)
                );
                Ok(false)
            }
        },
        KeyReport::Unchecked { hint, why } => {
            println!("{slug}: could not check key {hint}: {why}");
            Ok(false)
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let cmd = gateway::config::help::for_args(<Cli as clap::CommandFactory>::command(), &args);
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&cmd.get_matches_from(&args))?;
    init_logging(cli.config.log_format, matches!(cli.command, Command::Serve));
    let config = cli.config;
    match cli.command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            let mut config = config.clone();
            config.public_url = Some(
                config
                    .public_base(listener.local_addr()?)
                    .map_err(anyhow::Error::msg)?,
            );
            let prepared = startup::prepare(config).await?;
            gateway::serve(prepared.state, listener, shutdown_signal()).await?;
        }
        Command::Migrate { action } => {
            let db = startup::open_database(&config).await?;
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => {
                    let pending = Migrator::get_pending_migrations(&db).await?.len();
                    Migrator::up(&db, None).await?;
                    println!("applied {pending} migration(s); schema is current");
                }
                MigrateAction::Status => {
                    for m in Migrator::get_migration_with_status(&db).await? {
                        println!("{:?}\t{}", m.status(), m.name());
                    }
                }
            }
        }
        Command::Openapi { yaml } => {
            let spec = if yaml {
                gateway::spec_yaml()
            } else {
                gateway::spec_json()
            };
            // `gateway openapi | head` closes the pipe early: that is the reader's choice, not a
            // failure (println! would panic on it).
            use std::io::Write;
            match writeln!(std::io::stdout().lock(), "{spec}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
        }
        Command::Keys {
            action: KeysAction::Generate { id },
        } => {
            let id = id.unwrap_or_else(|| format!("k{}", chrono::Utc::now().timestamp()));
            let line = Keyring::generate_line(&id)?;
            println!("{}", line.expose());
        }
        Command::Keys {
            action: KeysAction::Rewrap { batch_size },
        } => {
            let keyring = startup::keyring(&config)?;
            let db = startup::open_database(&config).await?;
            let report = jobs::keys::rewrap(&db, &keyring, batch_size).await?;
            println!(
                "rewrapped {} secret(s) under key {}; {} already current; {} changed concurrently",
                report.rewrapped,
                keyring.current_id(),
                report.current,
                report.raced
            );
            let opened = jobs::keys::verify_all(&db, &keyring).await?;
            println!("verified: all {opened} stored secret(s) open with the keyring");
        }
        Command::Tenants { action } => {
            let state = prepared(config).await?;
            match action {
                TenantsAction::Create { slug, name } => {
                    let new = app::tenants::NewTenant {
                        slug: gateway::domain::Slug::parse(&slug)?,
                        name: gateway::domain::parse_name(&name)?,
                        rate_limit_per_second: gateway::domain::DEFAULT_RATE_PER_SECOND,
                        rate_limit_burst: gateway::domain::DEFAULT_RATE_BURST,
                        stripe_account_id: None,
                        kind: entity::status::TenantKind::OwnAccount,
                        application_fee_bps: 0,
                        max_tip_bps: gateway::domain::DEFAULT_MAX_TIP_BPS,
                    };
                    let tenant = app::tenants::create(&state, &Principal::Operator, new).await?;
                    println!("{}\t{}\t{}", tenant.id, tenant.slug, tenant.name);
                }
                TenantsAction::List => {
                    let first = app::PageRequest {
                        after: None,
                        limit: 100,
                    };
                    let page = app::tenants::list(&state, &Principal::Operator, first).await?;
                    for t in page.items {
                        println!("{}\t{}\t{}\t{}", t.id, t.slug, t.status, t.name);
                    }
                }
            }
        }
        Command::Reconcile { tenant, all, since } => {
            let since = match since {
                Some(at) => reconciliations::check_since(at, chrono::Utc::now())
                    .map_err(anyhow::Error::msg)?,
                None => Since::LastRun,
            };
            if !reconcile(config, tenant, all, since).await? {
                std::process::exit(1);
            }
        }
        Command::CheckConfig { tenant } => {
            if !check_config(config, &tenant).await? {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
