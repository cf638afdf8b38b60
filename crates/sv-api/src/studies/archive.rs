//! `GET …/studies/{study}/archive`: the study's DICOM instances (and previews) as a zip, streamed;
//! the same writer serves a share's download (`/s/{link}/download.zip`).
//!
//! The zip is written by the `zip` crate's streaming writer (data descriptors, no seeking) on a
//! blocking thread that reads the blobs with the blob store's synchronous, verifying reader; it
//! hands 64 KiB chunks to the response through a channel of four, so memory stays bounded and
//! a slow client slows the writer. No temporary file. Entries are Stored: DICOM pixel data is
//! usually compressed already, and so are the JPEG/PNG previews.

use std::io::{self, Write};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::Response;
use bytes::Bytes;
use sv_model::study::InstanceFacts;
use sv_model::{BlobId, Permissions, Share, Timestamp, TypeId};
use sv_vault::{AsShared, Vault};
use tokio::sync::mpsc;
use tracing::error;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::records::parse_record_id;
use crate::{ApiError, AppState, Caller};

const CHUNK: usize = 64 * 1024;

/// The study as a zip: `<SeriesInstanceUID>/<SOPInstanceUID>.dcm`, previews under `previews/`.
#[utoipa::path(get, path = "/v1/records/{rid}/studies/{study}/archive", tag = "studies",
    params(("rid" = String, Path, description = "record id"), ("study" = String, Path, description = "StudyInstanceUID")),
    responses((status = 200, content_type = "application/zip", description = "the study, streamed"),
        (status = 404, body = crate::ErrorBody)))]
pub(super) async fn study_archive(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let record = parse_record_id(&rid)?;
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), Permissions::READ)?;
    let uid = study.clone();
    let instances = state
        .vault()
        .run_io(move |vault| vault.study_instances_blocking(record, &uid))
        .await?;
    if instances.is_empty() {
        return Err(ApiError::not_found("study"));
    }

    Ok(stream_zip(state.vault().clone(), instances, None, &study))
}

/// Streams a study's instances (and previews) as a zip. For a share, every name and file is
/// as the share shows it (remapped and de-identified when it de-identifies).
pub(crate) fn stream_zip(
    vault: Vault,
    instances: Vec<InstanceFacts>,
    share: Option<Share>,
    study: &str,
) -> Response {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let sink = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        if let Err(e) = write_zip(&vault, &instances, share.as_ref(), sink) {
            // The client may simply have gone; otherwise cut the body so it is not taken
            // for a whole archive.
            if e.kind() != io::ErrorKind::BrokenPipe {
                error!(error = %e, "study archive failed");
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let filename: String = study
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}.zip\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

/// Writes the whole archive (blocking).
fn write_zip(
    vault: &Vault,
    instances: &[InstanceFacts],
    share: Option<&Share>,
    sink: ChannelWriter,
) -> io::Result<()> {
    let uids = share.map(AsShared::of);
    let show = |uid: &str| {
        uids.as_ref()
            .map_or_else(|| uid.to_owned(), |u| u.show(uid))
    };
    let mut zip = ZipWriter::new_stream(sink);
    for f in instances {
        let name = format!(
            "{}/{}.dcm",
            show(&f.series_instance_uid),
            show(&f.sop_instance_uid)
        );
        match share {
            Some(share) => {
                // A de-identified file's length is not the stored one: ZIP64 when unsure.
                let mut o = options(f.received, f.length);
                if share.deidentify {
                    o = o.large_file(f.length >= u64::from(u32::MAX) / 2);
                }
                zip.start_file(name, o)?;
                let mut file = vault
                    .shared_instance_file_blocking(share, f)
                    .map_err(io::Error::other)?;
                io::copy(&mut file, &mut zip)?;
            }
            None => {
                zip.start_file(name, options(f.received, f.length))?;
                copy_blob(vault, &f.blob_id, &mut zip)?;
            }
        }
    }
    for f in instances {
        let Some(p) = &f.preview else { continue };
        let name = format!(
            "previews/{}/{}.{}",
            show(&f.series_instance_uid),
            show(&f.sop_instance_uid),
            p.extension()
        );
        zip.start_file(name, options(f.received, p.length))?;
        copy_blob(vault, &p.blob_id, &mut zip)?;
    }
    let mut sink = zip.finish()?.into_inner();
    sink.flush()
}

fn copy_blob(vault: &Vault, id: &BlobId, out: &mut impl Write) -> io::Result<()> {
    let mut reader = vault
        .read_blob_blocking(id, None)
        .map_err(io::Error::other)?;
    io::copy(&mut reader, out)?;
    Ok(())
}

/// Stored, dated when the instance was received, ZIP64 only where an entry needs it.
fn options(when: Timestamp, length: u64) -> SimpleFileOptions {
    let mut options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(length >= u64::from(u32::MAX));
    if let Some(date) = zip_date(when) {
        options = options.last_modified_time(date);
    }
    options
}

fn zip_date(when: Timestamp) -> Option<DateTime> {
    let t = time::OffsetDateTime::from_unix_timestamp(when.unix_micros() / 1_000_000).ok()?;
    DateTime::from_date_and_time(
        u16::try_from(t.year()).ok()?,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .ok()
}

/// Hands the zip's bytes to the response in chunks (blocking on a full channel).
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}
