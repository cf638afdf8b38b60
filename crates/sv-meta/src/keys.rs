//! Key encodings: byte strings that sort exactly like the tuples they encode.
//!
//! Fixed-width components (UUIDs, blob ids, big-endian integers) are written as they are; a
//! string in the middle of a key is escaped (`00` becomes `00 ff`) and terminated by `00 00`,
//! so a shorter string sorts before its extensions and a series is a key prefix; a string in
//! the last position is written raw (nothing follows it, so byte order is already tuple order).

use sv_model::{BlobId, RecordId, ThingId, TokenId, TypeId};

/// A key under construction.
#[derive(Debug, Default, Clone)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    pub(crate) fn new() -> Key {
        Key(Vec::with_capacity(64))
    }

    pub(crate) fn uuid(mut self, bytes: &[u8; 16]) -> Key {
        self.0.extend_from_slice(bytes);
        self
    }

    pub(crate) fn record(self, id: RecordId) -> Key {
        self.uuid(id.as_bytes())
    }

    pub(crate) fn thing(self, id: ThingId) -> Key {
        self.uuid(id.as_bytes())
    }

    pub(crate) fn type_id(self, id: TypeId) -> Key {
        self.uuid(id.as_bytes())
    }

    pub(crate) fn token(self, id: TokenId) -> Key {
        self.uuid(id.as_bytes())
    }

    pub(crate) fn u64(mut self, n: u64) -> Key {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// A string followed by more components: escaped and terminated.
    pub(crate) fn str_mid(mut self, s: &str) -> Key {
        for &b in s.as_bytes() {
            self.0.push(b);
            if b == 0 {
                self.0.push(0xff);
            }
        }
        self.0.extend_from_slice(&[0, 0]);
        self
    }

    /// A string in the last position: raw bytes.
    pub(crate) fn str_last(mut self, s: &str) -> Key {
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub(crate) fn bytes(self) -> Vec<u8> {
        self.0
    }
}

/// `records`: record id.
pub(crate) fn record(rid: RecordId) -> Vec<u8> {
    Key::new().record(rid).bytes()
}

/// `things`: (record, type, thing), so one type of one record is one key range.
pub(crate) fn thing(rid: RecordId, type_id: TypeId, tid: ThingId) -> Vec<u8> {
    Key::new().record(rid).type_id(type_id).thing(tid).bytes()
}

/// `thing_types`, `study_digests`, `names` prefix, `versions` prefix, `instances` prefix:
/// (record, thing).
pub(crate) fn record_thing(rid: RecordId, tid: ThingId) -> Vec<u8> {
    Key::new().record(rid).thing(tid).bytes()
}

/// `versions`: (record, thing, version number).
pub(crate) fn version(rid: RecordId, tid: ThingId, n: u64) -> Vec<u8> {
    Key::new().record(rid).thing(tid).u64(n).bytes()
}

/// `names`: (record, thing, blob name).
pub(crate) fn name(rid: RecordId, tid: ThingId, name: &str) -> Vec<u8> {
    Key::new().record(rid).thing(tid).str_last(name).bytes()
}

/// `feed`: (record, sequence number).
pub(crate) fn change(rid: RecordId, seq: u64) -> Vec<u8> {
    Key::new().record(rid).u64(seq).bytes()
}

/// `studies`: (record, StudyInstanceUID).
pub(crate) fn study(rid: RecordId, study_uid: &str) -> Vec<u8> {
    Key::new().record(rid).str_last(study_uid).bytes()
}

/// `sops`: (record, SOP Instance UID).
pub(crate) fn sop(rid: RecordId, sop_uid: &str) -> Vec<u8> {
    Key::new().record(rid).str_last(sop_uid).bytes()
}

/// `instances`: (record, thing, series UID, SOP Instance UID).
pub(crate) fn instance(rid: RecordId, tid: ThingId, series_uid: &str, sop_uid: &str) -> Vec<u8> {
    series(rid, tid, series_uid).str_last(sop_uid).bytes()
}

/// The `instances` prefix of one series.
pub(crate) fn series(rid: RecordId, tid: ThingId, series_uid: &str) -> Key {
    Key::new().record(rid).thing(tid).str_mid(series_uid)
}

/// `refcounts`: blob id.
pub(crate) fn blob(id: &BlobId) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// `record_tokens` / `record_shares`: (record, token or share id).
pub(crate) fn record_token(rid: RecordId, id: TokenId) -> Vec<u8> {
    Key::new().record(rid).token(id).bytes()
}

/// Reads a big-endian u64 at `at`.
pub(crate) fn u64_at(key: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(at..at + 8)?.try_into().ok()?))
}

