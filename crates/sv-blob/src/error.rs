//! `BlobError` and how corruption travels through `std::io::Read` as an `io::Error`.

use std::io;
use std::path::PathBuf;

use crate::BlobId;

/// Everything a blob store operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// No blob with this id is stored.
    #[error("blob {0} not found")]
    NotFound(BlobId),
    /// The stored bytes (or their outboard) do not hash to the id: never served.
    #[error("blob {id} is corrupt: {kind}")]
    Corrupt { id: BlobId, kind: CorruptKind },
    /// The requested range is empty or reaches past the end of the blob.
    #[error("range not satisfiable for a blob of {len} bytes")]
    RangeNotSatisfiable { len: u64 },
    /// The reader handed to `put` failed; nothing was stored.
    #[error("could not read the blob source")]
    Source(#[source] io::Error),
    /// A filesystem operation failed.
    #[error("could not {op} '{}'", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another process (or another handle in this one) holds the store root.
    #[error("blob store '{}' is in use by another process", path.display())]
    Locked { path: PathBuf },
    /// The root carries a layout marker this version does not understand.
    #[error("unsupported blob store layout {found:?} in '{}' (expected {expected:?})", path.display())]
    UnsupportedLayout {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
}

/// What exactly is wrong with a corrupt blob.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptKind {
    /// The whole content does not hash to the id.
    #[error("content does not hash to its id")]
    ContentMismatch,
    /// One verified group of bytes does not match its chaining value.
    #[error("bytes {start}..{end} do not match the outboard")]
    GroupMismatch { start: u64, end: u64 },
    /// The file is shorter or longer than the length recorded at write time.
    #[error("stored length {found} differs from the recorded length {expected}")]
    LengthMismatch { expected: u64, found: u64 },
    /// The outboard is missing for a blob that needs one.
    #[error("outboard is missing")]
    OutboardMissing,
    /// The outboard cannot be parsed or does not merge to the id.
    #[error("outboard is invalid: {0}")]
    OutboardInvalid(&'static str),
}

impl BlobError {
    /// Builds an [`BlobError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> BlobError {
        BlobError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Wraps this error in an `io::Error` (kind `InvalidData` for corruption), for `Read` impls.
    pub fn into_io(self) -> io::Error {
        let kind = match &self {
            BlobError::Corrupt { .. } => io::ErrorKind::InvalidData,
            BlobError::NotFound(_) => io::ErrorKind::NotFound,
            BlobError::Io { source, .. } | BlobError::Source(source) => source.kind(),
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, self)
    }

    /// The `BlobError` carried inside an `io::Error` returned by a [`crate::BlobReader`], if any.
    pub fn from_io(err: &io::Error) -> Option<&BlobError> {
        err.get_ref()?.downcast_ref::<BlobError>()
    }

    /// True when this error means the stored bytes are wrong (as opposed to missing or IO).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, BlobError::Corrupt { .. })
    }
}

/// True when an `io::Error` from a [`crate::BlobReader`] reports corrupt stored bytes.
pub fn is_corrupt_io(err: &io::Error) -> bool {
    BlobError::from_io(err).is_some_and(BlobError::is_corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruption_survives_the_io_round_trip() {
        let err = BlobError::Corrupt {
            id: BlobId::EMPTY,
            kind: CorruptKind::GroupMismatch { start: 0, end: 10 },
        }
        .into_io();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(is_corrupt_io(&err));
        assert!(!is_corrupt_io(&io::Error::other("plain")));
        assert_eq!(
            err.to_string(),
            format!(
                "blob {} is corrupt: bytes 0..10 do not match the outboard",
                BlobId::EMPTY
            )
        );
    }
}
