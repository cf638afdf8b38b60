//! Ingest end to end over the real fixtures: every file reported, every study valid XML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sv_blob::{BlobStore, LocalBlobStore};
use sv_meta::{MetaStore, SledMetaStore};
use sv_model::{Record, RecordId, Timestamp, TypeId};
use sv_testkit::fixtures::{dicom_fixture, fixtures_dir, read_dicom_fixture};
use sv_testkit::schema::xmllint_study;
use sv_vault::{IngestOptions, IngestStatus, Vault, VaultConfig, fsck_report};

/// A vault over stores the test keeps handles to, so it can look behind the use cases.
struct TestVault {
    vault: Vault,
    meta: Arc<dyn MetaStore>,
    blobs: Arc<dyn BlobStore>,
    record: RecordId,
    _dir: tempfile::TempDir,
}

fn test_vault() -> TestVault {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetaStore> = Arc::new(SledMetaStore::open(dir.path().join("meta")).unwrap());
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
    let vault = Vault::with_stores(
        meta.clone(),
        blobs.clone(),
        VaultConfig {
            workers: 2,
            ..VaultConfig::default()
        },
    );
    let record = RecordId::new_random();
    meta.create_record(&Record {
        id: record,
        name: "test".into(),
        created: Timestamp::now(),
        owner_email: None,
    })
    .unwrap();
    TestVault {
        vault,
        meta,
        blobs,
        record,
        _dir: dir,
    }
}

fn all_fixture_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_fixture_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn ingest_file(t: &TestVault, path: &Path, options: IngestOptions) -> sv_vault::InstanceReport {
    let bytes = std::fs::read(path).unwrap();
    t.vault.ingest_blocking(t.record, &bytes, &options).unwrap()
}

#[test]
fn every_fixture_is_reported_and_every_study_validates_against_the_v2_schema() {
    let t = test_vault();
    let mut files = Vec::new();
    all_fixture_files(&fixtures_dir().join("dicom"), &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "expected the pydicom fixture set, found {} files",
        files.len()
    );

    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for path in &files {
        let report = ingest_file(&t, path, IngestOptions::default());
        *by_status.entry(report.status.as_str()).or_default() += 1;
        match report.status {
            IngestStatus::Failed => {
                let reason = report.reason.as_ref().expect("a failure says why");
                assert!(
                    !reason.code.is_empty() && !reason.message.is_empty(),
                    "{path:?}"
                );
            }
            IngestStatus::Stored | IngestStatus::Duplicate | IngestStatus::Conflict => {
                assert!(
                    report.thing_id.is_some() && report.blob_id.is_some(),
                    "{path:?}"
                );
            }
            other => panic!("{path:?}: unexpected {other:?}"),
        }
    }
    // Some pydicom fixtures are copies of one instance (e.g. the same MR in several transfer
    // syntaxes shares one SOP Instance UID): later ones conflict or duplicate. What matters is
    // that a good share of files is stored and the rest are explained.
    assert!(
        by_status.get("stored").copied().unwrap_or(0) >= 40,
        "{by_status:?}"
    );
    assert!(
        by_status.get("failed").copied().unwrap_or(0) >= 5,
        "{by_status:?}"
    );

    let studies = t.meta.studies(t.record).unwrap();
    assert!(
        studies.len() >= 10,
        "expected many studies, got {}",
        studies.len()
    );
    for (study_uid, thing) in studies {
        let view = t.vault.study_blocking(t.record, thing).unwrap();
        let xml = &view.thing.data_xml;
        if let Err(complaint) = xmllint_study(xml) {
            panic!("study {study_uid}: XML does not validate:\n{complaint}\n{xml}");
        }
        let parsed = sv_hvxml::read_medical_image_study(xml).unwrap();
        assert_eq!(
            parsed, view.assembly.study,
            "study {study_uid} does not round-trip"
        );
        let images: usize = view
            .assembly
            .study
            .series
            .iter()
            .map(|s| s.images.len())
            .sum();
        assert_eq!(
            images,
            view.instances.len(),
            "study {study_uid}: one image per instance"
        );
        // Every name the XML mentions is a blob of the thing.
        for series in view.assembly.study.series.iter() {
            for image in series.images.iter() {
                assert!(view.thing.blob(image.image_blob_name.as_str()).is_some());
                if let Some(p) = &image.image_preview_blob_name {
                    assert!(
                        view.thing.blob(p.as_str()).is_some(),
                        "missing preview blob {p}"
                    );
                }
            }
            if let Some(p) = &series.preview_blob_name {
                assert!(
                    view.thing.blob(p.as_str()).is_some(),
                    "missing series preview {p}"
                );
            }
        }
        if let Some(p) = &view.assembly.study.preview_blob_name {
            assert!(
                view.thing.blob(p.as_str()).is_some(),
                "missing study preview {p}"
            );
        }
        assert_eq!(view.thing.type_id, TypeId::MEDICAL_IMAGE_STUDY);
    }

    let fsck = fsck_report(&t.vault).unwrap();
    assert!(fsck.is_clean(), "fsck found problems: {:?}", fsck.problems);
    assert!(
        fsck.unreferenced_blobs.is_empty(),
        "ingest leaves no orphans"
    );
}

