//! Things of any type, HealthVault style: create, read, update with a version stamp, soft
//! delete, history, queries, and the named blobs attached to them.
//!
//! Every use case takes the caller's [`Principal`] and checks the permission that the type of
//! the thing decides (an existing thing's stored type, never a type the client claims).
//! Expected outcomes — not found, stale version, no permission, a type that only ingest may
//! write — come back as a [`ThingRefusal`] value; `VaultError` means the stores failed.
//!
//! The medical-image-study type is built only by ingest: its XML is assembled from the
//! per-instance facts, so it cannot be created, updated or given blobs here (it can be read,
//! queried and deleted).

use std::io::Read;
use std::ops::Range;

use sv_blob::{BlobId, BlobReader};
use sv_meta::{Change, MetaError, Page, ThingQuery, ThingUpdate};
use sv_model::{
    Audit, AuditAction, BlobName, NamedBlob, Permissions, RecordId, Thing, ThingFlags, ThingId,
    ThingState, ThingVersion, TypeId, VersionStamp,
};

use crate::{Access, Principal, Vault, VaultError};

/// Why a thing use case did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThingRefusal {
    /// No such thing in this record, or it is deleted and the use case needs it live.
    NotFound,
    /// The thing has no blob by that name.
    BlobNotFound,
    /// The caller's token belongs to another record (answer as "not found").
    OtherRecord,
    /// The caller lacks the permission for this thing's type.
    Forbidden,
    /// The version stamp the change was based on is stale.
    Conflict { current: VersionStamp },
    /// The medical-image-study type is written only by ingest.
    ManagedByIngest,
    /// A created thing must name its type.
    MissingTypeId,
    /// A created thing must carry `<data-xml>`.
    MissingDataXml,
    /// The body's `thing-id` is not the thing being updated, or a create names one.
    ThingIdMismatch,
    /// The body's `type-id` is not the stored thing's type.
    TypeMismatch,
}

/// What a use case returns: the outcome, or the expected reason it did not happen.
pub type Outcome<T> = Result<Result<T, ThingRefusal>, VaultError>;

/// A client's thing, as parsed from its `<thing>` (see `sv_hvxml::read_thing`).
#[derive(Debug, Clone, Default)]
pub struct ThingDraft {
    /// `thing-id` of the body, if it named one.
    pub thing_id: Option<ThingId>,
    pub type_id: Option<TypeId>,
    pub flags: Option<ThingFlags>,
    /// The `<data-xml>` content (type element, then optionally `<common>`), well-formed and
    /// bounded: the reader checked it.
    pub data_xml: Option<String>,
}

/// A named blob after a put: the blob, the thing's new version, whether a name was replaced.
#[derive(Debug, Clone)]
pub struct BlobPut {
    pub blob: NamedBlob,
    pub version: VersionStamp,
    pub replaced: bool,
}

/// A thing's history with the type that decides who may see it.
#[derive(Debug, Clone)]
pub struct ThingHistory {
    pub thing_id: ThingId,
    pub type_id: TypeId,
    /// Oldest first.
    pub versions: Vec<ThingVersion>,
}

/// `?` for the refusal half of an [`Outcome`].
macro_rules! refuse {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return Ok(Err(r)),
        }
    };
}

fn check(
    principal: &Principal,
    record: RecordId,
    ty: TypeId,
    needed: Permissions,
) -> Result<(), ThingRefusal> {
    match principal.access(record, Some(ty), needed) {
        Access::Granted => Ok(()),
        Access::OtherRecord => Err(ThingRefusal::OtherRecord),
        Access::Denied => Err(ThingRefusal::Forbidden),
    }
}

/// Expected outcomes of the metadata store become refusals; failures stay errors.
fn meta<T>(r: Result<T, MetaError>) -> Outcome<T> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(MetaError::Conflict { current }) => Ok(Err(ThingRefusal::Conflict { current })),
        Err(MetaError::ThingNotFound(_)) => Ok(Err(ThingRefusal::NotFound)),
        Err(MetaError::BlobNameNotFound { .. }) => Ok(Err(ThingRefusal::BlobNotFound)),
        Err(e) => Err(e.into()),
    }
}

