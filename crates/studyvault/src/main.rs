//! studyvault, the binary: configuration, composition root and command line.
//!
//! Architecture invariants: only this crate reads configuration (files, environment, flags)
//! and uses `anyhow`; the library crates get plain structs. Secrets never reach `Debug`
//! output or logs.

mod admin_token;
mod bench;
mod blob_backend;
mod cli;
mod client;
mod config;
mod config_env;
mod export;
mod maintenance;
mod malloc;
mod meta_backend;
mod migrate;
mod public_url;
mod record;
mod secret;
mod serve;
mod tls;
mod upload;

use clap::Parser;

use cli::{Cli, Command};
use config::{Config, Layer, Loaded};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("studyvault: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn load(cli_config: Option<&std::path::Path>, flags: &Layer) -> anyhow::Result<Loaded> {
    Config::load(cli_config, std::env::vars(), flags)
}

fn init_logs(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => {
            // First, while the process has one thread.
            malloc::fix_mmap_threshold();
            let loaded = load(file, &args.layer())?;
            init_logs(&loaded.config.log);
            serve::run(loaded)?;
        }
        Command::Config(args) => {
            let loaded = load(file, &args.layer())?;
            print_config(&loaded)?;
        }
        Command::Record(cmd) => record::run(cmd, file)?,
        Command::Upload(args) => return upload::run(args, file),
        Command::Export(args) => {
            let loaded = load(file, &args.data.layer())?;
            init_logs("warn");
            export::run(&args, &loaded.config)?;
        }
        Command::Fsck(args) => {
            let loaded = load(file, &args.layer())?;
            init_logs("warn");
            return maintenance::fsck(&loaded.config);
        }
        Command::Gc(args) => {
            let loaded = load(file, &args.layer())?;
            init_logs("warn");
            maintenance::gc(&loaded.config)?;
        }
        Command::Migrate(args) => {
            let loaded = load(file, &args.data.layer())?;
            init_logs("warn");
            return migrate::run(&args, &loaded.config);
        }
        Command::Bench(args) => {
            init_logs("warn");
            bench::run(&args)?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn print_config(loaded: &Loaded) -> anyhow::Result<()> {
    match &loaded.file {
        Some(path) => println!("# file: {}", path.display()),
        None => println!("# file: none (defaults)"),
    }
    if !loaded.env_keys.is_empty() {
        println!("# environment: {}", loaded.env_keys.join(", "));
    }
    if loaded.config.admin_token.is_none() {
        println!(
            "# admin_token: from {}",
            loaded.config.data.join(admin_token::FILE_NAME).display()
        );
    }
    print!("{}", loaded.config.to_toml()?);
    Ok(())
}
