//! What one ingested instance costs the file system, counted the same way for every server:
//! `strace` follows the running server (every thread) while one client ingests a few CT
//! slices, and the trace's file-system calls are counted per instance.
//!
//! Counted: files created (`open` with `O_CREAT` of a new file), directories made, data syncs
//! of files (`fsync`, `fdatasync`), syncs of directories (an `fsync` whose descriptor is a
//! directory), `sync_file_range` calls, renames and links, and unlinks. strace slows the
//! server down, so this phase measures counts, never rates.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::load::{self, Target};
use super::servers::Server;
use super::synth::CtSeries;

/// Per-instance counts of one server.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub instances: usize,
    pub files_created: f64,
    pub dirs_created: f64,
    pub file_syncs: f64,
    pub dir_syncs: f64,
    pub sync_file_range: f64,
    pub renames_links: f64,
    pub unlinks: f64,
}

/// The `strace` executable, if installed.
pub fn find_strace() -> Option<PathBuf> {
    super::servers::find_on_path("strace", &["/usr/bin"])
}

/// Traces `server` while `instances` fresh CT slices are ingested through `target` by one
/// client, and counts per instance.
pub fn count(
    strace: &Path,
    server: &Server,
    target: &Target,
    instances: usize,
    scratch: &Path,
) -> anyhow::Result<Counts> {
    let mut series = CtSeries::new()?;
    let slices: Vec<Vec<u8>> = (0..instances).map(|_| series.next_slice().1).collect();
    let out = scratch.join(format!("{}.strace", server.name.replace(' ', "-")));
    let tracer = Tracer::attach(strace, server.pid(), &out)?;
    load::ingest(target, 1, &slices)?;
    // Whatever the server does after answering (a pin released, a log line) belongs to the
    // instance too.
    std::thread::sleep(Duration::from_millis(200));
    tracer.detach()?;
    let counts = parse(&out, instances)?;
    let _ = std::fs::remove_file(&out);
    Ok(counts)
}

/// A running `strace -f -p`, stopped (detaching) on drop.
struct Tracer {
    child: Child,
}

impl Tracer {
    fn attach(strace: &Path, pid: u32, out: &Path) -> anyhow::Result<Tracer> {
        let child = Command::new(strace)
            .args(["-f", "-qq", "-y", "-e"])
            .arg(
                "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,\
                 unlink,unlinkat,fsync,fdatasync,sync_file_range",
            )
            .arg("-o")
            .arg(out)
            .arg("-p")
            .arg(pid.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start strace")?;
        let tracer = Tracer { child };
        // Attached once every thread of the server names a tracer.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all_threads_traced(pid) {
            if Instant::now() > deadline {
                bail!(
                    "strace did not attach to process {pid} (is ptrace allowed? see \
                     /proc/sys/kernel/yama/ptrace_scope)"
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(tracer)
    }

    fn detach(mut self) -> anyhow::Result<()> {
        // SIGINT: strace detaches and flushes its output.
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .context("could not signal strace")?;
        if !status.success() {
            bail!("could not stop strace");
        }
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn all_threads_traced(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("TracerPid:"))
                    .map(|v| v.trim() != "0")
            })
            .unwrap_or(false)
    })
}

