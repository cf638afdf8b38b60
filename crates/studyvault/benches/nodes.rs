//! Issue 12: CT ingest through one and through two `studyvault serve` nodes on PostgreSQL +
//! S3 (Garage), next to the embedded default (sled + local blobs) in the same run, and the
//! network round trips one new instance costs those nodes.
//!
//! Every deployment is the real binary on 127.0.0.1 with its `STUDYVAULT_*` settings, as the
//! README's "Beyond one machine" runs it. PostgreSQL is `sv_testkit::pg`, which runs with
//! `fsync=off` and `synchronous_commit=off` (set on its command line, so they cannot be turned
//! back on from here): its commits cost no disk flush, where the embedded store's and
//! Garage's do, so the PG + S3 figures are an upper bound. Garage is `sv_testkit::garage`
//! (fsync on), and the embedded store's data directory is under `target/tmp`, on the
//! repository's disk. For 1, 2
//! and 4 clients, every deployment gets the same fresh CT series (512×512 16-bit slices, one
//! per POST), deployment after deployment; over two nodes, client `i` talks to node `i % 2`.
//!
//! Round trips: `strace -f -yy` follows one PG + S3 node while one client ingests a few new
//! slices; the calls on sockets to the PostgreSQL port and to the S3 port are counted per
//! instance (see [`count_trace`] for how). strace slows the node down, so that part counts and
//! never times. Nothing here asserts a timing: it prints the figures.
//!
//! `cargo bench -p studyvault --features s3 --bench nodes` (S3 needs the feature in the
//! binary). `SV_NODES_INSTANCES` (300) sets the slices per step, `SV_NODES_TRACED` (30) the
//! slices traced, and `SV_NODES_TRACE_FILE=<path>` keeps the trace there (strings cut at 96
//! bytes: the SQL of each PostgreSQL request is readable in it).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sv_dicom::synthetic::ct_series_slice;

const ADMIN: &str = "nodes-bench-admin-token-0123456789";
const CLIENTS: [usize; 3] = [1, 2, 4];
/// The round-trip targets of issue 12 for a new instance with its preview.
const PG_TARGET: f64 = 3.0;
const S3_TARGET: f64 = 2.0;

fn main() {
    let instances = count_from_env("SV_NODES_INSTANCES", 300);
    let traced = count_from_env("SV_NODES_TRACED", 30);
    if !cfg!(feature = "s3") {
        println!(
            "nodes: skipped: the PG + S3 deployments need a studyvault built with S3 support; \
             run `cargo bench -p studyvault --features s3 --bench nodes`"
        );
        return;
    }
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&scratch).expect("create target/tmp");
    let work = tempfile::Builder::new()
        .prefix("nodes-bench-")
        .tempdir_in(&scratch)
        .expect("create the bench's directory");

    // Each PG + S3 deployment has a database and a bucket prefix of its own: blobs are
    // content-addressed, and the same slices stored twice in one prefix would be duplicates.
    let (db_one, s3_one) = (sv_testkit::pg::database(), sv_testkit::garage::target());
    let (db_two, s3_two) = (sv_testkit::pg::database(), sv_testkit::garage::target());
    let (pg_port, s3_port) = (port_of(db_one.url()), port_of(&s3_one.endpoint));
    let dir = work.path();
    let deployments = [
        Deployment::start("embedded (sled + local)", &[dir.join("embedded")], &[]),
        Deployment::start(
            "PG + S3, one node",
            &[dir.join("one")],
            &sv_testkit::node_env(&db_one, &s3_one),
        ),
        Deployment::start(
            "PG + S3, two nodes",
            &[dir.join("two-a"), dir.join("two-b")],
            &sv_testkit::node_env(&db_two, &s3_two),
        ),
    ];

    // Every node's pools and connections warm, as a running deployment's are.
    for deployment in &deployments {
        for node in 0..deployment.nodes.len() {
            deployment
                .ingest_through(node, &series(100 + node as u32, 4))
                .unwrap_or_else(|e| panic!("{}: warm-up: {e}", deployment.name));
        }
    }

    println!(
        "CT ingest, instances/s: {instances} synthetic 512x512 16-bit slices per step (fresh \
         UIDs), one per POST /v1/records/{{rid}}/studies, each deployment in turn; the test \
         PostgreSQL runs with fsync off (an upper bound for PG + S3), Garage single node \
         with fsync on, the embedded store fsyncs; all on \
         127.0.0.1 and this machine's {} cores; over two nodes client i talks to node i % 2. \
         CPU: the studyvault processes' own, ms per instance.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut rates = vec![Vec::new(); deployments.len()];
    let mut cpu = vec![Vec::new(); deployments.len()];
    for (step, clients) in CLIENTS.into_iter().enumerate() {
        let slices = series(step as u32 + 1, instances);
        for (d, deployment) in deployments.iter().enumerate() {
            let ticks = deployment.cpu_ticks();
            let rate = deployment
                .ingest(clients, &slices)
                .unwrap_or_else(|e| panic!("{}, {clients} clients: {e}", deployment.name));
            let used = (deployment.cpu_ticks() - ticks) as f64 * 1e3 / ticks_per_second();
            rates[d].push(rate);
            cpu[d].push(used / slices.len() as f64);
        }
    }
    print_table(&deployments, &rates, &cpu);

    println!();
    match find_strace() {
        None => println!("round trips: skipped: strace is not installed (apt-get install strace)"),
        Some(strace) => {
            let node = &deployments[1];
            let slices = series(CLIENTS.len() as u32 + 1, traced);
            match trace(&strace, node, &slices, dir, pg_port, s3_port) {
                Ok(per) => print_round_trips(node.name, traced, &per),
                Err(e) => println!("round trips: skipped: {e}"),
            }
        }
    }
    drop(deployments); // the nodes stop before their databases go
    drop((db_one, db_two));
}

