//! `SledMetaStore`: the [`MetaStore`](crate::MetaStore) on sled 0.34, one tree per relation.
//!
//! Trees (keys in [`crate::keys`], values in [`crate::codec`]):
//! `records` rid · `things` (rid, type, thing) · `thing_types` (rid, thing) -> type ·
//! `versions` (rid, thing, n) · `names` (rid, thing, name) · `refcounts` blob -> count ·
//! `feed` (rid, seq) · `feed_heads` rid -> last seq · `studies` (rid, study uid) -> thing ·
//! `sops` (rid, sop uid) -> (thing, blob, series) · `instances` (rid, thing, series, sop) ->
//! facts · `tokens` hash · `record_tokens` (rid, id) -> hash · `shares` hash ·
//! `record_shares` (rid, id) -> hash · `study_digests` (rid, thing) -> digest of a live study ·
//! `meta` schema version and the marker that digests were built (see [`digest_build`]).
//!
//! Every change runs as one sled transaction over all trees (sled serialises transactions
//! anyway), then waits for the group commit in [`files`].

mod access;
mod blobs;
mod digest;
mod digest_build;
mod feed;
mod files;
mod query;
mod sharing;
mod study;
mod things;
mod trait_impl;

use std::path::{Path, PathBuf};

use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{IVec, Transactional};

use crate::MetaError;
use crate::codec::{decode_u64, encode_u64};
use crate::durability::{GroupCommit, PendingKeys};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;
/// Cache size given to sled (it defaults to 1 GiB).
pub const CACHE_BYTES: u64 = 64 << 20;

/// The relations, in the order of the transaction's tree slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum T {
    Records,
    Things,
    ThingTypes,
    Versions,
    Names,
    Refcounts,
    Feed,
    FeedHeads,
    Studies,
    Sops,
    Instances,
    Tokens,
    RecordTokens,
    Shares,
    RecordShares,
    StudyDigests,
    ShareEvents,
    Sessions,
    SigninLinks,
    Outbox,
}

const TREE_NAMES: [&str; 20] = [
    "records",
    "things",
    "thing_types",
    "versions",
    "names",
    "refcounts",
    "feed",
    "feed_heads",
    "studies",
    "sops",
    "instances",
    "tokens",
    "record_tokens",
    "shares",
    "record_shares",
    "study_digests",
    "share_events",
    "sessions",
    "signin_links",
    "outbox",
];

impl T {
    pub(crate) fn name(self) -> &'static str {
        TREE_NAMES[self as usize]
    }
}

/// The metadata store on sled, in `<dir>/meta-v1/`.
pub struct SledMetaStore {
    path: PathBuf,
    db: sled::Db,
    trees: Vec<sled::Tree>,
    files: files::DbFiles,
    commits: GroupCommit,
    /// SOP index keys of `add_instance` calls not yet durable (see `study.rs`).
    pending_sops: PendingKeys,
}

impl std::fmt::Debug for SledMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledMetaStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The view of every tree inside one transaction.
pub(crate) struct Tx<'a>(&'a [TransactionalTree]);

/// What a transaction closure returns: aborts carry a [`MetaError`].
pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<MetaError>>;

/// Aborts the transaction with `e`.
pub(crate) fn abort<V>(e: MetaError) -> TxResult<V> {
    Err(ConflictableTransactionError::Abort(e))
}

impl Tx<'_> {
    pub(crate) fn get(&self, t: T, key: &[u8]) -> TxResult<Option<IVec>> {
        Ok(self.0[t as usize].get(key)?)
    }

    pub(crate) fn put(&self, t: T, key: Vec<u8>, value: Vec<u8>) -> TxResult<()> {
        self.0[t as usize].insert(key, value)?;
        Ok(())
    }

    pub(crate) fn remove(&self, t: T, key: Vec<u8>) -> TxResult<Option<IVec>> {
        Ok(self.0[t as usize].remove(key)?)
    }
}

/// Decodes inside a transaction, aborting on corrupt bytes.
pub(crate) fn tx_decode<V>(t: T, r: Result<V, crate::codec::CodecError>) -> TxResult<V> {
    r.map_err(|e| ConflictableTransactionError::Abort(MetaError::corrupt(t.name())(e)))
}

fn engine(op: &'static str) -> impl FnOnce(sled::Error) -> MetaError {
    move |e| MetaError::engine(op)(Box::new(e))
}