fn audit(principal: &Principal, action: AuditAction) -> Audit {
    Audit::now(action, principal.token_id())
}

impl Vault {
    pub(crate) fn require_record(&self, record: RecordId) -> Result<(), VaultError> {
        match self.inner.meta.record(record)? {
            Some(_) => Ok(()),
            None => Err(VaultError::RecordNotFound(record)),
        }
    }

    /// The stored header of a thing, after checking `needed` on its type.
    fn header_for(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        needed: Permissions,
    ) -> Outcome<Thing> {
        let header = refuse!(
            self.inner
                .meta
                .thing_header(record, tid)?
                .ok_or(ThingRefusal::NotFound)
        );
        refuse!(check(principal, record, header.type_id, needed));
        Ok(Ok(header))
    }

    /// Creates a thing from a client's draft (blocking). `eff-date` is the creation time.
    pub fn create_thing_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        draft: ThingDraft,
    ) -> Outcome<Thing> {
        let type_id = refuse!(draft.type_id.ok_or(ThingRefusal::MissingTypeId));
        refuse!(check(principal, record, type_id, Permissions::CREATE));
        if type_id == TypeId::MEDICAL_IMAGE_STUDY {
            return Ok(Err(ThingRefusal::ManagedByIngest));
        }
        if draft.thing_id.is_some() {
            return Ok(Err(ThingRefusal::ThingIdMismatch));
        }
        let data_xml = refuse!(draft.data_xml.ok_or(ThingRefusal::MissingDataXml));
        self.require_record(record)?;
        let created = audit(principal, AuditAction::Created);
        let thing = Thing {
            id: ThingId::new_random(),
            version: VersionStamp::new_random(),
            type_id,
            state: ThingState::Active,
            flags: draft.flags.unwrap_or_default(),
            eff_date: created.timestamp,
            created: created.clone(),
            updated: created,
            data_xml,
            blobs: Vec::new(),
        };
        refuse!(meta(self.inner.meta.create_thing(record, &thing))?);
        Ok(Ok(thing))
    }

    /// A live thing as a reader sees it (blocking); a study comes assembled, with its
    /// `<medical-image-study>` and its derived preview names. With `version`, that version
    /// (deleted ones too; a study's old versions are headers only).
    pub fn read_thing_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        version: Option<VersionStamp>,
    ) -> Outcome<Thing> {
        let header = refuse!(self.header_for(principal, record, tid, Permissions::READ)?);
        if let Some(v) = version {
            let at = self.inner.meta.thing_at(record, tid, v)?;
            return Ok(at.ok_or(ThingRefusal::NotFound));
        }
        if header.is_deleted() {
            return Ok(Err(ThingRefusal::NotFound));
        }
        self.assembled(record, header).map(Ok)
    }

    /// The full current thing: a study assembled, anything else with its named blobs.
    fn assembled(&self, record: RecordId, header: Thing) -> Result<Thing, VaultError> {
        if header.type_id == TypeId::MEDICAL_IMAGE_STUDY && !header.is_deleted() {
            return match self.study_blocking(record, header.id) {
                Ok(view) => Ok(view.thing),
                // A study whose instances are gone still reads, without XML.
                Err(VaultError::EmptyStudy { .. }) => self.with_blobs(record, header),
                Err(e) => Err(e),
            };
        }
        self.with_blobs(record, header)
    }

    fn with_blobs(&self, record: RecordId, mut thing: Thing) -> Result<Thing, VaultError> {
        thing.blobs = self.inner.meta.named_blobs(record, thing.id)?;
        Ok(thing)
    }

    /// Updates a thing's data XML and flags if `expected` is its current version (blocking).
    /// A draft without `<data-xml>` keeps the stored XML.
    pub fn update_thing_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        expected: VersionStamp,
        draft: ThingDraft,
    ) -> Outcome<Thing> {
        let header = refuse!(self.header_for(principal, record, tid, Permissions::UPDATE)?);
        if header.is_deleted() {
            return Ok(Err(ThingRefusal::NotFound));
        }
        if header.type_id == TypeId::MEDICAL_IMAGE_STUDY {
            return Ok(Err(ThingRefusal::ManagedByIngest));
        }
        if draft.thing_id.is_some_and(|id| id != tid) {
            return Ok(Err(ThingRefusal::ThingIdMismatch));
        }
        if draft.type_id.is_some_and(|t| t != header.type_id) {
            return Ok(Err(ThingRefusal::TypeMismatch));
        }
        let update = ThingUpdate {
            data_xml: draft.data_xml.unwrap_or(header.data_xml),
            flags: draft.flags.unwrap_or(header.flags),
            eff_date: header.eff_date,
            version: VersionStamp::new_random(),
            audit: audit(principal, AuditAction::Updated),
        };
        meta(self.inner.meta.update_thing(record, tid, expected, &update))
    }

    /// Soft-deletes a thing (a tombstone version), checking `expected` when given (blocking).
    /// Deleting a deleted thing changes nothing and returns its version.
    pub fn delete_thing_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
    ) -> Outcome<VersionStamp> {
        refuse!(self.header_for(principal, record, tid, Permissions::DELETE)?);
        let deleted = audit(principal, AuditAction::Deleted);
        let outcome = self
            .inner
            .meta
            .delete_thing(record, tid, expected, &deleted);
        // A deleted study's shares lead nowhere, from the next request on.
        self.inner
            .shares
            .evict(|s| s.record_id == record && s.thing_id == tid);
        meta(outcome)
    }

    /// A thing's version history, oldest first; deleted things too (blocking).
    pub fn thing_versions_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
    ) -> Outcome<ThingHistory> {
        let header = refuse!(self.header_for(principal, record, tid, Permissions::READ)?);
        let versions = refuse!(meta(self.inner.meta.versions(record, tid))?);
        Ok(Ok(ThingHistory {
            thing_id: tid,
            type_id: header.type_id,
            versions,
        }))
    }

    /// One page of things (blocking); the caller checked read access to `query.type_id`.
    /// With `assemble`, live studies come with their XML and derived previews, and every
    /// thing with its named blobs.
    pub fn query_things_blocking(
        &self,
        record: RecordId,
        query: &ThingQuery,
        assemble: bool,
    ) -> Result<Page, VaultError> {
        self.require_record(record)?;
        let mut page = self.inner.meta.query(record, query)?;
        if assemble {
            page.things = page
                .things
                .into_iter()
                .map(|t| self.assembled(record, t))
                .collect::<Result<_, _>>()?;
        }
        Ok(page)
    }

    /// Resolves a blob name of a live thing for reading (blocking), including the derived
    /// series and study preview names of a study.
    pub fn named_blob_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        name: &BlobName,
    ) -> Outcome<NamedBlob> {
        let header = refuse!(self.header_for(principal, record, tid, Permissions::READ)?);
        if header.is_deleted() {
            return Ok(Err(ThingRefusal::NotFound));
        }
        if let Some(blob) = self.inner.meta.named_blob(record, tid, name)? {
            return Ok(Ok(blob));
        }
        if header.type_id == TypeId::MEDICAL_IMAGE_STUDY && !name.is_default() {
            let study = self.assembled(record, header)?;
            if let Some(blob) = study.blobs.into_iter().find(|b| &b.name == name) {
                return Ok(Ok(blob));
            }
        }
        Ok(Err(ThingRefusal::BlobNotFound))
    }

    /// Streams `reader` into the blob store and names it on a live thing (blocking): a new
    /// thing version. Access, state and `expected` are checked before a byte is read; the
    /// blob is durable before the metadata names it (a refusal after it leaves an
    /// unreferenced blob, which `gc` removes).
    #[allow(clippy::too_many_arguments)] // one use case, each argument a different fact
    pub fn put_blob_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        name: BlobName,
        content_type: String,
        expected: Option<VersionStamp>,
        reader: &mut dyn Read,
    ) -> Outcome<BlobPut> {
        let header = refuse!(self.writable_blob_owner(principal, record, tid, expected)?);
        let replaced = self.inner.meta.named_blob(record, tid, &name)?.is_some();
        // The client's stream can be read once: a second put (see `put_pinned`) asks for a retry.
        let mut source = Some(reader);
        let (put, _pin) = self.put_pinned(|| source.take().map(|r| self.inner.blobs.put(r)))?;
        let blob = NamedBlob {
            name,
            content_type,
            length: put.len,
            blob_id: put.id,
        };
        let updated = audit(principal, AuditAction::Updated);
        // The stream is spent: a blob collected meanwhile that is gone again asks for a retry.
        let committed = self.commit_naming(
            &[blob.blob_id],
            |_| None,
            || {
                self.inner
                    .meta
                    .put_named_blob(record, header.id, expected, &blob, &updated)
            },
        );
        let version = refuse!(meta(committed?)?);
        Ok(Ok(BlobPut {
            blob,
            version,
            replaced,
        }))
    }

    /// Removes a blob name from a live thing (blocking): a new thing version. The bytes stay
    /// while other names point at them.
    pub fn delete_blob_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        name: &BlobName,
        expected: Option<VersionStamp>,
    ) -> Outcome<VersionStamp> {
        refuse!(self.writable_blob_owner(principal, record, tid, expected)?);
        let updated = audit(principal, AuditAction::Updated);
        meta(
            self.inner
                .meta
                .delete_named_blob(record, tid, expected, name, &updated),
        )
    }

    /// A live thing whose blobs the caller may change (update permission, not a study),
    /// still at `expected` when given.
    fn writable_blob_owner(
        &self,
        principal: &Principal,
        record: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
    ) -> Outcome<Thing> {
        let header = refuse!(self.header_for(principal, record, tid, Permissions::UPDATE)?);
        if header.is_deleted() {
            return Ok(Err(ThingRefusal::NotFound));
        }
        if header.type_id == TypeId::MEDICAL_IMAGE_STUDY {
            return Ok(Err(ThingRefusal::ManagedByIngest));
        }
        if expected.is_some_and(|v| v != header.version) {
            return Ok(Err(ThingRefusal::Conflict {
                current: header.version,
            }));
        }
        Ok(Ok(header))
    }

    /// The bytes of blob `id`, or of `range` of them, verified as they are read (blocking:
    /// opens the file). The caller resolved `id` through a use case that checked access.
    pub fn read_blob_blocking(
        &self,
        id: &BlobId,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, VaultError> {
        Ok(self.inner.blobs.get(id, range)?)
    }

    /// The change feed after `since` as `principal` may see it, at most `limit` entries
    /// examined (blocking). A token sees the changes of the types it may read, and
    /// `next_since` moves past the ones it may not, so paging never stalls. A token that may
    /// read no type at all is refused.
    pub fn feed_blocking(
        &self,
        principal: &Principal,
        record: RecordId,
        since: u64,
        limit: usize,
    ) -> Outcome<FeedPage> {
        match principal.access(record, None, Permissions::NONE) {
            Access::Granted => {}
            Access::OtherRecord => return Ok(Err(ThingRefusal::OtherRecord)),
            Access::Denied => return Ok(Err(ThingRefusal::Forbidden)),
        }
        if !principal.reads_anything() {
            return Ok(Err(ThingRefusal::Forbidden));
        }
        self.require_record(record)?;
        let page = self.inner.meta.changes(record, since, limit)?;
        let next_since = page.changes.last().map_or(since, |c| c.seq).max(since);
        let changes = page
            .changes
            .into_iter()
            .filter(|c| {
                principal.access(record, Some(c.type_id), Permissions::READ) == Access::Granted
            })
            .collect();
        Ok(Ok(FeedPage {
            latest: page.latest_seq,
            changes,
            next_since,
        }))
    }
}

/// A page of the change feed as one caller sees it.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// The record's latest sequence number (0 when nothing happened yet).
    pub latest: u64,
    /// Oldest first; only the types the caller may read.
    pub changes: Vec<Change>,
    /// Pass as `since` for the next page; equal to `latest` when caught up.
    pub next_since: u64,
}
