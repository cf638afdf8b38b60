//! Maintenance on a stopped data directory: consistency check and garbage collection.
//!
//! Both assume nothing else writes: an ingest in flight has durable blobs that no metadata
//! names yet, and `gc` would take them. The stores lock their directories, so a running
//! server and a `gc` cannot open the same data directory.

use sv_blob::BlobId;
use tracing::info;

use crate::{Vault, VaultError};

pub use sv_meta::FsckReport;

/// What a garbage collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs in the blob store.
    pub examined: u64,
    /// Blobs no name referred to, now deleted.
    pub deleted: Vec<BlobId>,
    pub bytes_freed: u64,
}

/// Checks that metadata and blobs agree (see [`sv_meta::fsck`]).
pub fn fsck_report(vault: &Vault) -> Result<FsckReport, VaultError> {
    Ok(sv_meta::fsck(
        vault.inner.meta.as_ref(),
        vault.inner.blobs.as_ref(),
    )?)
}

impl Vault {
    /// Deletes every blob that no name refers to (blocking). Only on a stopped store.
    pub fn gc_blocking(&self) -> Result<GcReport, VaultError> {
        let referenced: std::collections::HashSet<BlobId> = self
            .inner
            .meta
            .referenced_blobs()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut report = GcReport::default();
        for id in self.inner.blobs.list()? {
            report.examined += 1;
            if referenced.contains(&id) {
                continue;
            }
            let len = self.inner.blobs.len(&id)?.unwrap_or(0);
            if self.inner.blobs.delete(&id)? {
                report.bytes_freed += len;
                report.deleted.push(id);
            }
        }
        info!(
            examined = report.examined,
            deleted = report.deleted.len(),
            "gc finished"
        );
        Ok(report)
    }
}
