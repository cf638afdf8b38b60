//! One instance's bytes as they stream in: held in memory up to the vault's spool bound
//! (`spool_above_bytes`), written to a spool file beyond it, dropped beyond the instance bound.
//! So an upload holds at most the spool bound in memory however big its instances are.

use bytes::BytesMut;
use std::sync::Arc;
use sv_vault::{InstanceBytes, SpoolFile, Vault};
use tokio::io::AsyncWriteExt;

/// Collects one instance's bytes (a single-instance body or one multipart part).
pub(crate) struct InstanceSink {
    vault: Vault,
    /// The instance bound: beyond it the bytes are dropped and [`InstanceSink::over`] is true.
    max: u64,
    spool_above: u64,
    memory: BytesMut,
    file: Option<Spooling>,
    len: u64,
    over: bool,
}

/// The spool file being written: a handle kept for the ingest and one writing.
struct Spooling {
    file: std::fs::File,
    writer: tokio::fs::File,
}

impl InstanceSink {
    /// A sink for an instance of at most `max` bytes; `declared` (Content-Length) sizes the
    /// memory buffer, or sends the bytes straight to a file when it is above the spool bound.
    pub(crate) fn new(vault: &Vault, max: u64, declared: Option<u64>) -> InstanceSink {
        let spool_above = vault.spool_above_bytes();
        let capacity = declared.filter(|n| *n <= spool_above).unwrap_or(0);
        InstanceSink {
            vault: vault.clone(),
            max,
            spool_above,
            memory: BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0)),
            file: None,
            len: 0,
            over: declared.is_some_and(|n| n > max),
        }
    }

    /// True once more than the instance bound arrived (nothing is kept from then on).
    pub(crate) fn over(&self) -> bool {
        self.over
    }

    /// Takes the next chunk.
    pub(crate) async fn push(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.over {
            return Ok(());
        }
        let len = self.len + chunk.len() as u64;
        if len > self.max {
            self.over = true;
            self.memory = BytesMut::new();
            self.file = None;
            return Ok(());
        }
        if self.file.is_none() && len > self.spool_above {
            let vault = self.vault.clone();
            let file = tokio::task::spawn_blocking(move || vault.spool_file())
                .await
                .map_err(std::io::Error::other)??;
            let mut writer = tokio::fs::File::from_std(file.try_clone()?);
            let held = std::mem::take(&mut self.memory);
            writer.write_all(&held).await?;
            self.file = Some(Spooling { file, writer });
        }
        match &mut self.file {
            Some(spooling) => spooling.writer.write_all(chunk).await?,
            None => self.memory.extend_from_slice(chunk),
        }
        self.len = len;
        Ok(())
    }

    /// The instance, or `None` when it was over the bound.
    pub(crate) async fn finish(self) -> std::io::Result<Option<InstanceBytes>> {
        if self.over {
            return Ok(None);
        }
        Ok(Some(match self.file {
            Some(mut spooling) => {
                spooling.writer.flush().await?;
                drop(spooling.writer);
                InstanceBytes::File(Arc::new(SpoolFile::new(spooling.file, self.len)))
            }
            None => InstanceBytes::memory(self.memory.freeze()),
        }))
    }
}