/// The smallest key greater than every key starting with `prefix` (`None`: no such key).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn uuid() -> impl Strategy<Value = [u8; 16]> {
        // Few distinct values, so equal prefixes (and the later components) get exercised.
        prop_oneof![Just([0u8; 16]), Just([0xff; 16]), any::<[u8; 16]>()]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), "[\u{0}\u{1}a.1]{0,6}", ".{0,12}",]
    }

    proptest! {
        #[test]
        fn thing_keys_sort_like_tuples(a in (uuid(), uuid(), uuid()), b in (uuid(), uuid(), uuid())) {
            let key = |t: &([u8; 16], [u8; 16], [u8; 16])| thing(
                RecordId::from_bytes(t.0), TypeId::from_bytes(t.1), ThingId::from_bytes(t.2));
            prop_assert_eq!(key(&a).cmp(&key(&b)), a.cmp(&b));
        }

        #[test]
        fn instance_keys_sort_like_tuples(
            a in (uuid(), uuid(), text(), text()),
            b in (uuid(), uuid(), text(), text()),
        ) {
            let key = |t: &([u8; 16], [u8; 16], String, String)| instance(
                RecordId::from_bytes(t.0), ThingId::from_bytes(t.1), &t.2, &t.3);
            let tuple = |t: &([u8; 16], [u8; 16], String, String)|
                (t.0, t.1, t.2.as_bytes().to_vec(), t.3.as_bytes().to_vec());
            prop_assert_eq!(key(&a).cmp(&key(&b)), tuple(&a).cmp(&tuple(&b)));
            // A series is exactly the keys with its prefix.
            let prefix = series(RecordId::from_bytes(a.0), ThingId::from_bytes(a.1), &a.2).bytes();
            let same_series = (a.0, a.1, &a.2) == (b.0, b.1, &b.2);
            prop_assert_eq!(key(&b).starts_with(&prefix), same_series);
        }

        #[test]
        fn version_and_change_keys_sort_like_tuples(
            a in (uuid(), uuid(), any::<u64>()),
            b in (uuid(), uuid(), any::<u64>()),
        ) {
            let v = |t: &([u8; 16], [u8; 16], u64)| version(
                RecordId::from_bytes(t.0), ThingId::from_bytes(t.1), t.2);
            prop_assert_eq!(v(&a).cmp(&v(&b)), a.cmp(&b));
            let c = |t: &([u8; 16], [u8; 16], u64)| change(RecordId::from_bytes(t.0), t.2);
            prop_assert_eq!(c(&a).cmp(&c(&b)), (a.0, a.2).cmp(&(b.0, b.2)));
        }

        #[test]
        fn name_keys_sort_like_tuples(a in (uuid(), uuid(), text()), b in (uuid(), uuid(), text())) {
            let k = |t: &([u8; 16], [u8; 16], String)| name(
                RecordId::from_bytes(t.0), ThingId::from_bytes(t.1), &t.2);
            let tuple = |t: &([u8; 16], [u8; 16], String)| (t.0, t.1, t.2.as_bytes().to_vec());
            prop_assert_eq!(k(&a).cmp(&k(&b)), tuple(&a).cmp(&tuple(&b)));
        }

        #[test]
        fn prefix_end_bounds_the_prefix(prefix in proptest::collection::vec(any::<u8>(), 0..6),
                                        rest in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut key = prefix.clone();
            key.extend_from_slice(&rest);
            if let Some(end) = prefix_end(&prefix) {
                prop_assert!(key < end);
            } else {
                prop_assert!(prefix.iter().all(|b| *b == 0xff));
            }
        }
    }
}
