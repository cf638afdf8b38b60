//! `MetaStore for PgMetaStore`: each method delegates to the module of its concept.

use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{
    Audit, BlobId, BlobName, MailId, NamedBlob, OutboxMail, Record, RecordId, SecretHash, Session,
    Share, ShareEvent, SigninLink, Thing, ThingId, ThingVersion, Timestamp, Token, TokenId,
    VersionStamp,
};

use super::PgMetaStore;
use crate::{
    AddInstanceOutcome, ChangePage, Collection, CollectionMark, InstanceIndexEntry, MetaError,
    MetaStore, Page, ThingQuery, ThingUpdate,
};

impl MetaStore for PgMetaStore {
    fn on_invalidation(&self, sink: crate::InvalidationSink) {
        self.listen(sink);
    }

    fn create_record(&self, record: &Record) -> Result<(), MetaError> {
        self.create_record_impl(record)
    }
    fn record(&self, id: RecordId) -> Result<Option<Record>, MetaError> {
        self.record_impl(id)
    }
    fn records(&self) -> Result<Vec<Record>, MetaError> {
        self.records_impl()
    }

    fn create_thing(&self, rid: RecordId, thing: &Thing) -> Result<(), MetaError> {
        self.create_thing_impl(rid, thing)
    }
    fn thing(&self, rid: RecordId, tid: ThingId) -> Result<Option<Thing>, MetaError> {
        self.thing_impl(rid, tid)
    }
    fn thing_header(&self, rid: RecordId, tid: ThingId) -> Result<Option<Thing>, MetaError> {
        self.thing_header_impl(rid, tid)
    }
    fn update_thing(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: VersionStamp,
        update: &ThingUpdate,
    ) -> Result<Thing, MetaError> {
        self.update_thing_impl(rid, tid, expected, update)
    }
    fn delete_thing(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        self.delete_thing_impl(rid, tid, expected, audit)
    }
    fn versions(&self, rid: RecordId, tid: ThingId) -> Result<Vec<ThingVersion>, MetaError> {
        self.versions_impl(rid, tid)
    }
    fn thing_at(
        &self,
        rid: RecordId,
        tid: ThingId,
        version: VersionStamp,
    ) -> Result<Option<Thing>, MetaError> {
        self.thing_at_impl(rid, tid, version)
    }
    fn query(&self, rid: RecordId, query: &ThingQuery) -> Result<Page, MetaError> {
        self.query_impl(rid, query)
    }

    fn named_blobs(&self, rid: RecordId, tid: ThingId) -> Result<Vec<NamedBlob>, MetaError> {
        self.named_blobs_impl(rid, tid)
    }
    fn named_blob(
        &self,
        rid: RecordId,
        tid: ThingId,
        name: &BlobName,
    ) -> Result<Option<NamedBlob>, MetaError> {
        self.named_blob_impl(rid, tid, name)
    }
    fn put_named_blob(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        blob: &NamedBlob,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        self.put_named_blob_impl(rid, tid, expected, blob, audit)
    }
    fn delete_named_blob(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        name: &BlobName,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        self.delete_named_blob_impl(rid, tid, expected, name, audit)
    }
    fn blob_refcount(&self, id: &BlobId) -> Result<u64, MetaError> {
        self.blob_refcount_impl(id)
    }
    fn referenced_blobs(&self) -> Result<Vec<(BlobId, u64)>, MetaError> {
        self.referenced_blobs_impl()
    }
    fn mark_for_collection(&self, candidates: &[BlobId]) -> Result<Vec<BlobId>, MetaError> {
        self.mark_for_collection_impl(candidates)
    }
    fn collect_marked(
        &self,
        id: &BlobId,
        delete: &mut dyn FnMut() -> Collection,
    ) -> Result<Option<Collection>, MetaError> {
        self.collect_marked_impl(id, delete)
    }
    fn collection_marks(&self, ids: &[BlobId]) -> Result<Vec<CollectionMark>, MetaError> {
        self.collection_marks_impl(ids)
    }
    fn unmark_collected(&self, marks: &[CollectionMark]) -> Result<(), MetaError> {
        self.unmark_collected_impl(marks)
    }
    fn unfinished_collections(&self, before: Timestamp) -> Result<Vec<BlobId>, MetaError> {
        self.unfinished_collections_impl(before)
    }
    fn forget_collections(&self, before: Timestamp) -> Result<u64, MetaError> {
        self.forget_collections_impl(before)
    }

    fn changes(&self, rid: RecordId, since: u64, limit: usize) -> Result<ChangePage, MetaError> {
        self.changes_impl(rid, since, limit)
    }

