//! Dev-only helpers: fixture paths, temporary stores, backend conformance suites, and
//! throwaway PostgreSQL ([`pg`]) and Garage S3 ([`garage`]) servers.

pub mod blob_conformance;
pub mod fixtures;
pub mod garage;
pub mod meta_conformance;
pub mod pg;
pub mod schema;

/// The `STUDYVAULT_*` settings of a `studyvault serve` node whose metadata is in `db` and whose
/// blobs are in `s3` (the deployment of the README's "Beyond one machine").
pub fn node_env(db: &pg::PgDatabase, s3: &garage::S3Target) -> Vec<(String, String)> {
    [
        ("STUDYVAULT_META_BACKEND", "postgres"),
        ("STUDYVAULT_META_POSTGRES_URL", db.url()),
        ("STUDYVAULT_BLOBS_BACKEND", "s3"),
        ("STUDYVAULT_BLOBS_S3_ENDPOINT", &s3.endpoint),
        ("STUDYVAULT_BLOBS_S3_REGION", &s3.region),
        ("STUDYVAULT_BLOBS_S3_BUCKET", &s3.bucket),
        ("STUDYVAULT_BLOBS_S3_ACCESS_KEY_ID", &s3.access_key_id),
        (
            "STUDYVAULT_BLOBS_S3_SECRET_ACCESS_KEY",
            &s3.secret_access_key,
        ),
        ("STUDYVAULT_BLOBS_S3_PREFIX", &s3.prefix),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
