//! The tokio runtime the S3 calls block on: the store's own, or one the caller lends it.

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::runtime::{Handle, RuntimeFlavor};

/// Worker threads of the store's own runtime: they only drive HTTP connections (each call's
/// future runs on the calling thread), so two are plenty.
const OWN_WORKERS: usize = 2;

/// A handle to the runtime the store blocks on, keeping that runtime alive when it is the
/// store's own (readers hold a clone, so it outlives the store while they read).
#[derive(Clone)]
pub(crate) struct Runtime {
    handle: Handle,
    _owned: Option<Arc<Owned>>,
}

/// The store's own runtime, shut down without waiting when the last clone goes: dropping a
/// runtime the ordinary way blocks, which panics on an async thread, where a vault holding
/// the store may well be dropped.
struct Owned(Option<tokio::runtime::Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    pub(crate) fn own() -> io::Result<Runtime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(OWN_WORKERS)
            .thread_name("sv-blob-s3")
            .enable_all()
            .build()?;
        Ok(Runtime {
            handle: rt.handle().clone(),
            _owned: Some(Arc::new(Owned(Some(rt)))),
        })
    }

    pub(crate) fn borrowed(handle: Handle) -> Runtime {
        Runtime {
            handle,
            _owned: None,
        }
    }

    /// Runs `future` to completion on the calling thread (its IO driven by the runtime).
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        blocking(|| self.handle.block_on(future))
    }

    /// Enters the runtime, for the synchronous calls that spawn onto it (multipart parts).
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.handle.enter()
    }
}

/// Runs blocking work where it may block: as is on a plain or blocking-pool thread; through
/// `block_in_place` on a worker of a multi-threaded tokio runtime, which hands the worker's
/// other tasks to another thread first (`block_on` panics there otherwise). The same rule as
/// sv-meta's PostgreSQL store.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