fn count_from_env(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a count")),
        Err(_) => default,
    }
}

/// The port of `scheme://host:port/…`.
fn port_of(url: &str) -> u16 {
    let authority = url.split("://").nth(1).unwrap_or(url);
    let host_port = authority.split('/').next().unwrap_or_default();
    let port = host_port.rsplit(':').next().unwrap_or_default();
    port.parse()
        .unwrap_or_else(|_| panic!("no port in {url:?}"))
}

/// `count` slices of a new series of a new study (UIDs unique to `tag` and this run).
fn series(tag: u32, count: usize) -> Vec<Vec<u8>> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let study = format!("1.2.826.0.1.3680043.8.498.12.{run}.{tag}");
    let series = format!("{study}.1");
    (0..count as u32)
        .map(|i| ct_series_slice(&study, &series, i))
        .collect()
}

/// One `studyvault serve` on 127.0.0.1, killed on drop.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(data: &Path, env: &[(String, String)]) -> Node {
        std::fs::create_dir_all(data).expect("create a data directory");
        let log = data.with_extension("log");
        let log_file = std::fs::File::create(&log).expect("create a log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_studyvault"));
        for (name, _) in std::env::vars() {
            if name.starts_with("STUDYVAULT_") {
                cmd.env_remove(name);
            }
        }
        let mut child = cmd
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .env("STUDYVAULT_ADMIN_TOKEN", ADMIN)
            .env("STUDYVAULT_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("start studyvault serve");
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("studyvault listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "studyvault serve exited before listening:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        // Drained, so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        Node { child, base }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU of every thread, in clock ticks (`/proc/<pid>/stat`).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("read the node's /proc stat");
        let after_name = stat.rsplit(')').next().unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15; fields[0] is field 3 (the state).
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ticks_per_second() -> f64 {
    // Linux reports 100 ticks per second (USER_HZ) on every architecture it runs this on.
    100.0
}

fn agent() -> ureq::Agent {
    // Per-phase timeouts only: a global one makes ureq resolve the host on a thread of its
    // own for every request.
    let timeout = Some(Duration::from_secs(120));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_send_request(timeout)
        .timeout_send_body(timeout)
        .timeout_recv_response(timeout)
        .timeout_recv_body(timeout)
        .build()
        .into()
}

/// `POST url` with a bearer token; the status and the body as text.
fn post(agent: &ureq::Agent, url: &str, token: &str, kind: &str, body: &[u8]) -> (u16, String) {
    let mut response = agent
        .post(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", kind)
        .send(body)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let mut text = String::new();
    let _ = response.body_mut().as_reader().read_to_string(&mut text);
    (status, text)
}

/// Nodes that share their stores (or one embedded node), with one record to ingest into.
struct Deployment {
    name: &'static str,
    nodes: Vec<Node>,
    rid: String,
    owner: String,
}

impl Deployment {
    fn start(name: &'static str, data: &[PathBuf], env: &[(String, String)]) -> Deployment {
        let nodes: Vec<Node> = data.iter().map(|d| Node::start(d, env)).collect();
        let url = format!("{}/v1/records", nodes[0].base);
        let body = format!(r#"{{"name": "Nodes Bench {}"}}"#, nodes.len());
        let (status, text) = post(&agent(), &url, ADMIN, "application/json", body.as_bytes());
        assert_eq!(status, 201, "{name}: create a record: {text}");
        let record: serde_json::Value = serde_json::from_str(&text).expect("a JSON record");
        let field = |k: &str| record[k].as_str().expect("id and token").to_owned();
        Deployment {
            name,
            rid: field("id"),
            owner: field("token"),
            nodes,
        }
    }

    fn cpu_ticks(&self) -> u64 {
        self.nodes.iter().map(Node::cpu_ticks).sum()
    }

    /// Sends every slice with `clients` parallel clients, client `i` to node `i % nodes`;
    /// instances per second.
    fn ingest(&self, clients: usize, slices: &[Vec<u8>]) -> Result<f64, String> {
        self.run(clients, slices, 0)
    }

    /// Sends every slice through node `node` with one client.
    fn ingest_through(&self, node: usize, slices: &[Vec<u8>]) -> Result<f64, String> {
        self.run(1, slices, node)
    }

    /// Client `i` talks to node `(first + i) % nodes`.
    fn run(&self, clients: usize, slices: &[Vec<u8>], first: usize) -> Result<f64, String> {
        let next = AtomicUsize::new(0);
        let failure = Mutex::new(None);
        let started = Instant::now();
        std::thread::scope(|s| {
            for c in 0..clients {
                let (next, failure) = (&next, &failure);
                let node = &self.nodes[(first + c) % self.nodes.len()];
                let url = format!("{}/v1/records/{}/studies", node.base, self.rid);
                s.spawn(move || {
                    let agent = agent();
                    while let Some(bytes) = slices.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let (status, text) =
                            post(&agent, &url, &self.owner, "application/dicom", bytes);
                        if !(200..300).contains(&status) || !text.contains(r#""stored""#) {
                            *failure.lock().unwrap() = Some(format!("{status}: {text}"));
                            next.store(slices.len(), Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let elapsed = started.elapsed().as_secs_f64();
        match failure.into_inner().unwrap() {
            Some(e) => Err(e),
            None => Ok(slices.len() as f64 / elapsed),
        }
    }
}

fn print_table(deployments: &[Deployment], rates: &[Vec<f64>], cpu: &[Vec<f64>]) {
    let heads: Vec<String> = CLIENTS
        .iter()
        .map(|c| format!("{c} client{}", if *c == 1 { "" } else { "s" }))
        .collect();
    println!(
        "{:<26}{:>11}{:>11}{:>11}   {:>22}",
        "deployment", heads[0], heads[1], heads[2], "CPU ms/inst (1/2/4)"
    );
    for (d, deployment) in deployments.iter().enumerate() {
        let cpu = cpu[d]
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(" / ");
        print!("{:<26}", deployment.name);
        for rate in &rates[d] {
            print!("{rate:>11.1}");
        }
        println!("   {cpu:>22}");
    }
    let ratio = |d: usize| {
        rates[d]
            .iter()
            .zip(&rates[0])
            .map(|(r, e)| format!("{:.2}", r / e))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!(
        "against embedded (1/2/4 clients): one node {}, two nodes {}",
        ratio(1),
        ratio(2)
    );
}

/// The `strace` executable, if installed.
fn find_strace() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("strace"))
        .find(|p| p.is_file())
}

/// Per-instance network figures towards one server port.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct PerInstance {
    round_trips: f64,
    sends: f64,
    connects: f64,
}

/// Follows the first node of `deployment` with strace while one client ingests `slices`;
/// per-instance figures towards PostgreSQL and towards S3.
fn trace(
    strace: &Path,
    deployment: &Deployment,
    slices: &[Vec<u8>],
    dir: &Path,
    pg_port: u16,
    s3_port: u16,
) -> Result<[PerInstance; 2], String> {
    let node = &deployment.nodes[0];
    let out = dir.join("node.strace");
    let mut tracer = Command::new(strace)
        .args(["-f", "-qq", "-yy", "-s", "96", "-e"])
        .arg("trace=sendto,write,writev,sendmsg,read,readv,recvfrom,recvmsg,connect")
        .arg("-o")
        .arg(&out)
        .arg("-p")
        .arg(node.pid().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start strace: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !every_thread_traced(node.pid()) {
        if Instant::now() > deadline || matches!(tracer.try_wait(), Ok(Some(_))) {
            let _ = tracer.kill();
            let _ = tracer.wait();
            return Err(format!(
                "strace did not attach to process {} (is ptrace allowed? see \
                 /proc/sys/kernel/yama/ptrace_scope)",
                node.pid()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let ingested = deployment.ingest(1, slices);
    // Whatever the node does right after answering belongs to the instance too.
    std::thread::sleep(Duration::from_millis(300));
    // SIGINT: strace detaches and flushes its output.
    let _ = Command::new("kill")
        .args(["-INT", &tracer.id().to_string()])
        .status();
    let _ = tracer.wait();
    ingested?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("read the trace: {e}"))?;
    match std::env::var_os("SV_NODES_TRACE_FILE") {
        Some(keep) => std::fs::rename(&out, keep).map_err(|e| format!("keep the trace: {e}"))?,
        None => std::fs::remove_file(&out).map_err(|e| format!("remove the trace: {e}"))?,
    }
    let totals = count_trace(&text, &[pg_port, s3_port]);
    let n = slices.len().max(1) as f64;
    Ok([0, 1].map(|i| PerInstance {
        round_trips: totals[i].round_trips as f64 / n,
        sends: totals[i].sends as f64 / n,
        connects: totals[i].connects as f64 / n,
    }))
}

fn every_thread_traced(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("status")).is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("TracerPid:"))
                .is_some_and(|v| v.trim() != "0")
        })
    })
}

/// Calls on sockets to one server port, in a whole trace.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Totals {
    round_trips: usize,
    sends: usize,
    connects: usize,
}

/// Counts a trace written with `-f -yy`, whose socket descriptors read
/// `12<TCP:[127.0.0.1:50486->127.0.0.1:5432]>`, for each of `ports` (the remote side):
///
/// - `sends`: successful send calls (`sendto`, `write`, `writev`, `sendmsg`);
/// - `round_trips`: requests, a request being the sends on one connection up to the first
///   bytes read back on it (a message written in two calls, or pipelined messages sent
///   before any answer, count once): PostgreSQL's protocol and HTTP answer every request,
///   so this is the number of times the node waits for the server;
/// - `connects`: new connections.
///
/// A call that two threads interleave is printed in two halves (`<unfinished ...>` and
/// `<... call resumed>`): the descriptor is in the first, the result in the second.
fn count_trace(trace: &str, ports: &[u16]) -> Vec<Totals> {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Send,
        Read,
        Connect,
    }
    let mut totals = vec![Totals::default(); ports.len()];
    let mut awaiting_answer: HashMap<String, bool> = HashMap::new();
    // Unfinished calls by thread: (port index, connection, kind).
    let mut pending: HashMap<String, (usize, String, Kind)> = HashMap::new();
    for line in trace.lines() {
        let Some((tid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let (call, result) = if rest.starts_with("<... ") {
            match pending.remove(tid) {
                Some(call) => (call, rest.rsplit_once(") = ").map(|(_, r)| r)),
                None => continue,
            }
        } else {
            let Some((name, args)) = rest.split_once('(') else {
                continue;
            };
            let kind = match name {
                "sendto" | "write" | "writev" | "sendmsg" => Kind::Send,
                "read" | "readv" | "recvfrom" | "recvmsg" => Kind::Read,
                "connect" => Kind::Connect,
                _ => continue,
            };
            let Some(connection) = tcp_connection(args) else {
                continue;
            };
            let Some(port) = ports
                .iter()
                .position(|p| connection.ends_with(&format!("->127.0.0.1:{p}")))
            else {
                continue;
            };
            let call = (port, connection.to_owned(), kind);
            if rest.ends_with("<unfinished ...>") {
                pending.insert(tid.to_owned(), call);
                continue;
            }
            (call, rest.rsplit_once(") = ").map(|(_, r)| r))
        };
        let (port, connection, kind) = call;
        let result = result.unwrap_or("-1");
        let t = &mut totals[port];
        match kind {
            // A non-blocking connect answers EINPROGRESS: it is a connection all the same.
            Kind::Connect => t.connects += 1,
            _ if result.starts_with('-') || result.starts_with('?') => {}
            Kind::Send => {
                t.sends += 1;
                let awaiting = awaiting_answer.entry(connection).or_default();
                if !*awaiting {
                    t.round_trips += 1;
                    *awaiting = true;
                }
            }
            Kind::Read => {
                if !result.starts_with("0 ") && result != "0" {
                    awaiting_answer.insert(connection, false);
                }
            }
        }
    }
    totals
}

/// `127.0.0.1:50486->127.0.0.1:5432` out of the first argument `12<TCP:[…]>`.
fn tcp_connection(args: &str) -> Option<&str> {
    let start = args.find("<TCP:[")? + "<TCP:[".len();
    let end = start + args[start..].find("]>")?;
    Some(&args[start..end])
}

fn print_round_trips(node: &str, instances: usize, per: &[PerInstance; 2]) {
    println!(
        "Round trips per new instance with its preview: `strace -f -yy` on the node of \"{node}\" \
         while 1 client ingests {instances} new slices. A round trip is a request: the sends \
         on one connection up to the first bytes read back (a message written in two calls \
         counts once); all the node's traffic is counted, background work included."
    );
    println!(
        "{:<12}{:>13}{:>8}{:>13}{:>16}",
        "to", "round trips", "target", "send calls", "new connections"
    );
    for ((name, target), p) in [("PostgreSQL", PG_TARGET), ("S3 (Garage)", S3_TARGET)]
        .into_iter()
        .zip(per)
    {
        let verdict = if p.round_trips <= target + 1e-9 {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "{name:<12}{:>13.2}{:>8}{:>13.2}{:>16.2}  {verdict}",
            p.round_trips,
            format!("<= {target}"),
            p.sends,
            p.connects
        );
    }
}
