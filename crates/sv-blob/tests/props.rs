//! Property tests: id text round trip, ranged reads equal slices on both stores.

use proptest::prelude::*;
use sv_blob::tree::GROUP_LEN;
use sv_blob::{BlobId, BlobStore, MemoryBlobStore};
use sv_testkit::blob_conformance::{TempLocalStore, read_all, test_bytes};

proptest! {
    #[test]
    fn id_display_parse_round_trip(bytes in any::<[u8; 32]>()) {
        let id = BlobId::from_bytes(bytes);
        let text = id.to_string();
        prop_assert_eq!(text.len(), 64);
        prop_assert!(text.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        prop_assert_eq!(text.parse::<BlobId>().unwrap(), id);
        prop_assert_eq!(id.as_bytes(), &bytes);
    }

    #[test]
    fn id_order_is_hex_order(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let (a, b) = (BlobId::from_bytes(a), BlobId::from_bytes(b));
        prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
    }
}

/// A length up to a few groups and a non-empty range inside it.
fn blob_and_range() -> impl Strategy<Value = (usize, u64, u64, u64)> {
    (1usize..(4 * GROUP_LEN as usize + 100), any::<u64>()).prop_flat_map(|(len, seed)| {
        (0..len as u64).prop_flat_map(move |start| {
            (Just(len), Just(seed), Just(start), (start + 1)..=len as u64)
        })
    })
}

fn check_ranges(store: &dyn BlobStore) {
    let config = ProptestConfig::with_cases(64);
    proptest!(config, |((len, seed, start, end) in blob_and_range())| {
        let bytes = test_bytes(len, seed);
        let put = store.put_bytes(&bytes).unwrap();
        prop_assert_eq!(put.id, BlobId::of(&bytes));
        let got = read_all(store, &put.id, Some(start..end));
        prop_assert_eq!(&got[..], &bytes[start as usize..end as usize]);
        prop_assert_eq!(read_all(store, &put.id, None), bytes);
    });
}

#[test]
fn local_ranged_reads_equal_slices() {
    check_ranges(&*TempLocalStore::new());
}

#[test]
fn memory_ranged_reads_equal_slices() {
    check_ranges(&MemoryBlobStore::new());
}
