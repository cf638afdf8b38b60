//! Crash test: a child process (this test binary, re-executed) writes blobs and metadata and
//! prints one line per acknowledged write; the parent SIGKILLs it at random moments and checks
//! after each restart that every acknowledged write is there and intact, that no partial blob
//! is visible, and that `fsck` finds nothing beyond unreferenced blobs.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sv_blob::{BlobId, BlobStore, LocalBlobStore};
use sv_meta::{AddInstanceOutcome, MetaStore, SledMetaStore, ThingUpdate, fsck};
use sv_model::study::{InstanceFacts, PreviewRef};
use sv_model::{
    Audit, AuditAction, BlobName, NamedBlob, Record, RecordId, Thing, ThingFlags, ThingId,
    ThingState, Timestamp, TypeId, VersionStamp,
};

const CHILD: &str = "SV_META_CRASH_CHILD";
const ROUNDS: u64 = 25;
const RECORD: RecordId = RecordId::from_bytes([7; 16]);
const TYPE: TypeId = TypeId::from_bytes([9; 16]);

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len.div_ceil(8))
        .flat_map(|_| xorshift(&mut s).to_le_bytes())
        .take(len)
        .collect()
}

fn open(dir: &std::path::Path) -> (LocalBlobStore, SledMetaStore) {
    let blobs = LocalBlobStore::open(dir.join("blobs")).expect("open blob store");
    let meta = SledMetaStore::open(dir.join("meta")).expect("open metadata store");
    (blobs, meta)
}

fn audit(action: AuditAction) -> Audit {
    Audit::now(action, None)
}

/// The child: writes until killed, one `ACK` line per durable write.
fn child(dir: &str, round: u64) -> ! {
    let (blobs, meta) = open(std::path::Path::new(dir));
    let out = std::io::stdout();
    let ack = |line: String| {
        let mut out = out.lock();
        writeln!(out, "ACK {line}").expect("write ack");
        out.flush().expect("flush ack");
    };
    let mut things: Vec<(ThingId, VersionStamp)> = Vec::new();
    let mut rng = round + 1;
    for i in 0u64.. {
        let seed = round << 32 | i;
        let size = (xorshift(&mut rng) % 150_000) as usize + 1;
        match i % 3 {
            0 => {
                let data = bytes(seed, size);
                let put = blobs.put_bytes(&data).expect("put blob");
                let created = audit(AuditAction::Created);
                let thing = Thing {
                    id: ThingId::new_random(),
                    version: VersionStamp::new_random(),
                    type_id: TYPE,
                    state: ThingState::Active,
                    flags: ThingFlags::default(),
                    eff_date: Timestamp::now(),
                    created: created.clone(),
                    updated: created,
                    data_xml: format!("<n>{seed}</n>"),
                    blobs: vec![NamedBlob {
                        name: BlobName::default_blob(),
                        content_type: "application/octet-stream".into(),
                        length: put.len,
                        blob_id: put.id,
                    }],
                };
                meta.create_thing(RECORD, &thing).expect("create thing");
                things.push((thing.id, thing.version));
                ack(format!("thing {} {} {}", thing.id, put.id, put.len));
            }
            1 => {
                let dicom = blobs.put_bytes(&bytes(seed, size)).expect("put dicom");
                let preview = blobs.put_bytes(&bytes(!seed, 2000)).expect("put preview");
                let f = facts(round, i, dicom.id, dicom.len, preview.id);
                let out = meta
                    .add_instance(RECORD, &f, false, &audit(AuditAction::Updated))
                    .expect("add instance");
                assert!(matches!(out, AddInstanceOutcome::Stored { .. }), "{out:?}");
                ack(format!("instance {} {}", f.sop_instance_uid, dicom.id));
            }
            _ => {
                let Some((tid, version)) = things.last().copied() else {
                    continue;
                };
                let u = ThingUpdate {
                    data_xml: format!("<u>{seed}</u>"),
                    flags: ThingFlags(1),
                    eff_date: Timestamp::now(),
                    version: VersionStamp::new_random(),
                    audit: audit(AuditAction::Updated),
                };
                meta.update_thing(RECORD, tid, version, &u).expect("update");
                *things.last_mut().expect("not empty") = (tid, u.version);
                ack(format!("update {tid} {}", u.version));
            }
        }
    }
    unreachable!("the loop never ends")
}

