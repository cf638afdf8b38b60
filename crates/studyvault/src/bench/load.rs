//! The two measurements: ingest throughput with N clients, and preview GETs with N
//! connections (requests/s and latency percentiles). Each client thread has its own agent,
//! so its own keep-alive connection.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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

/// GET figures for one connection count.
#[derive(Debug, Clone, Copy)]
pub struct GetStats {
    pub requests: usize,
    /// Body bytes received.
    pub bytes: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub seconds: f64,
}

impl GetStats {
    /// Body megabytes (10^6 bytes) per second.
    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

/// One GET to repeat: where, how, and what a good answer is.
pub struct Get<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub token: Option<&'a Secret>,
    pub accept: &'a str,
    /// The smallest body a good (200) answer has.
    pub min_body: usize,
}

/// GETs the preview from `connections` clients in a loop for `duration` (each client at least
/// `min_each` requests); every answer must be a 200 with an image body.
pub fn previews(
    target: &Target,
    connections: usize,
    duration: Duration,
    min_each: usize,
) -> anyhow::Result<GetStats> {
    let get = Get {
        name: target.name,
        url: &target.preview_url,
        token: target.token.as_ref(),
        accept: "image/jpeg",
        min_body: 101,
    };
    gets(&get, connections, duration, min_each)
}

/// GETs `get.url` from `connections` clients (each its own keep-alive connection) in a loop
/// for `duration`, each client at least `min_each` requests; every answer must be a 200 with
/// at least `get.min_body` bytes.
pub fn gets(
    get: &Get<'_>,
    connections: usize,
    duration: Duration,
    min_each: usize,
) -> anyhow::Result<GetStats> {
    let latencies = Mutex::new(Vec::<Duration>::new());
    let bytes = AtomicU64::new(0);
    let failure = Mutex::new(None::<anyhow::Error>);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..connections {
            s.spawn(|| {
                let agent = crate::client::agent(1, Some(Duration::from_secs(120)));
                let mut mine = Vec::new();
                while mine.len() < min_each || started.elapsed() < duration {
                    let t = Instant::now();
                    let reply =
                        crate::client::get(&agent, get.url, get.token, &[("Accept", get.accept)]);
                    match reply {
                        Ok(r) if r.status == 200 && r.body.len() >= get.min_body => {
                            mine.push(t.elapsed());
                            bytes.fetch_add(r.body.len() as u64, Ordering::Relaxed);
                        }
                        Ok(r) => {
                            let e = anyhow::anyhow!(
                                "{} GET {} answered {} with {} bytes ({} expected): {}",
                                get.name,
                                get.url,
                                r.status,
                                r.body.len(),
                                get.min_body,
                                String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
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
    Ok(GetStats {
        requests: all.len(),
        bytes: bytes.into_inner(),
        per_second: all.len() as f64 / elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        seconds: elapsed,
    })
}

/// One POST to repeat with many bodies: where, how, and what a good answer is.
pub struct Post<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub token: Option<&'a Secret>,
    pub content_type: &'a str,
    /// Whether an answer means every instance of the body was stored.
    pub stored: &'a (dyn Fn(&Reply) -> bool + Sync),
}

/// POSTs every body (each holding `per_body` instances) with `clients` parallel clients;
/// every answer must be `stored`. Returns instances per second.
pub fn post_bodies(
    post: &Post<'_>,
    bodies: &[Vec<u8>],
    per_body: usize,
    clients: usize,
) -> anyhow::Result<f64> {
    let Post {
        name,
        url,
        token,
        content_type,
        stored,
    } = *post;
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None::<anyhow::Error>);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let agent = crate::client::agent(1, Some(Duration::from_secs(300)));
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let reply =
                        crate::client::post(&agent, url, token, content_type, body.as_slice());
                    let e = match reply {
                        Ok(r) if stored(&r) => continue,
                        Ok(r) => anyhow::anyhow!(
                            "{name} did not store a batch: {} {}",
                            r.status,
                            String::from_utf8_lossy(&r.body[..r.body.len().min(500)])
                        ),
                        Err(e) => e,
                    };
                    *failure.lock().expect("failure lock") = Some(e);
                    next.store(bodies.len(), Ordering::Relaxed);
                    break;
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(e) = failure.into_inner().expect("failure lock") {
        return Err(e);
    }
    Ok((bodies.len() * per_body) as f64 / elapsed)
}
