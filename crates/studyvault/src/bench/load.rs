//! The two measurements: ingest throughput with N clients, and preview GETs with N
//! connections (requests/s and latency percentiles). Each client thread has its own agent,
//! so its own keep-alive connection.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

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
    /// The server's CPU time during the step, when known.
    pub server_cpu: Option<f64>,
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
                // One buffer per client: the body is counted, not kept, so the client's own
                // copying and page faults weigh as little as they can on the figures.
                let mut buf = vec![0u8; 256 * 1024];
                while mine.len() < min_each || started.elapsed() < duration {
                    let t = Instant::now();
                    match get_counted(&agent, get, &mut buf) {
                        Ok(n) => {
                            mine.push(t.elapsed());
                            bytes.fetch_add(n, Ordering::Relaxed);
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
        server_cpu: None,
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

/// One GET whose body is read through `buf` and counted; an error unless it is a 200 with at
/// least `get.min_body` bytes.
fn get_counted(agent: &ureq::Agent, get: &Get<'_>, buf: &mut [u8]) -> anyhow::Result<u64> {
    use std::io::Read;
    let mut request = agent.get(get.url).header("Accept", get.accept);
    if let Some(token) = get.token {
        request = request.header("Authorization", format!("Bearer {}", token.expose()));
    }
    let mut response = request
        .call()
        .with_context(|| format!("could not GET {}", get.url))?;
    let status = response.status().as_u16();
    let mut reader = response.body_mut().as_reader();
    let mut n = 0u64;
    let mut head = Vec::new();
    loop {
        let got = reader
            .read(buf)
            .with_context(|| format!("could not read the answer to GET {}", get.url))?;
        if got == 0 {
            break;
        }
        if status != 200 && head.len() < 300 {
            head.extend_from_slice(&buf[..got.min(300)]);
        }
        n += got as u64;
    }
    if status != 200 || n < get.min_body as u64 {
        bail!(
            "{} GET {} answered {status} with {n} bytes ({} expected): {}",
            get.name,
            get.url,
            get.min_body,
            String::from_utf8_lossy(&head)
        );
    }
    Ok(n)
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
