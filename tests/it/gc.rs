//! The garbage collector of a running server: blobs left unreferenced (here planted in the
//! blob store while the server was stopped, as a crash between a put and its commit leaves
//! them) go once they have stayed unreferenced for the grace period, and nothing named goes.

use std::time::{Duration, Instant};

use sv_blob::BlobStore;

use crate::server::{Options, Server, fixture, studyvault};

fn fsck(data: &std::path::Path) -> String {
    let out = studyvault()
        .arg("fsck")
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_running_server_collects_orphans_after_the_grace_period_and_nothing_else() {
    let mut first = Server::start();
    let (rid, token) = first.create_record("Jane");
    let uploaded = first.upload_dicom(&rid, &token, &fixture("CT_small.dcm"));
    assert!(uploaded.status < 300, "{}", uploaded.text());
    let instance = &uploaded.json()["instances"][0];
    let file = format!(
        "/v1/records/{rid}/things/{}/blobs/{}",
        instance["thing_id"].as_str().unwrap(),
        instance["sop_instance_uid"].as_str().unwrap()
    );
    assert_eq!(first.get(&file, Some(&token)).body, fixture("CT_small.dcm"));
    let data = first.data.clone();
    assert!(first.stop());

    // Orphans as a crash leaves them: a small blob (a segment record) and a big one (a file).
    let orphans = {
        let blobs = sv_blob::LocalBlobStore::open(data.join("blobs")).unwrap();
        let small = blobs
            .put_bytes(b"an instance whose commit never came")
            .unwrap()
            .id;
        let big = blobs.put_bytes(&vec![7u8; 3 << 20]).unwrap().id;
        [small, big]
    };
    assert!(
        fsck(&data).contains("2 unreferenced blobs"),
        "{}",
        fsck(&data)
    );

    let grace = Duration::from_secs(2);
    // Before the first pass, which runs at start: the grace period runs from then.
    let started = Instant::now();
    let mut server = Server::start_with(Options {
        data: Some(data.clone()),
        env: vec![
            ("STUDYVAULT_GC_EVERY_SECS".into(), "1".into()),
            (
                "STUDYVAULT_GC_GRACE_SECS".into(),
                grace.as_secs().to_string(),
            ),
        ],
        ..Options::default()
    });
    while !server.logs().contains("unreferenced blobs collected") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no collection: {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        started.elapsed() >= grace,
        "collected before the grace period was over"
    );
    assert!(server.logs().contains("deleted=2"), "{}", server.logs());
    assert_eq!(
        server.get(&file, Some(&token)).body,
        fixture("CT_small.dcm")
    );
    assert!(server.stop());

    let report = fsck(&data);
    assert!(!report.contains("unreferenced"), "{report}");
    let blobs = sv_blob::LocalBlobStore::open(data.join("blobs")).unwrap();
    for id in orphans {
        assert!(!blobs.contains(&id).unwrap());
    }
}
