//! Content-addressed blob store: BlobId = blake3, durable local files, verified reads.