    fn put_token(&self, token: &Token) -> Result<(), MetaError> {
        self.put_token_impl(token)
    }
    fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<Token>, MetaError> {
        self.token_by_hash_impl(hash)
    }
    fn tokens(&self, rid: RecordId) -> Result<Vec<Token>, MetaError> {
        self.tokens_impl(rid)
    }
    fn delete_token(&self, rid: RecordId, id: TokenId) -> Result<bool, MetaError> {
        self.delete_token_impl(rid, id)
    }
    fn create_share(
        &self,
        share: &Share,
        event: &ShareEvent,
        mail: Option<&OutboxMail>,
    ) -> Result<(), MetaError> {
        self.create_share_impl(share, event, mail)
    }
    fn share_by_hash(&self, hash: &SecretHash) -> Result<Option<Share>, MetaError> {
        self.share_by_hash_impl(hash)
    }
    fn share(&self, rid: RecordId, id: TokenId) -> Result<Option<Share>, MetaError> {
        self.share_impl(rid, id)
    }
    fn shares(&self, rid: RecordId) -> Result<Vec<Share>, MetaError> {
        self.shares_impl(rid)
    }
    fn update_share(
        &self,
        rid: RecordId,
        id: TokenId,
        change: &dyn Fn(&mut Share) -> Vec<ShareEvent>,
    ) -> Result<Option<Share>, MetaError> {
        self.update_share_impl(rid, id, change)
    }
    fn share_events(&self, rid: RecordId, id: TokenId) -> Result<Vec<ShareEvent>, MetaError> {
        self.share_events_impl(rid, id)
    }
    fn put_session(&self, hash: &SecretHash, session: &Session) -> Result<(), MetaError> {
        self.put_session_impl(hash, session)
    }
    fn session(&self, hash: &SecretHash) -> Result<Option<Session>, MetaError> {
        self.session_impl(hash)
    }
    fn delete_session(&self, hash: &SecretHash) -> Result<bool, MetaError> {
        self.delete_session_impl(hash)
    }
    fn purge_sessions(&self, now: Timestamp) -> Result<usize, MetaError> {
        self.purge_sessions_impl(now)
    }
    fn create_signin_link(
        &self,
        hash: &SecretHash,
        link: &SigninLink,
        mail: &OutboxMail,
    ) -> Result<(), MetaError> {
        self.create_signin_link_impl(hash, link, mail)
    }
    fn take_signin_link(&self, hash: &SecretHash) -> Result<Option<SigninLink>, MetaError> {
        self.take_signin_link_impl(hash)
    }
    fn outbox(&self) -> Result<Vec<OutboxMail>, MetaError> {
        self.outbox_impl()
    }
    fn mail_sent(&self, id: MailId, at: Timestamp) -> Result<(), MetaError> {
        self.mail_sent_impl(id, at)
    }
    fn mail_retry(
        &self,
        id: MailId,
        attempts: u32,
        next_attempt: Timestamp,
        reason: &str,
    ) -> Result<(), MetaError> {
        self.mail_retry_impl(id, attempts, next_attempt, reason)
    }
    fn mail_failed(&self, id: MailId, reason: &str, at: Timestamp) -> Result<(), MetaError> {
        self.mail_failed_impl(id, reason, at)
    }

    fn add_instance(
        &self,
        rid: RecordId,
        facts: &InstanceFacts,
        replace: bool,
        audit: &Audit,
    ) -> Result<AddInstanceOutcome, MetaError> {
        self.add_instance_impl(rid, facts, replace, audit)
    }
    fn study_thing(&self, rid: RecordId, study_uid: &str) -> Result<Option<ThingId>, MetaError> {
        self.study_thing_impl(rid, study_uid)
    }
    fn studies(&self, rid: RecordId) -> Result<Vec<(String, ThingId)>, MetaError> {
        self.studies_impl(rid)
    }
    fn instance(
        &self,
        rid: RecordId,
        sop_uid: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError> {
        self.instance_impl(rid, sop_uid)
    }
    fn live_instance(
        &self,
        rid: RecordId,
        sop_uid: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError> {
        self.live_instance_impl(rid, sop_uid)
    }
    fn study_instances(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Vec<InstanceFacts>, MetaError> {
        self.instances_of(rid, tid, None)
    }
    fn series_instances(
        &self,
        rid: RecordId,
        tid: ThingId,
        series_uid: &str,
    ) -> Result<Vec<InstanceFacts>, MetaError> {
        self.instances_of(rid, tid, Some(series_uid))
    }
    fn instance_index(&self, rid: RecordId) -> Result<Vec<InstanceIndexEntry>, MetaError> {
        self.instance_index_impl(rid)
    }

    fn study_digests(&self, rid: RecordId) -> Result<Vec<(ThingId, StudyDigest)>, MetaError> {
        self.study_digests_impl(rid)
    }
    fn study_digest(&self, rid: RecordId, tid: ThingId) -> Result<Option<StudyDigest>, MetaError> {
        self.study_digest_impl(rid, tid)
    }
}
