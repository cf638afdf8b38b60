//! The admin token: from configuration (`STUDYVAULT_ADMIN_TOKEN`), or generated once into
//! `<data>/admin.token` (mode 0600) and printed once, at the start that made it.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::secret::Secret;

pub const FILE_NAME: &str = "admin.token";

/// Where the admin token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Configured,
    File(PathBuf),
    /// Made by this call; the caller prints it once.
    Generated(PathBuf),
}

/// The admin token for a server on `data`: the configured one, else the file's, else a new
/// one written to the file.
pub fn resolve(configured: Option<&Secret>, data: &Path) -> anyhow::Result<(Secret, Source)> {
    if let Some(token) = configured {
        return Ok((token.clone(), Source::Configured));
    }
    let path = data.join(FILE_NAME);
    if let Some(token) = read(&path)? {
        return Ok((token, Source::File(path)));
    }
    let token = Secret::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("could not create '{}'", path.display()))?;
    file.write_all(format!("{}\n", token.expose()).as_bytes())?;
    file.sync_all()?;
    Ok((token, Source::Generated(path)))
}

/// The token in `<data>/admin.token`, if that file exists (for the client commands).
pub fn read(path: &Path) -> anyhow::Result<Option<Secret>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "admin token file is readable by others; chmod 600 it"
                );
            }
            let token = text.trim();
            if token.len() < 16 {
                bail!("'{}' holds no usable token", path.display());
            }
            Ok(Some(Secret::new(token)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("could not read '{}'", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_with_mode_0600_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, source) = resolve(None, dir.path()).unwrap();
        assert!(matches!(source, Source::Generated(_)));
        let path = dir.path().join(FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, source) = resolve(None, dir.path()).unwrap();
        assert_eq!(again, first);
        assert_eq!(source, Source::File(path));
        let configured = Secret::new("configured-token-0123456789");
        let (c, source) = resolve(Some(&configured), dir.path()).unwrap();
        assert_eq!((c, source), (configured, Source::Configured));
    }
}
