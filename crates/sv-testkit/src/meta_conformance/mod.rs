//! Conformance suite for `sv_meta::MetaStore` implementations: one `#[test]` per behaviour.
//!
//! ```ignore
//! sv_testkit::meta_store_conformance!(MySledFixture::new());
//! ```
//!
//! The argument is evaluated once per test and must be a [`MetaFixture`]: a store that can
//! be closed and reopened on the same data.

use std::collections::BTreeSet;

use sv_blob::{BlobId, BlobStore, MemoryBlobStore};
use sv_meta::{
    AddInstanceOutcome, ChangeOp, MetaError, MetaStore, StateFilter, ThingQuery, ThingUpdate, fsck,
};
use sv_model::study::{InstanceFacts, PreviewRef};
use sv_model::{
    Audit, AuditAction, BlobName, MailId, MailState, NamedBlob, OutboxMail, Record, RecordId,
    SecretHash, Session, SessionKind, Share, ShareEvent, ShareEventKind, SigninLink, Thing,
    ThingFlags, ThingId, ThingState, Timestamp, Token, TokenId, TypeId, VersionStamp,
};

/// A store under test that can be reopened on the same data.
pub trait MetaFixture {
    fn store(&self) -> &dyn MetaStore;
    /// Closes the store and opens it again.
    fn reopen(&mut self);
}

/// Expands into one `#[test]` per metadata store behaviour, each calling a function of this
/// module with a fresh fixture built by `$make`.
#[macro_export]
macro_rules! meta_store_conformance {
    ($make:expr) => {
        $crate::meta_store_conformance!(@tests $make;
            records_round_trip, things_round_trip_with_blobs, update_checks_the_version_stamp,
            delete_is_a_tombstone_that_keeps_blob_references, history_keeps_each_version,
            query_pages_by_key, query_filters_by_type_state_and_dates,
            named_blob_changes_keep_refcounts, feed_records_every_change_in_order,
            tokens_are_found_by_hash, shares_are_found_by_hash_and_revoked,
            share_counters_change_atomically, mail_outcomes_follow_into_the_share,
            sessions_and_signin_links,
            add_instance_builds_a_study, duplicate_instance_writes_nothing,
            conflicting_instance_is_refused_unless_replaced, replace_moves_an_instance_between_studies,
            deleted_study_is_not_reused, live_instance_answers_what_ingest_asks,
            digest_holds_the_first_instance,
            digest_counts_instances_by_series_and_class,
            duplicate_instance_leaves_the_digest_unchanged, replace_moves_the_digest_counts,
            digest_version_follows_the_study_thing, deleted_study_has_no_digest,
            digests_stay_in_their_record, unknown_thing_has_no_digest,
            fsck_tells_problems_from_leftovers,
            concurrent_updates_let_exactly_one_win, concurrent_instances_share_one_study,
            large_data_xml_round_trips, reopen_keeps_everything);
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut fixture = $make;
                $crate::meta_conformance::$name(&mut fixture);
            }
        )*
    };
}

fn audit(action: AuditAction) -> Audit {
    Audit::now(action, None)
}

fn new_record(s: &dyn MetaStore) -> RecordId {
    let r = Record {
        id: RecordId::new_random(),
        name: "test".into(),
        created: Timestamp::now(),
        owner_email: None,
    };
    s.create_record(&r).unwrap();
    r.id
}

/// A named blob for `bytes` (the conformance suite never needs the bytes themselves).
pub fn named(name: &str, bytes: &[u8]) -> NamedBlob {
    NamedBlob {
        name: BlobName::new(name).unwrap(),
        content_type: "text/plain".into(),
        length: bytes.len() as u64,
        blob_id: BlobId::of(bytes),
    }
}

/// A new active thing of `type_id` with `xml` and `blobs`, effective at `eff` µs.
pub fn new_thing(type_id: TypeId, xml: &str, eff: i64, blobs: Vec<NamedBlob>) -> Thing {
    let created = audit(AuditAction::Created);
    Thing {
        id: ThingId::new_random(),
        version: VersionStamp::new_random(),
        type_id,
        state: ThingState::Active,
        flags: ThingFlags::default(),
        eff_date: Timestamp::from_unix_micros(eff),
        created: created.clone(),
        updated: created,
        data_xml: xml.into(),
        blobs,
    }
}

fn update(xml: &str) -> ThingUpdate {
    ThingUpdate {
        data_xml: xml.into(),
        flags: ThingFlags(1),
        eff_date: Timestamp::from_unix_micros(7),
        version: VersionStamp::new_random(),
        audit: audit(AuditAction::Updated),
    }
}

/// Facts of one instance; `seed` picks the DICOM bytes, and a preview is added when `preview`.
pub fn facts(study: &str, series: &str, sop: &str, seed: &str, preview: bool) -> InstanceFacts {
    InstanceFacts {
        study_instance_uid: study.into(),
        series_instance_uid: series.into(),
        sop_instance_uid: sop.into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        instance_number: Some(1),
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        rows: Some(512),
        columns: Some(512),
        number_of_frames: None,
        study: Default::default(),
        series: Default::default(),
        blob_id: BlobId::of(seed.as_bytes()),
        length: seed.len() as u64,
        preview: preview.then(|| PreviewRef {
            blob_id: BlobId::of(format!("preview of {seed}").as_bytes()),
            length: 11 + seed.len() as u64,
            media_type: "image/jpeg".into(),
            width: 500,
            height: 500,
        }),
        preview_error: None,
        key_image_refs: Vec::new(),
        procedure_codes: Vec::new(),
        title: None,
        received: Timestamp::from_unix_micros(1),
    }
}

fn stored(outcome: AddInstanceOutcome) -> (ThingId, VersionStamp, bool, bool) {
    match outcome {
        AddInstanceOutcome::Stored {
            thing_id,
            version,
            created_study,
            replaced,
        } => (thing_id, version, created_study, replaced),
        other => panic!("expected Stored, got {other:?}"),
    }
}

fn refs(s: &dyn MetaStore, bytes: &[u8]) -> u64 {
    s.blob_refcount(&BlobId::of(bytes)).unwrap()
}

mod access;
mod digest;
mod query;
mod robustness;
mod study;
fn token(rid: RecordId, secret: &[u8]) -> Token {
    Token {
        id: TokenId::new_random(),
        record_id: rid,
        secret_hash: SecretHash::of(secret),
        label: "app".into(),
        grants: vec![sv_model::Grant {
            type_id: Some(TypeId::MEDICAL_IMAGE_STUDY),
            permissions: sv_model::Permissions::ALL,
        }],
        created: Timestamp::from_unix_micros(3),
        expires: Some(Timestamp::from_unix_micros(9)),
    }
}

mod things;

pub use access::*;
pub use digest::*;
pub use query::*;
pub use robustness::*;
pub use study::*;
pub use things::*;
