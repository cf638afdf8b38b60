//! `S3BlobStore` on a real, throwaway Garage (`sv_testkit::garage`): the blob store
//! conformance suite, then what is particular to S3 (multipart, tampering under the store,
//! outboard repair, what `list` skips, dedup, secrets). Each test has a key prefix of its own.

use std::io::{self, Read};

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _};
use sv_blob::tree::GROUP_LEN;
use sv_blob::{BlobError, BlobId, BlobStore, CorruptKind, is_corrupt_io};
use sv_blob_s3::{S3BlobStore, S3Config};
use sv_testkit::blob_conformance::{read_all, test_bytes};

const MIB: usize = 1 << 20;

fn config(whole_verify_max: u64) -> S3Config {
    let t = sv_testkit::garage::target();
    S3Config {
        region: t.region,
        prefix: t.prefix,
        whole_verify_max,
        ..S3Config::new(t.endpoint, t.bucket, t.access_key_id, t.secret_access_key)
    }
}

/// A store under a fresh prefix, with the default `whole_verify_max` (1 MiB).
fn store() -> S3BlobStore {
    S3BlobStore::open(config(1 << 20)).expect("open the S3 blob store on the test Garage")
}

mod conformance {
    sv_testkit::blob_store_conformance!(Box::new(super::store()));
}

/// Outboards from two groups up, so every range test also runs through group-by-group
/// verification of a streamed body.
mod conformance_with_outboards {
    sv_testkit::blob_store_conformance!(Box::new(
        sv_blob_s3::S3BlobStore::open(super::config(sv_blob::tree::GROUP_LEN)).unwrap()
    ));
}

/// Runs `f` against the object store under the blob store, on a runtime of the test's own.
fn raw<T>(
    store: &S3BlobStore,
    f: impl AsyncFnOnce(&dyn ObjectStore) -> object_store::Result<T>,
) -> T {
    let os = store.object_store();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f(os.as_ref()))
        .expect("object store call")
}

/// Every key under the store's prefix (relative to it), with its size and ETag, sorted.
fn objects(store: &S3BlobStore) -> Vec<(String, u64, Option<String>)> {
    let prefix = store.prefix().clone();
    let mut found: Vec<_> = raw(store, async |os| {
        os.list(Some(&prefix)).try_collect::<Vec<_>>().await
    })
    .into_iter()
    .map(|m| {
        let key = m.location.as_ref()[prefix.as_ref().len() + 1..].to_owned();
        (key, m.size, m.e_tag)
    })
    .collect();
    found.sort();
    found
}

fn overwrite(store: &S3BlobStore, key: &Path, bytes: Vec<u8>) {
    raw(store, async |os| {
        os.put(key, Bytes::from(bytes).into()).await
    });
}

fn expect_corrupt(result: Result<impl Sized, BlobError>) -> CorruptKind {
    match result {
        Err(BlobError::Corrupt { kind, .. }) => kind,
        Err(e) => panic!("expected corruption, got {e}"),
        Ok(_) => panic!("expected corruption, got success"),
    }
}

#[test]
fn a_20_mib_blob_goes_through_multipart_and_reads_across_part_boundaries() {
    let store = store();
    let bytes = test_bytes(20 * MIB + 4321, 1);
    // Fed in odd pieces, so parts fill across reads.
    let mut reader = io::Read::chain(&bytes[..3_333_333], &bytes[3_333_333..]);
    let put = store.put(&mut reader).unwrap();
    assert_eq!(put.id, BlobId::of(&bytes));
    assert!(put.created);
    let keys = objects(&store);
    let hex = put.id.to_string();
    let names: Vec<&str> = keys.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "LAYOUT".to_owned(),
            format!("blobs/{}/{hex}", &hex[..2]),
            format!("blobs/{}/{hex}.obao", &hex[..2]),
        ],
        "the blob and its outboard; the temp upload is gone"
    );
    let etag = keys[1].2.as_deref().unwrap_or("");
    assert!(etag.ends_with("-3\""), "three 8 MiB parts: ETag {etag}");

    assert_eq!(read_all(&store, &put.id, None), bytes);
    let part = 8 * MIB as u64;
    let len = bytes.len() as u64;
    for r in [
        part - 10..part + 10,
        part - 1..part + 1,
        2 * part - 100_000..2 * part + 100_000,
        part - 5..2 * part + 5,
        len - 1..len,
        12345..len - 12345,
    ] {
        let want = &bytes[r.start as usize..r.end as usize];
        assert_eq!(read_all(&store, &put.id, Some(r.clone())), want, "{r:?}");
    }
    store.verify(&put.id).unwrap();
    assert!(!store.put(&mut &bytes[..]).unwrap().created);
}

