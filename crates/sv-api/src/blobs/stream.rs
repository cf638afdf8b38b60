//! The bridges between async bodies and the blocking blob store: a response body fed by a
//! blocking reader, and a request body read as `std::io::Read` by a blocking writer.

use std::io::{self, Read};

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// Bytes read from the blob store per chunk of a streamed answer.
const CHUNK: usize = 64 * 1024;

/// A body fed by a blocking thread reading `reader` (a blob, or an instance file with its
/// PS3.10 prefix) chunk by chunk. A read error (a corrupt group, an IO failure) ends the
/// stream with an error, so the connection is aborted.
pub(crate) fn stream_reader(mut reader: impl Read + Send + 'static) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buf = vec![0u8; CHUNK];
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break; // the client went away
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::error!(corrupt = sv_vault::is_corrupt_io(&e), error = %e, "blob read failed mid-stream");
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// How feeding the request body to the blob store ended.
pub(super) enum Pumped {
    Done,
    /// The store stopped reading (a refusal before the first byte, or a failure).
    Abandoned,
    TooLarge,
    Failed,
}

/// Feeds the body to the blocking writer, counting bytes: past `max`, the writer gets an
/// error (so nothing is stored) and the answer is 413.
pub(super) async fn pump(body: Body, tx: mpsc::Sender<io::Result<Bytes>>, max: u64) -> Pumped {
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        let (item, end) = match chunk {
            Ok(bytes) => {
                total = total.saturating_add(bytes.len() as u64);
                if total > max {
                    (
                        Err(io::Error::other("the body is over the limit")),
                        Some(Pumped::TooLarge),
                    )
                } else {
                    (Ok(bytes), None)
                }
            }
            Err(_) => (
                Err(io::Error::other("the body failed")),
                Some(Pumped::Failed),
            ),
        };
        if tx.send(item).await.is_err() {
            return end.unwrap_or(Pumped::Abandoned);
        }
        if let Some(end) = end {
            return end;
        }
    }
    Pumped::Done
}

/// The blocking end of the body channel, as `std::io::Read`.
pub(super) struct ChannelReader {
    pub(super) rx: mpsc::Receiver<io::Result<Bytes>>,
    pub(super) buf: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(bytes)) => self.buf = bytes,
                Some(Err(e)) => return Err(e),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}
