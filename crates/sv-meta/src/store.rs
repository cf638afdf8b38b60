//! The `MetaStore` trait: everything the vault asks of its metadata store.
//!
//! Every mutating method returns only once its change is durable; every multi-key change is
//! atomic. Methods are synchronous: async callers run them on blocking threads.

use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{
    Audit, BlobId, BlobName, MailId, NamedBlob, OutboxMail, Record, RecordId, SecretHash, Session,
    Share, ShareEvent, SigninLink, Thing, ThingId, ThingState, ThingVersion, Timestamp, Token,
    TokenId, VersionStamp,
};

use crate::{
    AddInstanceOutcome, ChangePage, Collection, CollectionMark, InstanceIndexEntry,
    InvalidationSink, MetaError, Page, ThingQuery, ThingUpdate,
};

/// The metadata store: records, things and their versions, named blobs and their reference
/// counts, the change feed, tokens, shares and the DICOM study index.
pub trait MetaStore: Send + Sync + std::fmt::Debug {
    /// Has `sink` called, from now on, with every revocation or share change that *another*
    /// process makes in this store, so that it can forget what it remembers of those secrets.
    /// A store only one process can open (sled) never calls it: that process made every change
    /// itself.
    fn on_invalidation(&self, sink: InvalidationSink) {
        drop(sink);
    }

    // --- records -------------------------------------------------------------------------

    /// Creates a record; [`MetaError::AlreadyExists`] if its id is taken.
    fn create_record(&self, record: &Record) -> Result<(), MetaError>;
    fn record(&self, id: RecordId) -> Result<Option<Record>, MetaError>;
    /// Every record, by id.
    fn records(&self) -> Result<Vec<Record>, MetaError>;

    // --- things --------------------------------------------------------------------------