#[test]
fn a_source_that_fails_midway_through_a_multipart_upload_leaves_nothing() {
    struct Failing(usize);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(7);
            self.0 -= n;
            Ok(n)
        }
    }
    let store = store();
    match store.put(&mut Failing(10 * MIB)) {
        Err(BlobError::Source(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        other => panic!("expected a source error, got {other:?}"),
    }
    let names: Vec<String> = objects(&store).into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(names, ["LAYOUT"]);
}

#[test]
fn a_tampered_small_blob_is_never_served() {
    let store = store();
    let bytes = test_bytes(40 * 1024, 2);
    let id = store.put_bytes(&bytes).unwrap().id;
    let mut bad = bytes.clone();
    bad[20_000] ^= 1;
    overwrite(&store, &store.blob_key(&id), bad);
    assert_eq!(
        expect_corrupt(store.get(&id, None)),
        CorruptKind::ContentMismatch
    );
    assert_eq!(
        expect_corrupt(store.get(&id, Some(0..10))),
        CorruptKind::ContentMismatch,
        "even bytes before the damage"
    );
    assert!(store.verify(&id).unwrap_err().is_corrupt());

    // A copy of the wrong length is damaged for sure: a put writes it again.
    overwrite(&store, &store.blob_key(&id), bytes[..100].to_vec());
    assert!(store.get(&id, None).is_err());
    assert!(store.put_bytes(&bytes).unwrap().created, "rewritten");
    assert_eq!(read_all(&store, &id, None), bytes);
    store.verify(&id).unwrap();
}

#[test]
fn a_tampered_big_blob_fails_at_the_damaged_group_only() {
    let store = store();
    let bytes = test_bytes(3 * MIB + 77, 3);
    let id = store.put_bytes(&bytes).unwrap().id;
    let at = 2 * MIB + 5;
    let mut bad = bytes.clone();
    bad[at] ^= 0x80;
    overwrite(&store, &store.blob_key(&id), bad);

    let before = 0..(2 * MIB) as u64;
    assert_eq!(
        read_all(&store, &id, Some(before.clone())),
        &bytes[..2 * MIB],
        "groups before the damage verify"
    );
    let mut reader = store.get(&id, None).unwrap();
    let mut out = Vec::new();
    let err = reader.read_to_end(&mut out).unwrap_err();
    assert!(is_corrupt_io(&err), "{err}");
    let group = (at as u64 / GROUP_LEN) * GROUP_LEN;
    assert_eq!(
        BlobError::from_io(&err).map(|e| e.to_string()),
        Some(format!(
            "blob {id} is corrupt: bytes {group}..{} do not match the outboard",
            group + GROUP_LEN
        ))
    );
    assert_eq!(
        out.len() as u64,
        group,
        "nothing of the damaged group came out"
    );
    assert!(reader.read(&mut [0u8; 10]).is_err(), "and it stays failed");
    assert_eq!(
        expect_corrupt(store.verify(&id)),
        CorruptKind::ContentMismatch
    );

    // Wrong length: refused before a byte is read.
    overwrite(&store, &store.blob_key(&id), bytes[..2 * MIB].to_vec());
    assert!(matches!(
        expect_corrupt(store.get(&id, Some(0..10))),
        CorruptKind::LengthMismatch { .. }
    ));
}

#[test]
fn a_missing_or_bad_outboard_is_rebuilt_from_the_verified_blob() {
    let store = store();
    let bytes = test_bytes(2 * MIB + 3, 4);
    let id = store.put_bytes(&bytes).unwrap().id;
    let outboard_key = store.outboard_key(&id);
    let original = raw(&store, async |os| {
        os.get(&outboard_key).await?.bytes().await
    });

    raw(&store, async |os| os.delete(&outboard_key).await);
    let r = MIB as u64 - 7..MIB as u64 + 7;
    assert_eq!(
        read_all(&store, &id, Some(r.clone())),
        &bytes[r.start as usize..r.end as usize]
    );
    let rebuilt = raw(&store, async |os| {
        os.get(&outboard_key).await?.bytes().await
    });
    assert_eq!(rebuilt, original, "written again, byte for byte");

    overwrite(&store, &outboard_key, b"not an outboard".to_vec());
    assert!(matches!(
        expect_corrupt(store.verify(&id)),
        CorruptKind::OutboardInvalid(_)
    ));
    assert_eq!(read_all(&store, &id, None), bytes, "a read rebuilds it");
    store.verify(&id).unwrap();

    // A dedup put repairs it too.
    raw(&store, async |os| os.delete(&outboard_key).await);
    assert!(!store.put_bytes(&bytes).unwrap().created);
    let repaired = raw(&store, async |os| {
        os.get(&outboard_key).await?.bytes().await
    });
    assert_eq!(repaired, original);

    // But a blob that is itself damaged gets no outboard made from it.
    raw(&store, async |os| os.delete(&outboard_key).await);
    let mut bad = bytes.clone();
    bad[5] ^= 1;
    overwrite(&store, &store.blob_key(&id), bad);
    assert_eq!(
        expect_corrupt(store.get(&id, Some(0..1))),
        CorruptKind::ContentMismatch
    );
    let left = objects(&store);
    assert!(
        !left.iter().any(|(k, _, _)| k.ends_with(".obao")),
        "{left:?}"
    );
}

#[test]
fn list_skips_outboards_temp_objects_and_strays() {
    let store = store();
    let small = store.put_bytes(b"small").unwrap().id;
    let big = store.put_bytes(&test_bytes(2 * MIB, 5)).unwrap().id;
    let prefix = store.prefix().clone();
    for stray in ["tmp/0123abcd", "blobs/zz/not-a-blob", "blobs/other"] {
        let key = Path::parse(format!("{prefix}/{stray}")).unwrap();
        overwrite(&store, &key, b"stray".to_vec());
    }
    // A blob id under the wrong first-level directory is not one of ours.
    let misplaced = BlobId::of(b"misplaced").to_string();
    let key = Path::parse(format!("{prefix}/blobs/zz/{misplaced}")).unwrap();
    overwrite(&store, &key, b"misplaced".to_vec());
    let mut want = vec![small, big];
    want.sort();
    assert_eq!(store.list().unwrap(), want);
}

#[test]
fn a_dedup_put_writes_nothing() {
    let store = store();
    let small = test_bytes(40 * 1024, 6);
    let big = test_bytes(3 * MIB, 7);
    let huge = test_bytes(9 * MIB, 8);
    for bytes in [&small, &big, &huge] {
        assert!(store.put_bytes(bytes).unwrap().created);
    }
    let before = objects(&store);
    assert_eq!(before.len(), 1 + 1 + 2 + 2, "{before:?}");
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a rewrite would change the time
    let times = |store: &S3BlobStore| {
        let prefix = store.prefix().clone();
        let mut t: Vec<_> = raw(store, async |os| {
            os.list(Some(&prefix)).try_collect::<Vec<_>>().await
        })
        .into_iter()
        .map(|m| (m.location.to_string(), m.last_modified))
        .collect();
        t.sort();
        t
    };
    let times_before = times(&store);
    for bytes in [&small, &big, &huge] {
        assert!(!store.put(&mut &bytes[..]).unwrap().created);
    }
    assert_eq!(objects(&store), before);
    assert_eq!(times(&store), times_before, "no object was written again");
}

#[test]
fn errors_carry_no_secret_and_the_layout_marker_is_checked() {
    let good = config(1 << 20);
    let wrong = S3Config {
        secret_access_key: "wrong-secret-0123456789abcdef".into(),
        ..good.clone()
    };
    let err = S3BlobStore::open(wrong).unwrap_err();
    let text = format!("{err} {err:?} {}", error_chain(&err));
    assert!(!text.contains("wrong-secret"), "{text}");
    assert!(!text.contains(&good.secret_access_key), "{text}");
    assert!(text.contains("LAYOUT"), "names the object: {text}");
    assert!(!format!("{good:?}").contains(&good.secret_access_key));

    let store = S3BlobStore::open(good.clone()).unwrap();
    let marker = Path::parse(format!("{}/LAYOUT", store.prefix())).unwrap();
    overwrite(&store, &marker, b"studyvault-s3-blob-layout 99\n".to_vec());
    match S3BlobStore::open(good) {
        Err(BlobError::UnsupportedLayout { found, .. }) => {
            assert_eq!(found, "studyvault-s3-blob-layout 99")
        }
        other => panic!("expected an unsupported layout, got {other:?}"),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// From an async worker of a multi-threaded runtime the store steps aside by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_an_async_worker_step_aside() {
    let store = store();
    let bytes = test_bytes(2 * MIB, 9);
    let id = store.put_bytes(&bytes).unwrap().id;
    assert_eq!(read_all(&store, &id, Some(5..MIB as u64)), &bytes[5..MIB]);
    drop(store); // dropping its runtime on an async thread must not panic either
}

/// An endpoint nobody listens on is an error after the few retries (the time it took is
/// printed; the retry settings bound it to 20 s).
#[test]
fn an_unreachable_endpoint_is_an_error_after_a_few_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port(); // free once the listener is dropped: connections are refused
    let started = std::time::Instant::now();
    // Opening reads the bucket's layout marker: the first request.
    let refused = S3BlobStore::open(S3Config::new(
        format!("http://127.0.0.1:{port}"),
        "nowhere",
        "GKnobody",
        "no-secret",
    ));
    println!("refused after {:?}", started.elapsed());
    let said = format!("{:?}", refused.expect_err("nothing listens there"));
    assert!(said.contains("retries"), "{said}");
}
