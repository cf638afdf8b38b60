//! Instances too big to hold in memory while they arrive and wait: spooled to unlinked files
//! in the vault's spool directory (on the data disk, not a RAM-backed `/tmp`).
//!
//! An upload keeps an instance in memory up to [`VaultConfig::spool_above_bytes`]
//! (`crate::VaultConfig`) and writes a bigger one to a [`SpoolFile`]; ingest then reads the
//! file: whole, on a worker slot, for the parse and the render (so the bytes are in memory
//! only while one of the `workers` slots handles them), and streaming, for the blob put.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Vault;

/// An instance's bytes on their way to ingest.
#[derive(Clone)]
pub enum InstanceBytes {
    /// Held in memory (at most [`crate::VaultConfig::spool_above_bytes`] of them, when an
    /// upload spools).
    Memory(Arc<dyn AsRef<[u8]> + Send + Sync>),
    /// Written to a spool file.
    File(Arc<SpoolFile>),
}

impl std::fmt::Debug for InstanceBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceBytes::Memory(b) => write!(f, "Memory({} bytes)", (**b).as_ref().len()),
            InstanceBytes::File(s) => write!(f, "File({} bytes)", s.len),
        }
    }
}

impl InstanceBytes {
    /// Bytes already in memory.
    pub fn memory(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> InstanceBytes {
        InstanceBytes::Memory(Arc::new(bytes))
    }

    /// The instance's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            InstanceBytes::Memory(b) => (**b).as_ref().len() as u64,
            InstanceBytes::File(s) => s.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A spooled instance: an unlinked file (the OS frees it however the request ends) and how
/// many bytes of it are the instance.
#[derive(Debug)]
pub struct SpoolFile {
    file: File,
    len: u64,
}

impl SpoolFile {
    /// The first `len` bytes of `file` (one [`Vault::spool_file`] made) are the instance.
    pub fn new(file: File, len: u64) -> SpoolFile {
        SpoolFile { file, len }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A reader of the instance from its start. Reads are positional, so readers of one
    /// file never disturb one another.
    pub fn reader(&self) -> SpoolReader<'_> {
        SpoolReader {
            spool: self,
            pos: 0,
        }
    }

    /// Another handle on the spool file (a zip is read from its own handle).
    pub fn try_clone_file(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// The whole instance in memory (blocking).
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.reader().read_to_end(&mut bytes)?;
        if bytes.len() as u64 != self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the spool file is shorter than the instance",
            ));
        }
        Ok(bytes)
    }
}

/// Reads a [`SpoolFile`] from its start to the instance's end.
#[derive(Debug)]
pub struct SpoolReader<'a> {
    spool: &'a SpoolFile,
    pos: u64,
}

impl Read for SpoolReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.spool.len - self.pos;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.spool.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where spool files go, and how many instances were ingested from one.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    ingested: AtomicU64,
}

impl Spool {
    /// A spool in `dir` (created); files left there by a crash are removed.
    pub(crate) fn open(dir: PathBuf) -> io::Result<Spool> {
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "spool")
                && let Err(e) = fs::remove_file(&path)
                && e.kind() != io::ErrorKind::NotFound
            {
                return Err(e);
            }
        }
        Ok(Spool {
            dir,
            ingested: AtomicU64::new(0),
        })
    }

    /// A spool in the system's temporary directory (vaults over stores the caller made).
    pub(crate) fn in_temp_dir() -> Spool {
        Spool {
            dir: std::env::temp_dir(),
            ingested: AtomicU64::new(0),
        }
    }

    pub(crate) fn counted(&self) {
        self.ingested.fetch_add(1, Ordering::Relaxed);
    }
}

/// Creates a file in `dir` and unlinks it at once: only the handle reaches it.
fn unlinked_file(dir: &Path) -> io::Result<File> {
    let mut random = [0u8; 12];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("{name}.spool"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    fs::remove_file(&path)?;
    Ok(file)
}

impl Vault {
    /// A new, empty spool file for an instance above `spool_above_bytes` (blocking).
    pub fn spool_file(&self) -> io::Result<File> {
        unlinked_file(&self.inner.spool.dir)
    }

    /// Instances above this many bytes are spooled to a file rather than held in memory.
    pub fn spool_above_bytes(&self) -> u64 {
        self.inner.config.spool_above_bytes
    }

    /// How many instances were ingested from spool files since the vault opened.
    pub fn spooled_ingests(&self) -> u64 {
        self.inner.spool.ingested.load(Ordering::Relaxed)
    }
}
