//! The command line: `studyvault serve | config | record | upload | export | fsck | gc | migrate |
//! bench`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Layer;
use crate::secret::Secret;

/// A personal health record store for medical images (HealthVault-style, DICOM in, previews out).
#[derive(Debug, Parser)]
#[command(name = "studyvault", version)]
pub struct Cli {
    /// Configuration file [default: ./studyvault.toml if present, else <data>/studyvault.toml].
    #[arg(long, global = true, env = "STUDYVAULT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServerArgs),
    /// Print the merged configuration (defaults, file, STUDYVAULT_* environment, flags),
    /// secrets redacted.
    ///
    /// Environment names: STUDYVAULT_<KEY> for top-level keys (STUDYVAULT_LISTEN) and
    /// STUDYVAULT_<SECTION>_<KEY> for keys in a section (STUDYVAULT_PREVIEW_FORMAT,
    /// STUDYVAULT_LIMITS_MAX_UPLOAD_BYTES).
    Config(ServerArgs),
    /// Manage records on a running server (needs the admin token).
    #[command(subcommand)]
    Record(RecordCommand),
    /// Upload DICOM files, folders (walked) and zips to a record of a running server.
    Upload(UploadArgs),
    /// Export a study, or a whole record, from a stopped data directory to a folder of DICOM
    /// files, previews and the study XML.
    Export(ExportArgs),
    /// Check a stopped data directory: every referenced blob present and hashing right.
    Fsck(DataArgs),
    /// Delete the blobs no metadata refers to, in a stopped data directory.
    Gc(DataArgs),
    /// Copy a stopped embedded store (its records, things, versions, blobs, tokens, shares)
    /// into the deployment another configuration names (metadata on PostgreSQL, blobs in S3),
    /// verify both sides and report; run it again to resume.
    Migrate(MigrateArgs),
    /// Load benchmark: studyvault against Orthanc on loopback (ingest, previews, memory).
    Bench(crate::bench::BenchArgs),
}

/// Flags that override configuration keys.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerArgs {
    /// Data directory [default: ./studyvault-data].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Listen address [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// URL clients reach the server at [default: http://<listen>].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Preview format: jpeg or png [default: jpeg].
    #[arg(long, value_name = "FORMAT")]
    pub preview_format: Option<String>,
    /// Ingests that may run at once [default: number of CPUs].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Log filter, e.g. `info` or `studyvault=debug` [default: info].
    #[arg(long, value_name = "FILTER")]
    pub log: Option<String>,
}

impl ServerArgs {
    pub fn layer(&self) -> Layer {
        let mut layer = Layer {
            data: self.data.clone(),
            listen: self.listen.clone(),
            public_url: self.public_url.clone(),
            log: self.log.clone(),
            workers: self.workers,
            ..Layer::default()
        };
        layer.preview.format = self.preview_format.clone();
        layer
    }
}

/// A data directory, for the commands that work on a stopped store.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// Data directory [default: from configuration, ./studyvault-data].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

impl DataArgs {
    pub fn layer(&self) -> Layer {
        Layer {
            data: self.data.clone(),
            ..Layer::default()
        }
    }
}

/// How a client command reaches the server.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientArgs {
    /// Server URL [default: the configured public_url, http://127.0.0.1:8080].
    #[arg(long, env = "STUDYVAULT_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Data directory whose configuration and admin.token to use [default: ./studyvault-data].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Create a record; prints its id and a token with every permission on it.
    ///
    /// With --email, the owner can also sign in to the web pages by a link mailed there (when
    /// the server has [smtp]); the record token works for signing in either way.
    Create {
        /// The person's name, as the record shows it.
        #[arg(long)]
        name: String,
        /// The owner's e-mail address, where one-time sign-in links for the web pages go.
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
        /// Admin token [default: STUDYVAULT_ADMIN_TOKEN, else <data>/admin.token].
        #[arg(long, value_name = "TOKEN", value_parser = parse_secret)]
        token: Option<Secret>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// A token of the record with create permission on studies.
    #[arg(long, env = "STUDYVAULT_TOKEN", value_name = "TOKEN", value_parser = parse_secret)]
    pub token: Secret,
    /// Record id.
    #[arg(long, value_name = "ID")]
    pub record: String,
    /// Parallel connections.
    #[arg(long, short = 'j', default_value_t = 4)]
    pub connections: usize,
    /// Replace instances stored earlier with other bytes under the same SOP Instance UID.
    #[arg(long)]
    pub replace: bool,
    /// Do not draw a progress bar (totals are still printed).
    #[arg(long)]
    pub quiet: bool,
    /// Files, folders (walked) and .zip files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `studyvault migrate`: the source is the configured data directory, as for `fsck`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The destination's configuration file: `[meta] backend = "postgres"`, and `[blobs]
    /// backend = "s3"` (or blobs under another data directory). It is read alone: the
    /// STUDYVAULT_* environment and the flags configure the source.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Blobs copied at once.
    #[arg(long, short = 'j', default_value_t = 4)]
    pub jobs: usize,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Record id.
    #[arg(long, value_name = "ID")]
    pub record: String,
    /// Only this study (StudyInstanceUID) [default: every study of the record].
    #[arg(long, value_name = "UID")]
    pub study: Option<String>,
    /// Destination folder (created; one sub-folder per study).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty token".into());
    }
    Ok(Secret::new(s))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
