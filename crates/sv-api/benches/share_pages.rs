//! A share's page and its previews against the owner's preview route, over real HTTP.
//!
//! `cargo bench -p sv-api --bench share_pages` (release) serves `sv_api::router` on a loopback
//! port from this process (a real vault under `target/`, sled and local blob files), ingests
//! one CT fixture series, shares the study, opens the share once (as the landing page's button
//! does) to get a share session, and then, at 1, 2, 4, 8 and 16 keep-alive connections (one
//! thread and one `ureq` agent each), times for a fixed time per level:
//! - the owner's instance preview (`GET /v1/records/{rid}/studies/…/instances/{sop}/preview`,
//!   a bearer token: the token cache, a few point reads, cached preview bytes);
//! - the shared instance preview (`GET /s/{link}/images/{sop}`, the session cookie: the
//!   session and the share are re-read on every request, so a revocation holds at once);
//! - the share's study page (`GET /s/{link}/study`, HTML rendered from the study listing).
//!
//! It prints requests/s, p50 and p99 per route and level, and the shared preview's throughput
//! as a share of the owner's (target: at least 0.90). Every answer's status is checked; a
//! wrong answer fails the bench, a slow one never does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sv_api::{ApiConfig, ApiLimits, AppState, router};
use sv_model::{SecretHash, Timestamp};
use sv_vault::{IngestOptions, NewShare, OpenOutcome, Vault, VaultConfig};

const ADMIN: &str = "bench-admin-token-0123456789";
const LEVELS: [usize; 5] = [1, 2, 4, 8, 16];
const PER_LEVEL: Duration = Duration::from_secs(3);

struct Route {
    name: &'static str,
    path: String,
    header: (&'static str, String),
}

fn run(base: &str, route: &Route, connections: usize) -> (f64, f64, f64) {
    let stop = Instant::now() + PER_LEVEL;
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let url = format!("{base}{}", route.path);
            let (name, value) = (route.header.0, route.header.1.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                let mut times = Vec::new();
                while Instant::now() < stop {
                    let t = Instant::now();
                    let mut r = agent.get(&url).header(name, &value).call().unwrap();
                    let status = r.status().as_u16();
                    let body = r.body_mut().read_to_vec().unwrap();
                    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
                    assert!(!body.is_empty());
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    let rps = all.len() as f64 / PER_LEVEL.as_secs_f64();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    (rps, pct(0.50), pct(0.99))
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("share-bench")
        .tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"))
        .unwrap();
    let vault = Vault::open(dir.path(), VaultConfig::default()).unwrap();
    let (record, owner) = vault.create_record_blocking("Bench Person").unwrap();
    let fixtures = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/dicom/dicomdirtests/98892003/MR700"
    );
    let mut sops = Vec::new();
    let mut study = String::new();
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let r = vault
            .ingest_blocking(record.id, &bytes, &IngestOptions::default())
            .unwrap();
        study = r.study_instance_uid.clone().unwrap();
        if r.preview {
            sops.push((r.series_instance_uid.unwrap(), r.sop_instance_uid.unwrap()));
        }
    }
    let (series, sop) = sops[0].clone();
    let created = vault
        .create_share_blocking(
            record.id,
            NewShare {
                study_instance_uid: study.clone(),
                ..NewShare::default()
            },
            Timestamp::now(),
        )
        .unwrap()
        .unwrap();
    let link = created.link_secret.expose().to_owned();
    let OpenOutcome::Opened { session, .. } = vault
        .open_share_blocking(&link, None, None, Timestamp::now())
        .unwrap()
    else {
        panic!("the share opens");
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = ApiConfig {
        admin_token_hash: SecretHash::of(ADMIN.as_bytes()),
        // Loopback: the cookies are the production ones (Secure, __Host-).
        public_url: base.clone(),
        limits: ApiLimits::default(),
        cors_allowed_origins: Vec::new(),
    };
    let app = router(AppState::new(vault.clone(), config));
    runtime.spawn(async move { axum::serve(listener, app).await });
    let vault = Arc::new(vault);

    let cookie = format!("__Host-sv-share={}", session.expose());
    let routes = [
        Route {
            name: "owner instance preview",
            path: format!(
                "/v1/records/{}/studies/{study}/series/{series}/instances/{sop}/preview",
                record.id
            ),
            header: ("authorization", format!("Bearer {}", owner.secret.expose())),
        },
        Route {
            name: "shared instance preview",
            path: format!("/s/{link}/images/{sop}"),
            header: ("cookie", cookie.clone()),
        },
        Route {
            name: "share study page",
            path: format!("/s/{link}/study"),
            header: ("cookie", cookie),
        },
    ];
    println!(
        "share pages bench: {} instances, {} s per level, loopback HTTP/1.1 keep-alive",
        sops.len(),
        PER_LEVEL.as_secs()
    );
    println!(
        "{:<26} {:>5} {:>10} {:>9} {:>9}",
        "route", "conns", "req/s", "p50 ms", "p99 ms"
    );
    let mut ratios = Vec::new();
    for &n in &LEVELS {
        let mut rps = Vec::new();
        for route in &routes {
            let (r, p50, p99) = run(&base, route, n);
            println!(
                "{:<26} {:>5} {:>10.0} {:>9.3} {:>9.3}",
                route.name, n, r, p50, p99
            );
            rps.push(r);
        }
        ratios.push((n, rps[1] / rps[0]));
    }
    println!("shared preview / owner preview throughput (target at least 0.90):");
    for (n, ratio) in ratios {
        println!("  {n:>2} connections: {ratio:.2}");
    }
    drop(vault);
}
