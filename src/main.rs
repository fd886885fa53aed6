//! The `gateway` command: clap subcommands only; the work is in the library.
use anyhow::Context;
use clap::{Parser, Subcommand};
use gateway::config::{Config, LogFormat};
use gateway::crypto::Keyring;
use gateway::{jobs, startup, store};
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
    /// Print the OpenAPI spec (JSON).
    Openapi,
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

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,poem=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.config.log_format);
    let config = cli.config;
    match cli.command {
        Command::Serve => {
            let prepared = startup::prepare(config.clone()).await?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
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
        Command::Openapi => println!("{}", gateway::spec_json()),
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
            let db = startup::open_database(&config).await?;
            Migrator::up(&db, None).await?;
            match action {
                TenantsAction::Create { slug, name } => {
                    let tenant = store::tenants::create(
                        &db,
                        store::tenants::NewTenant {
                            slug: gateway::domain::parse_slug(&slug)?,
                            name: gateway::domain::parse_name(&name)?,
                            rate_limit_per_second: gateway::domain::DEFAULT_RATE_PER_SECOND,
                            rate_limit_burst: gateway::domain::DEFAULT_RATE_BURST,
                            stripe_account_id: None,
                        },
                    )
                    .await?;
                    println!("{}\t{}\t{}", tenant.id, tenant.slug, tenant.name);
                }
                TenantsAction::List => {
                    let page = store::tenants::list(
                        &db,
                        store::PageRequest {
                            after: None,
                            limit: 100,
                        },
                    )
                    .await?;
                    for t in page.items {
                        println!("{}\t{}\t{}\t{}", t.id, t.slug, t.status, t.name);
                    }
                }
            }
        }
    }
    Ok(())
}