#[test]
fn a_study_grows_one_instance_at_a_time_from_a_dicomdir_set() {
    let t = test_vault();
    let series_dir = dicom_fixture("dicomdirtests/98892003/MR700");
    let mut files = Vec::new();
    all_fixture_files(&series_dir, &mut files);
    for path in &files {
        let report = ingest_file(&t, path, IngestOptions::default());
        assert_eq!(
            report.status,
            IngestStatus::Stored,
            "{path:?}: {:?}",
            report.reason
        );
    }
    let studies = t.meta.studies(t.record).unwrap();
    assert_eq!(studies.len(), 1);
    let view = t.vault.study_blocking(t.record, studies[0].1).unwrap();
    assert_eq!(view.instances.len(), files.len());
    let series = view.assembly.study.series.first();
    assert!(
        series.preview_blob_name.is_some(),
        "the series has a preview"
    );
    let versions = t.meta.versions(t.record, studies[0].1).unwrap();
    assert_eq!(
        versions.len(),
        files.len(),
        "each instance made one version"
    );
}

#[test]
fn duplicates_conflicts_and_replacement() {
    let t = test_vault();
    let original = read_dicom_fixture("CT_small.dcm");
    let first = t
        .vault
        .ingest_blocking(t.record, &original, &IngestOptions::default())
        .unwrap();
    assert_eq!(first.status, IngestStatus::Stored);
    assert!(first.preview, "CT_small renders");

    let again = t
        .vault
        .ingest_blocking(t.record, &original, &IngestOptions::default())
        .unwrap();
    assert_eq!(again.status, IngestStatus::Duplicate);
    assert_eq!(again.thing_id, first.thing_id);

    // Same SOP Instance UID, different bytes: one pixel changed at the very end.
    let mut changed = original.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    let conflict = t
        .vault
        .ingest_blocking(t.record, &changed, &IngestOptions::default())
        .unwrap();
    assert_eq!(conflict.status, IngestStatus::Conflict);
    assert_eq!(conflict.reason.unwrap().code, "sop-instance-conflict");
    let stored = t
        .meta
        .instance(t.record, first.sop_instance_uid.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        stored.unwrap().1.blob_id,
        first.blob_id.unwrap(),
        "a conflict changes nothing"
    );

    let replace = IngestOptions {
        replace: true,
        ..IngestOptions::default()
    };
    let replaced = t
        .vault
        .ingest_blocking(t.record, &changed, &replace)
        .unwrap();
    assert_eq!(replaced.status, IngestStatus::Replaced);
    let stored = t
        .meta
        .instance(t.record, first.sop_instance_uid.as_deref().unwrap())
        .unwrap();
    assert_eq!(stored.unwrap().1.blob_id, replaced.blob_id.unwrap());

    // The original bytes are no longer named: gc takes them, fsck stays clean.
    assert_eq!(t.meta.blob_refcount(&first.blob_id.unwrap()).unwrap(), 0);
    let gc = t.vault.gc_blocking().unwrap();
    assert!(gc.deleted.contains(&first.blob_id.unwrap()));
    assert!(fsck_report(&t.vault).unwrap().is_clean());
    assert!(
        t.blobs.len(&replaced.blob_id.unwrap()).unwrap().is_some(),
        "gc keeps named blobs"
    );
}

