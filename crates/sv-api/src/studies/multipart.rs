//! `multipart/related; type="application/dicom"` uploads (the STOW-RS shape): one instance per
//! part, each streamed in (held in memory up to the spool bound, spooled to a file beyond it,
//! refused beyond the instance bound), ingested while the next part arrives. A part needs at least one header (normally `Content-Type: application/dicom`):
//! multer cannot delimit a part with none, so such a body is refused as malformed.

use axum::body::Body;
use sv_model::RecordId;
use sv_vault::{Batch, BatchItem, IngestOptions, InstanceBytes, Reason};

use super::body_error;
use super::spool::InstanceSink;
use crate::{ApiError, AppState};

/// Ingests every part; returns the per-part report, and the error that stopped reading (a
/// malformed or oversized body) if one did. Parts before the error are kept.
pub(crate) async fn ingest(
    state: &AppState,
    record: RecordId,
    options: IngestOptions,
    boundary: String,
    body: Body,
) -> (Vec<BatchItem>, Option<ApiError>) {
    let max = state.vault().config().limits.max_instance_bytes;
    let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut batch = Batch::new(state.vault(), record, options);
    let mut parts = 0usize;
    let error = loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break None,
            Err(e) => break Some(multipart_error(&e)),
        };
        parts += 1;
        let source = format!("part {parts}");
        if field.headers().is_empty() {
            // multer reads a part's headers up to the next blank line: with none at all it
            // would take the next part's body for this one. Refuse rather than misfile.
            break Some(ApiError::bad_request(
                "malformed-multipart",
                format!("{source} has no headers: send Content-Type: application/dicom"),
            ));
        }
        let dicom = field
            .content_type()
            .is_none_or(|m| m.essence_str() == "application/dicom");
        if !dicom {
            if let Err(e) = skip_part(&mut field).await {
                break Some(multipart_error(&e));
            }
            let reason = Reason::new(
                "unsupported-media-type",
                "a part is application/dicom (or has no Content-Type)",
            );
            batch.fail(source, reason);
            continue;
        }
        match read_part(state, &mut field, max).await {
            Ok(Some(bytes)) => batch.submit_instance(source, bytes).await,
            Ok(None) => batch.fail(
                source,
                Reason::new("too-large", format!("an instance is at most {max} bytes")),
            ),
            Err(PartError::Body(e)) => break Some(multipart_error(&e)),
            Err(PartError::Spool(e)) => break Some(ApiError::internal(&e)),
        }
    };
    let error = error.or_else(|| {
        (parts == 0).then(|| {
            ApiError::bad_request(
                "malformed-multipart",
                "no part found: check the boundary parameter",
            )
        })
    });
    (batch.finish().await, error)
}

/// Why a part could not be read: the body, or the spool file it was going to.
enum PartError {
    Body(multer::Error),
    Spool(std::io::Error),
}

/// The part's bytes (in memory up to the spool bound, in a spool file beyond it), or `None`
/// (after reading it to its end) when it is over `max` bytes.
async fn read_part(
    state: &AppState,
    field: &mut multer::Field<'_>,
    max: u64,
) -> Result<Option<InstanceBytes>, PartError> {
    let mut sink = InstanceSink::new(state.vault(), max, None);
    while let Some(chunk) = field.chunk().await.map_err(PartError::Body)? {
        sink.push(&chunk).await.map_err(PartError::Spool)?;
    }
    sink.finish().await.map_err(PartError::Spool)
}

/// Reads a part to its end, keeping nothing.
async fn skip_part(field: &mut multer::Field<'_>) -> Result<(), multer::Error> {
    while field.chunk().await?.is_some() {}
    Ok(())
}

fn multipart_error(e: &multer::Error) -> ApiError {
    if let multer::Error::StreamReadFailed(_) = e {
        let over = body_error(e);
        if over.code == "payload-too-large" {
            return over;
        }
    }
    ApiError::bad_request(
        "malformed-multipart",
        format!("the multipart body is malformed: {e}"),
    )
}
