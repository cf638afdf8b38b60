//! Runs the shared blob store conformance suite against every implementation.

mod memory {
    sv_testkit::blob_store_conformance!(Box::new(sv_blob::MemoryBlobStore::new()));
}

mod local {
    sv_testkit::blob_store_conformance!(sv_testkit::blob_conformance::TempLocalStore::new());
}

/// The local store again, with outboards from two groups up, so every range test also runs
/// through group-by-group verification.
mod local_with_outboards {
    sv_testkit::blob_store_conformance!(
        sv_testkit::blob_conformance::TempLocalStore::with_outboards()
    );
}

/// The local store again, with segments so short that records roll to a new one every few
/// puts, so the suite also runs across sealed segments.
mod local_with_tiny_segments {
    sv_testkit::blob_store_conformance!(
        sv_testkit::blob_conformance::TempLocalStore::with_options(sv_blob::LocalOptions {
            segment_len: 16 * 1024,
            ..sv_blob::LocalOptions::default()
        })
    );
}