impl SledMetaStore {
    /// Opens (creating if needed) the store under `dir` (in `dir/meta-v1/`).
    ///
    /// Refuses a directory written by a newer schema ([`MetaError::NewerSchema`]).
    pub fn open(dir: impl AsRef<Path>) -> Result<SledMetaStore, MetaError> {
        let dir = dir.as_ref();
        refuse_newer_dirs(dir)?;
        let path = dir.join(format!("meta-v{SCHEMA_VERSION}"));
        std::fs::create_dir_all(&path).map_err(|source| MetaError::Io {
            op: "create",
            path: path.clone(),
            source,
        })?;
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(Some(500))
            .open()
            .map_err(engine("open"))?;
        let trees = TREE_NAMES
            .iter()
            .map(|n| db.open_tree(n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(engine("open the trees of"))?;
        let files = files::DbFiles::open(&path)?;
        let store = SledMetaStore {
            path,
            db,
            trees,
            files,
            commits: GroupCommit::default(),
            pending_sops: PendingKeys::default(),
        };
        store.check_schema(dir)?;
        store.ensure_digests()?;
        Ok(store)
    }

    /// The sled directory (`<dir>/meta-v1`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes sled uses on disk.
    pub fn size_on_disk(&self) -> Result<u64, MetaError> {
        self.db.size_on_disk().map_err(engine("measure"))
    }

    /// How many durable flushes (flush + fsync) have run since open: with concurrent writers,
    /// fewer than the writes they covered.
    pub fn durable_syncs(&self) -> u64 {
        self.commits.syncs()
    }

    /// Logical bytes stored: the sum of key and value lengths over every tree.
    pub fn logical_size(&self) -> Result<u64, MetaError> {
        let mut total = 0u64;
        for t in &self.trees {
            for kv in t.iter() {
                let (k, v) = kv.map_err(engine("read"))?;
                total += (k.len() + v.len()) as u64;
            }
        }
        Ok(total)
    }

    fn check_schema(&self, dir: &Path) -> Result<(), MetaError> {
        let meta = self.db.open_tree("meta").map_err(engine("open"))?;
        match meta.get(b"schema").map_err(engine("read"))? {
            Some(v) => {
                let found = decode_u64(&v, "schema version").map_err(MetaError::corrupt("meta"))?;
                if found > u64::from(SCHEMA_VERSION) {
                    return Err(MetaError::NewerSchema {
                        path: dir.to_path_buf(),
                        found: u32::try_from(found).unwrap_or(u32::MAX),
                        supported: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                meta.insert(b"schema", encode_u64(u64::from(SCHEMA_VERSION)))
                    .map_err(engine("write"))?;
                self.durable()?;
            }
        }
        Ok(())
    }

    pub(crate) fn tree(&self, t: T) -> &sled::Tree {
        &self.trees[t as usize]
    }

    /// Runs `f` as one transaction over every tree, then waits until it is durable.
    pub(crate) fn transact<R>(&self, f: impl Fn(&Tx<'_>) -> TxResult<R>) -> Result<R, MetaError> {
        let result = self.trees.as_slice().transaction(|trees| f(&Tx(trees)));
        // Even an abort or a no-op may have read state another writer has not yet made
        // durable (a duplicate, say): every answer waits for the group commit.
        let durable = self.durable();
        let value = match result {
            Ok(v) => v,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(engine("commit to")(e)),
        };
        durable.map(|()| value)
    }

    /// Makes everything committed so far durable (group commit: flush + fsync).
    pub(crate) fn durable(&self) -> Result<(), MetaError> {
        self.commits.wait_durable(|| {
            self.db.flush().map_err(engine("flush"))?;
            self.files.sync()
        })
    }

    /// Every (key, value) under `prefix`, decoded by `f`.
    pub(crate) fn scan<V>(
        &self,
        t: T,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<V, MetaError>,
    ) -> Result<Vec<V>, MetaError> {
        let mut out = Vec::new();
        for kv in self.tree(t).scan_prefix(prefix) {
            let (k, v) = kv.map_err(engine("read"))?;
            out.push(f(&k, &v)?);
        }
        Ok(out)
    }

    pub(crate) fn get(&self, t: T, key: &[u8]) -> Result<Option<IVec>, MetaError> {
        self.tree(t).get(key).map_err(engine("read"))
    }
}

/// Refuses to open when a newer schema's directory sits next to ours: data may have been
/// migrated forward, and writing the old one would fork it.
fn refuse_newer_dirs(dir: &Path) -> Result<(), MetaError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(v) = name.to_str().and_then(|n| n.strip_prefix("meta-v")) else {
            continue;
        };
        if let Ok(found) = v.parse::<u32>()
            && found > SCHEMA_VERSION
        {
            return Err(MetaError::NewerSchema {
                path: dir.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    Ok(())
}