    /// Stores a new thing as given (ids, stamp, audits built by the caller), adding its named
    /// blobs and their reference counts. Feed: `Create`.
    fn create_thing(&self, rid: RecordId, thing: &Thing) -> Result<(), MetaError>;
    /// The current version of a thing (deleted ones too), with its named blobs.
    fn thing(&self, rid: RecordId, tid: ThingId) -> Result<Option<Thing>, MetaError>;
    /// Like [`MetaStore::thing`] without loading the named blobs (`blobs` is empty).
    fn thing_header(&self, rid: RecordId, tid: ThingId) -> Result<Option<Thing>, MetaError>;
    /// Writes a new version if `expected` is current ([`MetaError::Conflict`] otherwise;
    /// [`MetaError::ThingNotFound`] if missing or deleted). Returns the new version.
    fn update_thing(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: VersionStamp,
        update: &ThingUpdate,
    ) -> Result<Thing, MetaError>;
    /// Soft delete: a tombstone version; named blobs keep their references. Deleting a
    /// deleted thing changes nothing and returns its version. Feed: `Delete`.
    fn delete_thing(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError>;
    /// The version history, oldest first; [`MetaError::ThingNotFound`] if no such thing.
    fn versions(&self, rid: RecordId, tid: ThingId) -> Result<Vec<ThingVersion>, MetaError>;
    /// A thing as it was at `version`. For generic types, with the data XML and the named
    /// blobs of that version; for medical-image studies only the header (no XML, no blobs).
    fn thing_at(
        &self,
        rid: RecordId,
        tid: ThingId,
        version: VersionStamp,
    ) -> Result<Option<Thing>, MetaError>;
    /// One page of things matching `query`, in key order.
    fn query(&self, rid: RecordId, query: &ThingQuery) -> Result<Page, MetaError>;

    // --- named blobs ---------------------------------------------------------------------

    /// The thing's current named blobs, by name (byte order).
    fn named_blobs(&self, rid: RecordId, tid: ThingId) -> Result<Vec<NamedBlob>, MetaError>;
    fn named_blob(
        &self,
        rid: RecordId,
        tid: ThingId,
        name: &BlobName,
    ) -> Result<Option<NamedBlob>, MetaError>;
    /// Adds or replaces one named blob (new thing version, reference counts adjusted, feed
    /// `Update`). Returns the new version stamp.
    fn put_named_blob(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        blob: &NamedBlob,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError>;
    /// Removes one named blob ([`MetaError::BlobNameNotFound`] if absent). Returns the new
    /// version stamp.
    fn delete_named_blob(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        name: &BlobName,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError>;
    /// How many names, across every thing of every record, point at this blob.
    fn blob_refcount(&self, id: &BlobId) -> Result<u64, MetaError>;
    /// Every referenced blob with its count, by id. A blob absent here may be collected.
    fn referenced_blobs(&self) -> Result<Vec<(BlobId, u64)>, MetaError>;

    // --- garbage collection across processes ---------------------------------------------
    //
    // A collector deletes a blob no name refers to; a writer stores a blob (or finds it
    // stored) and then commits a name for it. In one process, the vault's fence orders the
    // two. A store that several processes share orders them here: the collector marks what it
    // is about to delete, in a step that every commit naming a blob is ordered with; a commit
    // before the mark is seen by it (the blob is not marked), a commit after it is refused
    // with [`MetaError::BlobCollected`] while the mark lasts. The defaults are for a store one
    // process owns: no marks, and marking is the last look at the reference count.

    /// Of `candidates`, marks those that no name refers to now as being collected and answers
    /// them; the collector then deletes each with [`MetaStore::collect_marked`].
    fn mark_for_collection(&self, candidates: &[BlobId]) -> Result<Vec<BlobId>, MetaError> {
        let mut unreferenced = Vec::new();
        for id in candidates {
            if self.blob_refcount(id)? == 0 {
                unreferenced.push(*id);
            }
        }
        Ok(unreferenced)
    }
    /// Runs `delete` on a marked blob if its mark still stands (marked, not yet deleted: a
    /// writer may have cleared it, another collector may have deleted the blob), holding the
    /// mark so meanwhile (a writer clearing it waits); then records what `delete` did: a blob
    /// [`Collection::Deleted`] or [`Collection::Gone`] stays marked as deleted, a blob
    /// [`Collection::Kept`] loses its mark. `None` when the mark no longer stood.
    fn collect_marked(
        &self,
        _id: &BlobId,
        delete: &mut dyn FnMut() -> Collection,
    ) -> Result<Option<Collection>, MetaError> {
        Ok(Some(delete()))
    }
    /// The marks on these blobs, by blob id; blobs without a mark are left out.
    fn collection_marks(&self, _ids: &[BlobId]) -> Result<Vec<CollectionMark>, MetaError> {
        Ok(Vec::new())
    }
    /// Clears these marks of deletions, as the writer saw them: their blobs are in the blob
    /// store again (the writer stored them after their deletion), so commits may name them. A
    /// mark that has changed since (a collector marked the blob again, or is deleting it) stays.
    fn unmark_collected(&self, _marks: &[CollectionMark]) -> Result<(), MetaError> {
        Ok(())
    }
    /// Marks a collector left unfinished (made before `before` and not yet deleted, say by a
    /// collector that stopped midway): the next pass deletes those blobs.
    fn unfinished_collections(&self, _before: Timestamp) -> Result<Vec<BlobId>, MetaError> {
        Ok(Vec::new())
    }
    /// Forgets the marks of deletions older than `before` (every writer that stored such a
    /// blob before its deletion has long committed or failed); answers how many.
    fn forget_collections(&self, _before: Timestamp) -> Result<u64, MetaError> {
        Ok(0)
    }

    // --- change feed ---------------------------------------------------------------------

    /// Changes with a sequence number above `since`, oldest first, at most `limit`.
    fn changes(&self, rid: RecordId, since: u64, limit: usize) -> Result<ChangePage, MetaError>;

    // --- tokens and shares ---------------------------------------------------------------

    /// Stores (or replaces, by id) a token, found later by the hash of its secret.
    fn put_token(&self, token: &Token) -> Result<(), MetaError>;
    fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<Token>, MetaError>;
    fn tokens(&self, rid: RecordId) -> Result<Vec<Token>, MetaError>;
    /// False when there was no such token.
    fn delete_token(&self, rid: RecordId, id: TokenId) -> Result<bool, MetaError>;

    // --- shares, sessions, sign-in links, mail ------------------------------------------

    /// Stores a new share with its first log entry and, when its link is mailed, the mail, in
    /// one transaction. The mail's id is the share's id (one mail per share).
    fn create_share(
        &self,
        share: &Share,
        event: &ShareEvent,
        mail: Option<&OutboxMail>,
    ) -> Result<(), MetaError>;
    fn share_by_hash(&self, hash: &SecretHash) -> Result<Option<Share>, MetaError>;
    fn share(&self, rid: RecordId, id: TokenId) -> Result<Option<Share>, MetaError>;
    /// The record's shares, by id.
    fn shares(&self, rid: RecordId) -> Result<Vec<Share>, MetaError>;
    /// Reads, changes and writes one share in one transaction, appending to its log the
    /// events `change` returns; `None` when there is no such share. `change` may run more than
    /// once (a retried transaction) and must be a pure function of the share it is given.
    /// A share whose change sets `revoked` also loses its queued mail.
    fn update_share(
        &self,
        rid: RecordId,
        id: TokenId,
        change: &dyn Fn(&mut Share) -> Vec<ShareEvent>,
    ) -> Result<Option<Share>, MetaError>;
    /// A share's access log, oldest first.
    fn share_events(&self, rid: RecordId, id: TokenId) -> Result<Vec<ShareEvent>, MetaError>;

    /// Stores (or replaces) a browser session under the hash of its id.
    fn put_session(&self, hash: &SecretHash, session: &Session) -> Result<(), MetaError>;
    fn session(&self, hash: &SecretHash) -> Result<Option<Session>, MetaError>;
    /// False when there was no such session.
    fn delete_session(&self, hash: &SecretHash) -> Result<bool, MetaError>;
    /// Removes every session whose absolute end is at or before `now`; returns how many.
    fn purge_sessions(&self, now: Timestamp) -> Result<usize, MetaError>;

    /// Stores a one-time sign-in link and the mail that carries it, in one transaction.
    fn create_signin_link(
        &self,
        hash: &SecretHash,
        link: &SigninLink,
        mail: &OutboxMail,
    ) -> Result<(), MetaError>;
    /// Removes and returns a sign-in link: it works once.
    fn take_signin_link(&self, hash: &SecretHash) -> Result<Option<SigninLink>, MetaError>;

    /// Every mail waiting in the outbox, by id.
    fn outbox(&self) -> Result<Vec<OutboxMail>, MetaError>;
    /// The mail went out: it leaves the outbox; its share (if any) says `Sent` and logs it.
    fn mail_sent(&self, id: MailId, at: Timestamp) -> Result<(), MetaError>;
    /// A transient failure: the mail stays, to be tried again at `next_attempt`.
    fn mail_retry(
        &self,
        id: MailId,
        attempts: u32,
        next_attempt: Timestamp,
        reason: &str,
    ) -> Result<(), MetaError>;
    /// The mail will never go out: it leaves the outbox; its share says `Failed` and logs it.
    fn mail_failed(&self, id: MailId, reason: &str, at: Timestamp) -> Result<(), MetaError>;

    // --- DICOM studies -------------------------------------------------------------------

    /// Adds one instance to its study in one transaction: creates the study thing if needed,
    /// stores the facts, names the DICOM blob (`<sop>`) and its preview
    /// (`<sop>.preview.jpg|png`), adjusts reference counts, writes a new study version and
    /// the feed entry. Same SOP UID with the same blob is a `Duplicate` (nothing written);
    /// with a different blob a `Conflict` unless `replace`.
    fn add_instance(
        &self,
        rid: RecordId,
        facts: &InstanceFacts,
        replace: bool,
        audit: &Audit,
    ) -> Result<AddInstanceOutcome, MetaError>;
    /// The live study thing for a StudyInstanceUID.
    fn study_thing(&self, rid: RecordId, study_uid: &str) -> Result<Option<ThingId>, MetaError>;
    /// Every StudyInstanceUID of the record with the study thing it maps to, by UID. A deleted
    /// study stays listed until the UID is ingested again: check the thing's state.
    fn studies(&self, rid: RecordId) -> Result<Vec<(String, ThingId)>, MetaError>;
    fn instance(
        &self,
        rid: RecordId,
        sop_uid: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError>;
    /// What ingest asks before it stores an instance: [`MetaError::RecordNotFound`] if the
    /// record does not exist, else the instance with this SOP Instance UID if a live study
    /// holds it (one of a deleted study is new again). This default asks three questions; a
    /// store across a network answers it with one.
    fn live_instance(
        &self,
        rid: RecordId,
        sop_uid: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError> {
        if self.record(rid)?.is_none() {
            return Err(MetaError::RecordNotFound(rid));
        }
        let Some((tid, facts)) = self.instance(rid, sop_uid)? else {
            return Ok(None);
        };
        let live = self
            .thing_header(rid, tid)?
            .is_some_and(|t| t.state == ThingState::Active);
        Ok(live.then_some((tid, facts)))
    }
    /// A study's instances, by series UID then SOP Instance UID.
    fn study_instances(&self, rid: RecordId, tid: ThingId)
    -> Result<Vec<InstanceFacts>, MetaError>;
    fn series_instances(
        &self,
        rid: RecordId,
        tid: ThingId,
        series_uid: &str,
    ) -> Result<Vec<InstanceFacts>, MetaError>;
    /// The whole SOP Instance UID index of a record (for `fsck`).
    fn instance_index(&self, rid: RecordId) -> Result<Vec<InstanceIndexEntry>, MetaError>;

    // --- study digests -------------------------------------------------------------------

    /// Every live study thing of the record with its [`StudyDigest`], by thing id (key
    /// order), in one range read: what study-level searches match on without reading
    /// instances. A digest changes in the transaction that changes its study (`add_instance`
    /// folds instances in and out); it carries the study thing's current version and the time
    /// of that version, and goes when the study is deleted. Only study things the study index
    /// made have one (a study-typed thing made by `create_thing` has no StudyInstanceUID).
    fn study_digests(&self, rid: RecordId) -> Result<Vec<(ThingId, StudyDigest)>, MetaError>;
    /// The digest of one study thing; `None` if there is no live study thing with that id.
    fn study_digest(&self, rid: RecordId, tid: ThingId) -> Result<Option<StudyDigest>, MetaError>;
}