#[test]
fn bad_files_are_explained_and_lose_nothing() {
    let t = test_vault();
    let good = ingest_file(&t, &dicom_fixture("MR_small.dcm"), IngestOptions::default());
    assert_eq!(good.status, IngestStatus::Stored);
    let before = t.blobs.list().unwrap();

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("text", b"hello, this is not DICOM at all".to_vec()),
        ("truncated", read_dicom_fixture("MR_truncated.dcm")),
        ("cut in half", {
            let b = read_dicom_fixture("CT_small.dcm");
            b[..b.len() / 3].to_vec()
        }),
    ];
    for (what, bytes) in cases {
        let report = t
            .vault
            .ingest_blocking(t.record, &bytes, &IngestOptions::default())
            .unwrap();
        assert_eq!(report.status, IngestStatus::Failed, "{what}");
        let code = report.reason.unwrap().code;
        assert!(
            ["not-dicom", "truncated", "malformed", "missing-attribute"].contains(&code),
            "{what}: unexpected reason {code}"
        );
    }
    assert_eq!(
        t.blobs.list().unwrap(),
        before,
        "failed ingests store nothing"
    );
    let view = t
        .vault
        .study_by_uid_blocking(t.record, good.study_instance_uid.as_deref().unwrap());
    assert_eq!(view.unwrap().unwrap().instances.len(), 1);
}

