//! `multipart/related; type="application/dicom"` uploads (the STOW-RS shape): one instance per
//! part, each streamed in and buffered up to the instance bound, ingested while the next part
//! arrives. A part needs at least one header (normally `Content-Type: application/dicom`):
//! multer cannot delimit a part with none, so such a body is refused as malformed.

use axum::body::Body;
use sv_model::RecordId;
use sv_vault::{Batch, BatchItem, IngestOptions, Reason};

use super::body_error;
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
            if let Err(e) = read_part(&mut field, 0).await {
                break Some(multipart_error(&e));
            }
            let reason = Reason::new(
                "unsupported-media-type",
                "a part is application/dicom (or has no Content-Type)",
            );
            batch.fail(source, reason);
            continue;
        }
        match read_part(&mut field, max).await {
            Ok(Some(bytes)) => batch.submit(source, bytes).await,
            Ok(None) => batch.fail(
                source,
                Reason::new("too-large", format!("an instance is at most {max} bytes")),
            ),
            Err(e) => break Some(multipart_error(&e)),
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

/// The part's bytes, or `None` (after reading it to its end) when it is over `max` bytes.
async fn read_part(
    field: &mut multer::Field<'_>,
    max: u64,
) -> Result<Option<bytes::Bytes>, multer::Error> {
    let mut buf = bytes::BytesMut::new();
    let mut over = false;
    while let Some(chunk) = field.chunk().await? {
        if over {
            continue;
        }
        if (buf.len() + chunk.len()) as u64 > max {
            over = true;
            buf = bytes::BytesMut::new();
            continue;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((!over).then(|| buf.freeze()))
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
