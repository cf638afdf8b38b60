//! The two measurements: ingest throughput with N clients, and preview GETs with N
//! connections (requests/s and latency percentiles). Each client thread has its own agent,
//! so its own keep-alive connection.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::client::Reply;
use crate::secret::Secret;

/// How to talk to one server under test.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: &'static str,
    pub ingest_url: String,
    pub preview_url: String,
    pub token: Option<Secret>,
    /// Whether an ingest reply means the instance was stored.
    pub stored: fn(&Reply) -> bool,
}

impl Target {
    pub fn ingest_one(&self, agent: &ureq::Agent, bytes: &[u8]) -> anyhow::Result<Reply> {
        let reply = crate::client::post(
            agent,
            &self.ingest_url,
            self.token.as_ref(),
            "application/dicom",
            bytes,
        )?;
        if !(self.stored)(&reply) {
            bail!(
                "{} did not store an instance: {}",
                self.name,
                reply.error_text()
            );
        }
        Ok(reply)
    }
}

/// Sends every slice with `clients` parallel clients; returns instances per second.
pub fn ingest(target: &Target, clients: usize, slices: &[Vec<u8>]) -> anyhow::Result<f64> {
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None::<anyhow::Error>);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let agent = crate::client::agent(1, Some(Duration::from_secs(120)));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(bytes) = slices.get(i) else { break };
                    if let Err(e) = target.ingest_one(&agent, bytes) {
                        *failure.lock().expect("failure lock") = Some(e);
                        next.store(slices.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(e) = failure.into_inner().expect("failure lock") {
        return Err(e);
    }
    Ok(slices.len() as f64 / elapsed)
}

/// Preview GET figures for one connection count.
#[derive(Debug, Clone, Copy)]
pub struct PreviewStats {
    pub requests: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// GETs the preview from `connections` clients in a loop for `duration` (each client at least
/// `min_each` requests); every answer must be a 200 with an image body.
pub fn previews(
    target: &Target,
    connections: usize,
    duration: Duration,
    min_each: usize,
) -> anyhow::Result<PreviewStats> {
    let latencies = Mutex::new(Vec::<Duration>::new());
    let failure = Mutex::new(None::<anyhow::Error>);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..connections {
            s.spawn(|| {
                let agent = crate::client::agent(1, Some(Duration::from_secs(120)));
                let mut mine = Vec::new();
                while mine.len() < min_each || started.elapsed() < duration {
                    let t = Instant::now();
                    let reply = crate::client::get(
                        &agent,
                        &target.preview_url,
                        target.token.as_ref(),
                        &[("Accept", "image/jpeg")],
                    );
                    match reply {
                        Ok(r) if r.status == 200 && r.body.len() > 100 => mine.push(t.elapsed()),
                        Ok(r) => {
                            let e = anyhow::anyhow!(
                                "{} preview GET answered {}",
                                target.name,
                                r.error_text()
                            );
                            *failure.lock().expect("failure lock") = Some(e);
                            break;
                        }
                        Err(e) => {
                            *failure.lock().expect("failure lock") = Some(e);
                            break;
                        }
                    }
                }
                latencies.lock().expect("latencies lock").extend(mine);
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(e) = failure.into_inner().expect("failure lock") {
        return Err(e);
    }
    let mut all = latencies.into_inner().expect("latencies lock");
    all.sort_unstable();
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok(PreviewStats {
        requests: all.len(),
        per_second: all.len() as f64 / elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}