#[test]
fn instances_over_the_limits_are_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = VaultConfig::default();
    config.limits.max_pixels_per_frame = 64 * 64;
    let meta: Arc<dyn MetaStore> = Arc::new(SledMetaStore::open(dir.path().join("meta")).unwrap());
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
    let vault = Vault::with_stores(meta.clone(), blobs.clone(), config);
    let record = RecordId::new_random();
    meta.create_record(&Record {
        id: record,
        name: "t".into(),
        created: Timestamp::now(),
        owner_email: None,
    })
    .unwrap();
    let report = vault
        .ingest_blocking(
            record,
            &read_dicom_fixture("CT_small.dcm"),
            &IngestOptions::default(),
        )
        .unwrap();
    assert_eq!(report.status, IngestStatus::Failed);
    assert_eq!(report.reason.unwrap().code, "too-large");
    assert!(blobs.list().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_into_an_unknown_record_is_refused_before_any_blob_is_stored() {
    let t = test_vault();
    let unknown = RecordId::new_random();
    let bytes = read_dicom_fixture("CT_small.dcm");
    let blocking = t
        .vault
        .ingest_blocking(unknown, &bytes, &IngestOptions::default());
    assert!(
        matches!(blocking, Err(sv_vault::VaultError::RecordNotFound(r)) if r == unknown),
        "{blocking:?}"
    );
    let async_ingest = t
        .vault
        .ingest(unknown, bytes, IngestOptions::default())
        .await;
    assert!(
        matches!(async_ingest, Err(sv_vault::VaultError::RecordNotFound(_))),
        "{async_ingest:?}"
    );
    assert!(t.blobs.list().unwrap().is_empty(), "a blob was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_ingests_of_one_study_all_land() {
    let t = test_vault();
    let mut files = Vec::new();
    // Seven instances of one study, racing to create it.
    all_fixture_files(&dicom_fixture("dicomdirtests/98892003/MR700"), &mut files);
    let tasks: Vec<_> = files
        .iter()
        .map(|path| {
            let vault = t.vault.clone();
            let bytes = std::fs::read(path).unwrap();
            tokio::spawn(async move {
                vault
                    .ingest(t.record, bytes, IngestOptions::default())
                    .await
            })
        })
        .collect();
    for task in tasks {
        let report = task.await.unwrap().unwrap();
        assert_eq!(report.status, IngestStatus::Stored, "{:?}", report.reason);
    }
    let studies = t.meta.studies(t.record).unwrap();
    assert_eq!(
        studies.len(),
        1,
        "concurrent first instances still make one study"
    );
    let view = t.vault.study_blocking(t.record, studies[0].1).unwrap();
    assert_eq!(view.instances.len(), files.len());
}

#[test]
fn key_images_of_a_key_object_selection_reach_the_study() {
    use sv_dicom::synthetic::{ct_series_slice, key_object_selection};
    let t = test_vault();
    let (study, series) = ("2.25.77.1", "2.25.77.1.1");
    for i in 0..5 {
        let report = t
            .vault
            .ingest_blocking(
                t.record,
                &ct_series_slice(study, series, i),
                &IngestOptions::default(),
            )
            .unwrap();
        assert_eq!(report.status, IngestStatus::Stored);
    }
    // Slices 2 and 4 (SOP UIDs <series>.2 and <series>.4) are the key images; a third
    // reference names an image this study does not hold.
    let kos = key_object_selection(
        study,
        "2.25.77.1.99",
        "2.25.77.1.99.1",
        &["2.25.77.1.1.4", "2.25.77.1.1.2", "2.25.9.9"],
    );
    let report = t
        .vault
        .ingest_blocking(t.record, &kos, &IngestOptions::default())
        .unwrap();
    assert_eq!(report.status, IngestStatus::Stored, "{:?}", report.reason);
    assert!(!report.preview, "a KOS document has no pixels");

    let view = t
        .vault
        .study_by_uid_blocking(t.record, study)
        .unwrap()
        .unwrap();
    let keys: Vec<&str> = view
        .assembly
        .study
        .key_images
        .iter()
        .map(|k| k.image_blob_name.as_str())
        .collect();
    assert_eq!(keys, ["2.25.77.1.1.4", "2.25.77.1.1.2"]);
    // The study preview is the first key image's, not the first series' middle image.
    let key_preview = view
        .instances
        .iter()
        .find(|f| f.sop_instance_uid == "2.25.77.1.1.4")
        .unwrap();
    let study_preview = view.assembly.study.preview_blob_name.as_ref().unwrap();
    assert_eq!(
        view.thing.blob(study_preview.as_str()).unwrap().blob_id,
        key_preview.preview.as_ref().unwrap().blob_id
    );
    xmllint_study(&view.thing.data_xml).unwrap();
    assert!(view.thing.data_xml.contains("<key-images>"));
}

/// Issue 11: re-uploading a study that was deleted answered `duplicate` and the study stayed
/// deleted.
#[test]
fn an_instance_of_a_deleted_study_is_stored_again() {
    let t = test_vault();
    let first = ingest_file(&t, &dicom_fixture("CT_small.dcm"), IngestOptions::default());
    assert_eq!(first.status, IngestStatus::Stored);
    let old = first.thing_id.unwrap();
    t.vault
        .delete_thing_blocking(&sv_vault::Principal::Admin, t.record, old, None)
        .unwrap()
        .unwrap();

    let again = ingest_file(&t, &dicom_fixture("CT_small.dcm"), IngestOptions::default());
    assert_eq!(again.status, IngestStatus::Stored, "{again:?}");
    let new = again.thing_id.unwrap();
    assert_ne!(new, old, "a new study thing");
    let view = t
        .vault
        .study_by_uid_blocking(t.record, first.study_instance_uid.as_deref().unwrap())
        .unwrap()
        .expect("the study is live again");
    assert_eq!(view.thing.id, new);
    assert_eq!(view.instances.len(), 1);
    assert!(fsck_report(&t.vault).unwrap().is_clean());
}

#[test]
fn frames_and_bulk_data_are_read_from_the_stored_file() {
    use sv_vault::FrameRefusal;
    let t = test_vault();
    let report = ingest_file(&t, &dicom_fixture("rtdose.dcm"), IngestOptions::default());
    assert_eq!(report.status, IngestStatus::Stored, "{report:?}");
    let dose = sv_dicom::parse(&read_dicom_fixture("rtdose.dcm"), &Default::default()).unwrap();
    let summary = dose.summary();
    let found = t
        .vault
        .retrieval_instances_blocking(
            t.record,
            &summary.study_instance_uid,
            Some(&summary.series_instance_uid),
            Some(&summary.sop_instance_uid),
        )
        .unwrap();
    let facts = &found[0];
    let frames = t.vault.instance_frames_blocking(facts, &[15, 2]).unwrap();
    assert_eq!(frames, dose.frames(&[15, 2]).unwrap());
    let whole = t
        .vault
        .instance_bulk_blocking(facts, "7FE00010")
        .unwrap()
        .unwrap();
    assert_eq!(whole[400..800], frames[1].bytes);
    assert_eq!(
        t.vault.instance_bulk_blocking(facts, "00100010").unwrap(),
        None
    );
    assert!(matches!(
        t.vault.instance_frames_blocking(facts, &[16]),
        Err(sv_vault::VaultError::Frames(FrameRefusal::NoSuchFrame {
            number: 16,
            frames: 15
        }))
    ));
    assert!(matches!(
        t.vault.instance_frames_blocking(facts, &[1, 1]),
        Err(sv_vault::VaultError::Frames(FrameRefusal::InvalidList(_)))
    ));
}