fn facts(round: u64, i: u64, blob: BlobId, length: u64, preview: BlobId) -> InstanceFacts {
    InstanceFacts {
        study_instance_uid: format!("1.2.{round}.{}", i / 30),
        series_instance_uid: format!("1.2.{round}.{}.{}", i / 30, i % 2),
        sop_instance_uid: format!("1.2.{round}.{i}.1"),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        instance_number: Some(i as i32),
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        rows: Some(512),
        columns: Some(512),
        number_of_frames: None,
        study: Default::default(),
        series: Default::default(),
        blob_id: blob,
        length,
        preview: Some(PreviewRef {
            blob_id: preview,
            length: 2000,
            media_type: "image/jpeg".into(),
            width: 500,
            height: 500,
        }),
        preview_error: None,
        key_image_refs: Vec::new(),
        procedure_codes: Vec::new(),
        title: None,
        received: Timestamp::now(),
    }
}

/// Checks one acknowledged write against the reopened stores.
fn check_ack(line: &str, blobs: &LocalBlobStore, meta: &SledMetaStore) {
    let parts: Vec<&str> = line.split(' ').collect();
    let intact = |id: &str| {
        let id: BlobId = id.parse().expect("blob id");
        blobs.verify(&id).unwrap_or_else(|e| panic!("{line}: {e}"));
        id
    };
    match parts.as_slice() {
        ["thing", tid, blob, len] => {
            let tid: ThingId = tid.parse().expect("thing id");
            let thing = meta
                .thing(RECORD, tid)
                .unwrap()
                .unwrap_or_else(|| panic!("lost {line}"));
            let id = intact(blob);
            assert_eq!(thing.blobs[0].blob_id, id, "{line}");
            assert_eq!(thing.blobs[0].length, len.parse::<u64>().unwrap(), "{line}");
            assert_eq!(blobs.len(&id).unwrap(), Some(thing.blobs[0].length));
        }
        ["instance", sop, blob] => {
            let (_, f) = meta
                .instance(RECORD, sop)
                .unwrap()
                .unwrap_or_else(|| panic!("lost {line}"));
            assert_eq!(f.blob_id, intact(blob), "{line}");
            intact(&f.preview.expect("preview").blob_id.to_string());
        }
        ["update", tid, version] => {
            let tid: ThingId = tid.parse().expect("thing id");
            let version: VersionStamp = version.parse().expect("version");
            let versions = meta.versions(RECORD, tid).unwrap();
            assert!(versions.iter().any(|v| v.version == version), "lost {line}");
        }
        _ => panic!("unexpected line {line}"),
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(dir) = std::env::var(CHILD) {
        let round = std::env::var("SV_META_CRASH_ROUND")
            .unwrap()
            .parse()
            .unwrap();
        child(&dir, round);
    }
    let dir = tempfile::tempdir().unwrap();
    {
        let (_, meta) = open(dir.path());
        let record = Record {
            id: RECORD,
            name: "crash".into(),
            created: Timestamp::now(),
            owner_email: None,
        };
        meta.create_record(&record).unwrap();
    }
    let started = Instant::now();
    let mut rng = started.elapsed().as_nanos() as u64 | 1;
    let mut acked: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acknowledged_writes_survive_sigkill",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, dir.path())
            .env("SV_META_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()) // a failing child says why
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(ack) = line.strip_prefix("ACK ") {
                    let _ = tx.send(ack.to_owned());
                }
            }
        });
        // Kill at a random moment after the first acknowledgement.
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child acknowledges a write");
        acked.push(first);
        std::thread::sleep(Duration::from_millis(xorshift(&mut rng) % 400));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter());

        let (blobs, meta) = open(dir.path());
        for line in &acked {
            check_ack(line, &blobs, &meta);
        }
        for id in blobs.list().unwrap() {
            blobs
                .verify(&id)
                .unwrap_or_else(|e| panic!("partial or corrupt blob visible: {e}"));
        }
        let report = fsck(&meta, &blobs).unwrap();
        assert!(report.is_clean(), "round {round}: {:?}", report.problems);
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "crash test is taking too long"
        );
    }
    eprintln!(
        "{} acknowledged writes survived {ROUNDS} kills in {:?}",
        acked.len(),
        started.elapsed()
    );
}
