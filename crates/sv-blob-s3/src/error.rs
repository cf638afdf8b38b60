//! S3 failures as [`BlobError`]s: the operation and the key, the cause, and never a secret.

use std::io;

use object_store::path::Path;
use sv_blob::BlobError;

use crate::Inner;

impl Inner {
    /// `s3://<bucket>/<key>`, how errors name an object.
    pub(crate) fn display_key(&self, key: &Path) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// An S3 failure of `op` on `key`.
    ///
    /// sv-blob has no variant for a remote store, so this is a [`BlobError::Io`] whose path is
    /// the object's `s3://` name and whose source is the cause as text (scrubbed of the
    /// credentials: `object_store` errors carry URLs and server messages, never the secret,
    /// but the check is cheap).
    pub(crate) fn error(&self, op: &'static str, key: &Path, e: object_store::Error) -> BlobError {
        let kind = match e {
            object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
            _ => io::ErrorKind::Other,
        };
        BlobError::Io {
            op,
            path: self.display_key(key).into(),
            source: io::Error::new(kind, scrub(&chain(&e), &self.secrets)),
        }
    }
}

/// The error and its sources, `: `-separated.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// `text` with every non-empty secret replaced.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "<redacted>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed() {
        let secrets = vec!["hunter2-secret".to_owned(), String::new()];
        assert_eq!(
            scrub("bad key hunter2-secret here", &secrets),
            "bad key <redacted> here"
        );
        assert_eq!(scrub("nothing", &secrets), "nothing");
    }
}