/// Counts a trace written with `-f -y`: lines `<tid> <call>(<args>) = <result>`, split into
/// `<unfinished ...>` and `<... call resumed>` halves when threads interleave.
fn parse(trace: &Path, instances: usize) -> anyhow::Result<Counts> {
    let file = std::fs::File::open(trace)
        .with_context(|| format!("could not read the trace {}", trace.display()))?;
    let mut calls: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut add = |k: &'static str| *calls.entry(k).or_default() += 1;
    // A call split in two is counted from its first half, and only creations that succeed
    // count: an unfinished `open` is remembered by thread until its result comes.
    let mut unfinished_creates: BTreeMap<String, bool> = BTreeMap::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        let Some((tid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            if resumed.starts_with("open")
                && unfinished_creates.remove(tid) == Some(true)
                && succeeded(resumed)
            {
                add("files_created");
            }
            continue;
        }
        let Some((name, args)) = rest.split_once('(') else {
            continue;
        };
        let unfinished = rest.ends_with("<unfinished ...>");
        match name {
            "open" | "openat" | "creat" => {
                // O_EXCL or a new name: O_CREAT alone may open a file that exists, which
                // `-y` cannot tell; count O_CREAT opens, as both servers create this way.
                let creates = name == "creat" || args.contains("O_CREAT");
                if unfinished {
                    unfinished_creates.insert(tid.to_owned(), creates);
                } else if creates && succeeded(rest) {
                    add("files_created");
                }
            }
            "mkdir" | "mkdirat" => add("dirs_created"),
            "fsync" | "fdatasync" => {
                if fd_path(args).is_some_and(|p| Path::new(p).is_dir()) {
                    add("dir_syncs");
                } else {
                    add("file_syncs");
                }
            }
            "sync_file_range" => add("sync_file_range"),
            "rename" | "renameat" | "renameat2" | "link" | "linkat" => add("renames_links"),
            "unlink" | "unlinkat" => add("unlinks"),
            _ => {}
        }
    }
    let per = |k: &str| calls.get(k).copied().unwrap_or(0) as f64 / instances.max(1) as f64;
    Ok(Counts {
        instances,
        files_created: per("files_created"),
        dirs_created: per("dirs_created"),
        file_syncs: per("file_syncs"),
        dir_syncs: per("dir_syncs"),
        sync_file_range: per("sync_file_range"),
        renames_links: per("renames_links"),
        unlinks: per("unlinks"),
    })
}

/// Whether a finished call's result is not an error (`= -1 ENOENT ...`).
fn succeeded(line: &str) -> bool {
    line.rsplit_once(" = ")
        .is_some_and(|(_, result)| !result.starts_with('-'))
}

/// The path `-y` prints after the first descriptor argument: `7</data/blobs/segments>`.
fn fd_path(args: &str) -> Option<&str> {
    let start = args.find('<')? + 1;
    let end = start + args[start..].find('>')?;
    Some(&args[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_is_counted_per_instance() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let trace = format!(
            "10 openat(AT_FDCWD</>, \"{d}/a.tmp\", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 7<{d}/a.tmp>\n\
             10 openat(AT_FDCWD</>, \"{d}/x\", O_RDONLY|O_CLOEXEC) = 8<{d}/x>\n\
             11 openat(AT_FDCWD</>, \"{d}/b\", O_WRONLY|O_CREAT|O_TRUNC, 0666 <unfinished ...>\n\
             10 fdatasync(7<{d}/a.tmp>) = 0\n\
             11 <... openat resumed>) = 9<{d}/b>\n\
             10 fsync(5<{d}>) = 0\n\
             10 renameat(AT_FDCWD</>, \"{d}/a.tmp\", AT_FDCWD</>, \"{d}/a\") = 0\n\
             10 openat(AT_FDCWD</>, \"{d}/c\", O_WRONLY|O_CREAT, 0666) = -1 EACCES (Permission denied)\n\
             10 mkdir(\"{d}/ab\", 0777) = 0\n\
             10 sync_file_range(9<{d}/b>, 0, 4096, SYNC_FILE_RANGE_WRITE) = 0\n\
             10 unlinkat(AT_FDCWD</>, \"{d}/b\", 0) = 0\n"
        );
        let path = dir.path().join("t.strace");
        std::fs::write(&path, trace).unwrap();
        let c = parse(&path, 2).unwrap();
        assert_eq!(
            c.files_created, 1.0,
            "a.tmp and b created; x opened, c refused"
        );
        assert_eq!(c.file_syncs, 0.5);
        assert_eq!(c.dir_syncs, 0.5, "the directory's fsync is told apart");
        assert_eq!(c.renames_links, 0.5);
        assert_eq!(c.dirs_created, 0.5);
        assert_eq!(c.sync_file_range, 0.5);
        assert_eq!(c.unlinks, 0.5);
    }
}
