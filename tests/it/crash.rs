//! Process kill under load: four clients upload CT slices while the server is SIGKILLed at a
//! random moment; after each restart every instance acknowledged with a 2xx reads back
//! byte-identical (verified by the blob store on read) with its preview, and at the end
//! `fsck` is clean. 30 rounds here; `STUDYVAULT_KILL_ROUNDS=100` for the longer run.
//!
//! A kill loses no page cache, so this guards the ordering and atomicity of the write path
//! (no metadata naming a blob that is not whole, no acknowledged write left half done, a
//! store that always reopens); the fsync points themselves are the power-loss tests' work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::server::{Options, Server, studyvault};

const CLIENTS: u32 = 4;

/// One acknowledged instance: where to read it back and what it must hold.
struct Acked {
    round: u32,
    file: String,
    preview: String,
    bytes: Arc<Vec<u8>>,
}

/// xorshift64*: reproducible kill moments from a printed seed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        lo + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (hi - lo)
    }
}

fn check(server: &Server, token: &str, acked: &[Acked]) {
    for a in acked {
        let file = server.get(&a.file, Some(token));
        assert_eq!(
            file.status,
            200,
            "round {}: {} {}",
            a.round,
            a.file,
            file.text()
        );
        assert!(
            file.body == *a.bytes,
            "round {}: {} changed",
            a.round,
            a.file
        );
        let preview = server.get(&a.preview, Some(token));
        assert_eq!(preview.status, 200, "round {}: {}", a.round, a.preview);
        assert!(preview.body.starts_with(&[0xFF, 0xD8]), "a JPEG preview");
    }
}

#[test]
fn every_acknowledged_instance_survives_a_kill_under_load() {
    let rounds: u32 = std::env::var("STUDYVAULT_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("kill moments seed: {seed}");
    let mut moments = Moments(seed);
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let start = || {
        Server::start_with(Options {
            data: Some(data.clone()),
            ..Options::default()
        })
    };

    let mut server = start();
    let (rid, token) = server.create_record("Jane Doe");
    let study = "1.2.826.0.1.3680043.8.498.1";
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut killed_mid_request = 0;
    for round in 0..rounds {
        if round > 0 {
            server = start();
            // What the last round acknowledged is all there, before new load starts.
            let guard = acked.lock().unwrap();
            let last: Vec<&Acked> = guard.iter().filter(|a| a.round == round - 1).collect();
            for a in last {
                check(&server, &token, std::slice::from_ref(a));
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (base, rid, token) = (server.base.clone(), rid.clone(), token.clone());
                let (stop, acked) = (stop.clone(), acked.clone());
                std::thread::spawn(move || {
                    let agent = crate::server::agent();
                    let series = format!("{study}.{round}.{client}");
                    let mut unanswered = 0;
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let bytes =
                            Arc::new(sv_dicom::synthetic::ct_series_slice(study, &series, i));
                        let reply = agent
                            .post(&format!("{base}/v1/records/{rid}/studies"))
                            .header("authorization", &format!("Bearer {token}"))
                            .header("content-type", "application/dicom")
                            .send(&bytes[..]);
                        let Ok(mut reply) = reply else {
                            unanswered += 1;
                            break;
                        };
                        if !reply.status().is_success() {
                            continue;
                        }
                        let read = reply.body_mut().read_to_vec();
                        let Some(body) = read
                            .ok()
                            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        else {
                            // The head was sent and the body cut: not an acknowledgement
                            // anyone could rely on, but it was durable before the head.
                            continue;
                        };
                        let e = &body["instances"][0];
                        assert_eq!(e["status"], "stored", "{body}");
                        let thing = e["thing_id"].as_str().unwrap();
                        let sop = e["sop_instance_uid"].as_str().unwrap();
                        let blobs = format!("/v1/records/{rid}/things/{thing}/blobs");
                        acked.lock().unwrap().push(Acked {
                            round,
                            file: format!("{blobs}/{sop}"),
                            preview: format!("{blobs}/{sop}.preview.jpg"),
                            bytes,
                        });
                    }
                    unanswered
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(moments.next_ms(150, 900)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            killed_mid_request += c.join().expect("a client thread");
        }
    }

    let mut server = start();
    let all = acked.lock().unwrap();
    check(&server, &token, &all);
    let per_round = all.len() as f64 / f64::from(rounds);
    println!(
        "{rounds} kills, {} instances acknowledged ({per_round:.1} a round), {killed_mid_request} requests cut by a kill",
        all.len()
    );
    assert!(
        all.len() as u32 >= rounds,
        "the load was real: {}",
        all.len()
    );
    assert!(killed_mid_request > 0, "kills landed mid-request");
    assert!(server.stop());
    let fsck = studyvault()
        .arg("fsck")
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "fsck after {rounds} kills:\n{}\n{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
}
