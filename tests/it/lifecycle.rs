//! The server's life: a graceful shutdown (SIGTERM) finishes the upload in flight, which is
//! then durable across a restart; logs carry ids and codes, never patient data.

use std::io::Read;
use std::time::Duration;

use crate::server::{ADMIN, Options, Server, agent, fixture};

/// Hands out the first half, stalls, then the rest: an upload still in flight at SIGTERM.
struct SlowReader {
    bytes: Vec<u8>,
    at: usize,
    stalled: bool,
    stall: Duration,
    /// Told when the first half is out (the request is surely in flight).
    in_flight: Option<std::sync::mpsc::Sender<()>>,
}

impl Read for SlowReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let half = self.bytes.len() / 2;
        if self.at >= half && !self.stalled {
            self.stalled = true;
            if let Some(tx) = self.in_flight.take() {
                let _ = tx.send(());
            }
            std::thread::sleep(self.stall);
        }
        let end = if self.stalled { self.bytes.len() } else { half };
        let n = (end - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn sigterm_finishes_the_upload_in_flight_and_it_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_with(Options {
        data: Some(data.clone()),
        ..Options::default()
    });
    let (rid, token) = server.create_record("Shutdown Person");
    let url = server.url(&format!("/v1/records/{rid}/studies"));
    let ct = fixture("CT_small.dcm");
    let body = ct.clone();
    let auth = format!("Bearer {token}");
    let (tx, in_flight) = std::sync::mpsc::channel();
    let upload = std::thread::spawn(move || {
        let reader = SlowReader {
            bytes: body,
            at: 0,
            stalled: false,
            stall: Duration::from_millis(1500),
            in_flight: Some(tx),
        };
        let mut response = agent()
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/dicom")
            .send(ureq::SendBody::from_owned_reader(reader))
            .expect("the upload in flight is answered");
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    });
    in_flight.recv().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.stop(), "exit 0 after a graceful shutdown");
    let (status, report) = upload.join().unwrap();
    assert_eq!(status, 201, "{report}");
    let logs = server.logs();
    assert!(logs.contains("shutting down"), "{logs}");
    for patient_data in ["CompressedSamples", "CT1", "ABCD1234", ADMIN, &token] {
        assert!(!logs.contains(patient_data), "{patient_data} in the logs");
    }

    let server = Server::start_with(Options {
        data: Some(data),
        ..Options::default()
    });
    let list = server.get(&format!("/v1/records/{rid}/studies"), Some(&token));
    assert_eq!(
        list.json().as_array().unwrap().len(),
        1,
        "durable across the restart"
    );
}

#[test]
fn a_body_that_stalls_past_the_idle_timeout_is_refused_and_the_server_goes_on() {
    let server = Server::start_with(Options {
        env: vec![("STUDYVAULT_BODY_IDLE_TIMEOUT_SECS".into(), "1".into())],
        ..Options::default()
    });
    let (rid, token) = server.create_record("Stalled Upload");
    let reader = SlowReader {
        bytes: fixture("CT_small.dcm"),
        at: 0,
        stalled: false,
        stall: Duration::from_millis(2500),
        in_flight: None,
    };
    let result = agent()
        .post(server.url(&format!("/v1/records/{rid}/studies")))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/dicom")
        .send(ureq::SendBody::from_owned_reader(reader));
    // The server answers (a 4xx) or drops the connection; either way nothing is stored.
    if let Ok(response) = result {
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{status}");
    }
    assert_eq!(server.get("/healthz", None).status, 200);
    let list = server.get(&format!("/v1/records/{rid}/studies"), Some(&token));
    assert_eq!(list.json().as_array().unwrap().len(), 0);
}

/// `serve` starts itself again with glibc's mmap threshold fixed (crates/studyvault/src/malloc.rs),
/// keeping its process id: the running server's own environment carries the setting.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_server_runs_with_glibc_mmap_threshold_fixed() {
    let server = Server::start();
    let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).unwrap();
    assert!(
        environ
            .split(|b| *b == 0)
            .any(|v| v == b"MALLOC_MMAP_THRESHOLD_=4194304"),
        "the server runs without the fixed threshold"
    );
    assert_eq!(server.get("/healthz", None).status, 200);
}
