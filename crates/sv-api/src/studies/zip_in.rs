//! `application/zip` uploads (a zipped CD export): the body is spooled to an unlinked file in
//! the vault's spool directory (never held in memory), then the vault reads it with its zip
//! bounds.

use axum::body::Body;
use futures_util::StreamExt;
use sv_model::RecordId;
use sv_vault::{BatchItem, IngestOptions, ZipIngestError, ZipLimits, ZipRefusal};
use tokio::io::AsyncWriteExt;

use super::body_error;
use crate::{ApiError, AppState};

/// Spools and ingests a zip; refused whole (nothing stored) when it is not a usable zip.
pub(crate) async fn ingest(
    state: &AppState,
    record: RecordId,
    options: IngestOptions,
    body: Body,
) -> Result<Vec<BatchItem>, ApiError> {
    // Unlinked at creation: the OS frees it however the request ends.
    let vault = state.vault().clone();
    let spool = tokio::task::spawn_blocking(move || vault.spool_file())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let mut file =
        tokio::fs::File::from_std(spool.try_clone().map_err(|e| ApiError::internal(&e))?);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| body_error(&e))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    file.flush().await.map_err(|e| ApiError::internal(&e))?;
    drop(file);
    ingest_file(state, record, options, spool).await
}

/// Ingests a zip already in a file (a spool file); refused whole when it is not a usable zip.
pub(crate) async fn ingest_file(
    state: &AppState,
    record: RecordId,
    options: IngestOptions,
    spool: std::fs::File,
) -> Result<Vec<BatchItem>, ApiError> {
    let limits = &state.config().limits;
    let limits = ZipLimits {
        max_entries: limits.max_zip_entries,
        max_expanded_bytes: limits.max_zip_expanded_bytes,
    };
    state
        .vault()
        .ingest_zip(record, spool, limits, options)
        .await
        .map_err(zip_error)
}

fn zip_error(e: ZipIngestError) -> ApiError {
    match e {
        ZipIngestError::Refused(r @ (ZipRefusal::NotAZip | ZipRefusal::Damaged)) => {
            ApiError::bad_request("malformed-zip", r.to_string())
        }
        ZipIngestError::Refused(
            r @ (ZipRefusal::TooManyEntries { .. } | ZipRefusal::TooLarge { .. }),
        ) => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "zip-too-large",
            r.to_string(),
        ),
        ZipIngestError::Io(e) => ApiError::internal(&e),
        ZipIngestError::Vault(e) => e.into(),
    }
}
