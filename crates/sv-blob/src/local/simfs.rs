//! Test builds only: a simulated file system in memory that can lose power.
//!
//! Every file has its current bytes and its durable bytes; every directory its current entries
//! (name -> inode) and its durable entries. `sync_data` makes a file's bytes and size durable
//! (fdatasync, as Linux does it); `sync_dir` makes a directory's entries durable, so a created,
//! renamed, linked or unlinked name is durable only once the directory holding it is synced.
//! A power loss ([`SimFs::crash_after`]) keeps only what is durable: the directory tree of
//! durable entries from the root, each file reached with its durable bytes. In the torn mode
//! ([`SimFs::torn`]) a file whose current bytes extend its durable ones also keeps a random
//! prefix of the extension, as a write cut short by the power loss would, and half the time a
//! random run of that kept prefix reads as zeros (the size reached the disk before the data).
//!
//! Mutating calls are numbered; `crash_after(k)` loses power just before call `k + 1`, which
//! fails, as does every call after it until [`SimFs::reboot`]. A process kill
//! ([`SimFs::kill_at`]) fails the next sync of one site and every call after it, keeping
//! everything (the page cache survives a killed process) until [`SimFs::revive`]. A disabled
//! site ([`SimFs::disable`]) syncs nothing: the fault switch that proves each sync is needed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::fs::{Entry, FileRef, Fs, FsFile, LockGuard, Open, Site};

type Ino = u64;

const ROOT: Ino = 0;

#[derive(Debug, Clone)]
enum Node {
    File {
        data: Vec<u8>,
        durable: Vec<u8>,
    },
    Dir {
        entries: BTreeMap<OsString, Ino>,
        durable: BTreeMap<OsString, Ino>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Running,
    /// The process was killed: every call fails; the state is kept.
    Killed,
    /// The power went: every call fails; `image` is what survives.
    Crashed,
}

#[derive(Debug)]
struct Sim {
    nodes: HashMap<Ino, Node>,
    next_ino: Ino,
    mode: Mode,
    image: Option<HashMap<Ino, Node>>,
    /// Mutating calls made so far.
    ops: u64,
    crash_after: Option<u64>,
    kill_at: Option<Site>,
    disabled: HashSet<Site>,
    /// Xorshift state of the torn mode.
    torn: Option<u64>,
    locks: HashSet<PathBuf>,
    /// With [`SimFs::record`]: each mutating call, numbered, for a failing test to print.
    log: Option<Vec<String>>,
}

/// The simulated file system; clones share it.
#[derive(Clone)]
pub(crate) struct SimFs(Arc<Mutex<Sim>>);

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimFs")
    }
}

fn gone() -> io::Error {
    io::Error::other("simulated power loss or kill")
}

fn not_found() -> io::Error {
    io::ErrorKind::NotFound.into()
}

fn names(path: &Path) -> Vec<&OsStr> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

impl Sim {
    /// Logs the mutating call just made, when recording.
    fn note(&mut self, what: impl FnOnce() -> String) {
        let ops = self.ops;
        if let Some(log) = &mut self.log {
            log.push(format!("{ops}: {}", what()));
        }
    }

    /// Accounts for one call: fails once killed or crashed; loses power at the chosen point.
    fn step(&mut self, mutates: bool) -> io::Result<()> {
        if self.mode != Mode::Running {
            return Err(gone());
        }
        if mutates {
            if self.crash_after == Some(self.ops) {
                self.image = Some(self.survivors());
                self.mode = Mode::Crashed;
                return Err(gone());
            }
            self.ops += 1;
        }
        Ok(())
    }

    /// The sync at `site`: false when it must do nothing (disabled); fails at a kill point.
    fn sync_step(&mut self, site: Site) -> io::Result<bool> {
        self.step(true)?;
        if self.kill_at == Some(site) {
            self.kill_at = None;
            self.mode = Mode::Killed;
            return Err(gone());
        }
        Ok(!self.disabled.contains(&site))
    }

    /// What a power loss now leaves: durable entries from the root, durable bytes.
    fn survivors(&mut self) -> HashMap<Ino, Node> {
        let mut out = HashMap::new();
        let mut torn = self.torn;
        let mut todo = vec![ROOT];
        while let Some(ino) = todo.pop() {
            if out.contains_key(&ino) {
                continue; // a second link to a file already kept
            }
            let kept = match &self.nodes[&ino] {
                Node::Dir { durable, .. } => {
                    todo.extend(durable.values().copied());
                    Node::Dir {
                        entries: durable.clone(),
                        durable: durable.clone(),
                    }
                }
                Node::File { data, durable } => {
                    let (data, mut keep) = (data, durable.len());
                    let extends = data.len() > keep && data.starts_with(durable);
                    let mut hole = 0..0;
                    if let Some(state) = torn.as_mut()
                        && extends
                    {
                        let mut next = |below: usize| {
                            *state ^= *state << 13;
                            *state ^= *state >> 7;
                            *state ^= *state << 17;
                            (*state % below as u64) as usize
                        };
                        let from = keep;
                        keep += next(data.len() - keep + 1);
                        // Half the time the size reached the disk before some of the bytes:
                        // a run of the kept tail reads as zeros.
                        if keep > from && next(2) == 0 {
                            let start = from + next(keep - from);
                            hole = start..start + next(keep - start) + 1;
                        }
                    }
                    let mut kept = if keep == durable.len() {
                        durable.clone()
                    } else {
                        data[..keep].to_vec()
                    };
                    kept[hole].fill(0);
                    Node::File {
                        data: kept.clone(),
                        durable: kept,
                    }
                }
            };
            out.insert(ino, kept);
        }
        self.torn = torn;
        out
    }

    fn dir(&self, ino: Ino) -> io::Result<&BTreeMap<OsString, Ino>> {
        match &self.nodes[&ino] {
            Node::Dir { entries, .. } => Ok(entries),
            Node::File { .. } => Err(io::Error::other("not a directory")),
        }
    }

    fn dir_mut(&mut self, ino: Ino) -> io::Result<&mut BTreeMap<OsString, Ino>> {
        match self.nodes.get_mut(&ino).expect("inode exists") {
            Node::Dir { entries, .. } => Ok(entries),
            Node::File { .. } => Err(io::Error::other("not a directory")),
        }
    }

    fn lookup(&self, path: &Path) -> io::Result<Ino> {
        let mut ino = ROOT;
        for name in names(path) {
            ino = *self.dir(ino)?.get(name).ok_or_else(not_found)?;
        }
        Ok(ino)
    }

    /// The directory holding `path`, and the last name.
    fn parent(&self, path: &Path) -> io::Result<(Ino, OsString)> {
        let parent = path.parent().ok_or_else(not_found)?;
        let name = path.file_name().ok_or_else(not_found)?;
        Ok((self.lookup(parent)?, name.to_os_string()))
    }

    fn new_node(&mut self, node: Node) -> Ino {
        self.next_ino += 1;
        self.nodes.insert(self.next_ino, node);
        self.next_ino
    }

    fn file(&mut self, ino: Ino) -> io::Result<(&mut Vec<u8>, &mut Vec<u8>)> {
        match self.nodes.get_mut(&ino) {
            Some(Node::File { data, durable }) => Ok((data, durable)),
            _ => Err(io::Error::other("not a file")),
        }
    }

    fn create_file(&mut self, path: &Path, exclusive: bool) -> io::Result<Ino> {
        let (dir, name) = self.parent(path)?;
        if let Some(ino) = self.dir(dir)?.get(&name) {
            return if exclusive {
                Err(io::ErrorKind::AlreadyExists.into())
            } else {
                Ok(*ino)
            };
        }
        self.step(true)?;
        self.note(|| format!("create {path:?}"));
        let ino = self.new_node(Node::File {
            data: Vec::new(),
            durable: Vec::new(),
        });
        self.dir_mut(dir)?.insert(name, ino);
        Ok(ino)
    }
}

impl SimFs {
    /// An empty file system whose root is durable.
    pub(crate) fn new() -> SimFs {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node::Dir {
                entries: BTreeMap::new(),
                durable: BTreeMap::new(),
            },
        );
        SimFs(Arc::new(Mutex::new(Sim {
            nodes,
            next_ino: ROOT,
            mode: Mode::Running,
            image: None,
            ops: 0,
            crash_after: None,
            kill_at: None,
            disabled: HashSet::new(),
            torn: None,
            locks: HashSet::new(),
            log: None,
        })))
    }

    fn sim(&self) -> MutexGuard<'_, Sim> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates the directory `path` (its parent exists) and makes its entry durable: where a
    /// test puts its store root.
    pub(crate) fn mkdir_durable(&self, path: &Path) {
        self.create_dir(path).expect("mkdir");
        let mut sim = self.sim();
        let (dir, _) = sim.parent(path).expect("parent");
        if let Node::Dir { entries, durable } = sim.nodes.get_mut(&dir).expect("dir") {
            *durable = entries.clone();
        }
    }

    /// Creates the file `path` holding `bytes`, all durable: a root an older version left.
    pub(crate) fn write_durable(&self, path: &Path, bytes: &[u8]) {
        let file = self.open(path, Open::CreateNew).expect("create");
        super::fs::write_all_at(&*file, bytes, 0).expect("write");
        file.sync_data(Site::LayoutFile).expect("sync");
        let mut sim = self.sim();
        let (dir, _) = sim.parent(path).expect("parent");
        if let Node::Dir { entries, durable } = sim.nodes.get_mut(&dir).expect("dir") {
            *durable = entries.clone();
        }
    }

    /// Loses power just before mutating call `k + 1` (calls are counted from now).
    pub(crate) fn crash_after(&self, k: u64) {
        let mut sim = self.sim();
        sim.ops = 0;
        sim.crash_after = Some(k);
    }

    /// Crashes keep a random prefix of the bytes appended to a file since its last sync, half
    /// the time with a run of zeros in it.
    pub(crate) fn torn(&self, seed: u64) {
        self.sim().torn = Some(seed | 1);
    }

    /// Kills the process at the next sync of `site`: it fails, and so does every call after
    /// it until [`SimFs::revive`].
    pub(crate) fn kill_at(&self, site: Site) {
        self.sim().kill_at = Some(site);
    }

    /// Turns the syncs of `site` into no-ops.
    pub(crate) fn disable(&self, site: Site) {
        self.sim().disabled.insert(site);
    }

    /// Keeps a log of the mutating calls from now on ([`SimFs::log`]).
    pub(crate) fn record(&self) {
        self.sim().log = Some(Vec::new());
    }

    /// The mutating calls made since [`SimFs::record`].
    pub(crate) fn log(&self) -> Vec<String> {
        self.sim().log.clone().unwrap_or_default()
    }

    /// Mutating calls made since `crash_after` (or since the start).
    pub(crate) fn ops(&self) -> u64 {
        self.sim().ops
    }

    /// True once the power went.
    pub(crate) fn crashed(&self) -> bool {
        self.sim().mode == Mode::Crashed
    }

    /// After a kill: the process starts again on the same (page-cache) state.
    pub(crate) fn revive(&self) {
        let mut sim = self.sim();
        assert_eq!(sim.mode, Mode::Killed, "revive after a kill");
        sim.mode = Mode::Running;
    }

    /// After a power loss: the machine starts again on what survived; no more crash points,
    /// kill points or disabled syncs.
    pub(crate) fn reboot(&self) {
        let mut sim = self.sim();
        if let Some(image) = sim.image.take() {
            sim.nodes = image;
        }
        sim.mode = Mode::Running;
        sim.crash_after = None;
        sim.kill_at = None;
        sim.disabled.clear();
    }

    /// Removes `path` durably, as damage from outside the store would.
    pub(crate) fn remove_durable(&self, path: &Path) {
        let mut sim = self.sim();
        let (dir, name) = sim.parent(path).expect("parent");
        if let Node::Dir { entries, durable } = sim.nodes.get_mut(&dir).expect("dir") {
            entries.remove(&name);
            durable.remove(&name);
        }
    }
}

impl Fs for SimFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut at = PathBuf::from("/");
        for name in names(path) {
            at.push(name);
            match self.create_dir(&at) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.step(false)?;
        let (dir, name) = sim.parent(path)?;
        if sim.dir(dir)?.contains_key(&name) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        sim.step(true)?;
        sim.note(|| format!("mkdir {path:?}"));
        let ino = sim.new_node(Node::Dir {
            entries: BTreeMap::new(),
            durable: BTreeMap::new(),
        });
        sim.dir_mut(dir)?.insert(name, ino);
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> bool {
        let sim = self.sim();
        sim.lookup(path)
            .is_ok_and(|ino| matches!(sim.nodes[&ino], Node::Dir { .. }))
    }

    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef> {
        let mut sim = self.sim();
        sim.step(false)?;
        let ino = match how {
            Open::Read | Open::Write => sim.lookup(path)?,
            Open::CreateNew => sim.create_file(path, true)?,
        };
        sim.file(ino)?;
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
        }))
    }

    fn try_lock(&self, path: &Path) -> Result<LockGuard, std::fs::TryLockError> {
        let mut sim = self.sim();
        sim.step(false)
            .and_then(|()| sim.create_file(path, false))
            .map_err(std::fs::TryLockError::Error)?;
        if !sim.locks.insert(path.to_path_buf()) {
            return Err(std::fs::TryLockError::WouldBlock);
        }
        Ok(LockGuard(Box::new(SimLock {
            fs: self.clone(),
            path: path.to_path_buf(),
        })))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<Entry>> {
        let mut sim = self.sim();
        sim.step(false)?;
        let ino = sim.lookup(path)?;
        let entries = sim.dir(ino)?;
        Ok(entries
            .iter()
            .map(|(name, ino)| Entry {
                name: name.clone(),
                is_dir: matches!(sim.nodes[ino], Node::Dir { .. }),
            })
            .collect())
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        let mut sim = self.sim();
        sim.step(false)?;
        let ino = sim.lookup(path)?;
        Ok(sim.file(ino)?.0.len() as u64)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut sim = self.sim();
        sim.step(false)?;
        let ino = sim.lookup(path)?;
        Ok(sim.file(ino)?.0.clone())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.step(false)?;
        let (from_dir, from_name) = sim.parent(from)?;
        let (to_dir, to_name) = sim.parent(to)?;
        let ino = *sim.dir(from_dir)?.get(&from_name).ok_or_else(not_found)?;
        sim.step(true)?;
        sim.note(|| format!("rename {from:?} -> {to:?}"));
        sim.dir_mut(from_dir)?.remove(&from_name);
        sim.dir_mut(to_dir)?.insert(to_name, ino);
        Ok(())
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.step(false)?;
        let ino = sim.lookup(from)?;
        let (to_dir, to_name) = sim.parent(to)?;
        if sim.dir(to_dir)?.contains_key(&to_name) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        sim.step(true)?;
        sim.note(|| format!("link {from:?} -> {to:?}"));
        sim.dir_mut(to_dir)?.insert(to_name, ino);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.step(false)?;
        let (dir, name) = sim.parent(path)?;
        if !sim.dir(dir)?.contains_key(&name) {
            return Err(not_found());
        }
        sim.step(true)?;
        sim.note(|| format!("unlink {path:?}"));
        sim.dir_mut(dir)?.remove(&name);
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        // The entry goes, and with it (once durable) everything under it.
        self.remove_file(path)
    }

    fn sync_dir(&self, path: &Path, site: Site) -> io::Result<()> {
        let mut sim = self.sim();
        let ino = sim.lookup(path)?;
        let synced = sim.sync_step(site)?;
        sim.note(|| format!("fsync dir {path:?} {site:?} synced={synced}"));
        if synced && let Some(Node::Dir { entries, durable }) = sim.nodes.get_mut(&ino) {
            *durable = entries.clone();
        }
        Ok(())
    }
}

/// The lock of a store root; released when the store drops it.
struct SimLock {
    fs: SimFs,
    path: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.fs.sim().locks.remove(&self.path);
    }
}

/// An open file: its inode, which outlives its names.
struct SimFile {
    fs: SimFs,
    ino: Ino,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SimFile({})", self.ino)
    }
}

impl FsFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut sim = self.fs.sim();
        sim.step(false)?;
        let (data, _) = sim.file(self.ino)?;
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let mut sim = self.fs.sim();
        sim.step(true)?;
        let ino = self.ino;
        sim.note(|| format!("write ino {ino} {offset}+{}", buf.len()));
        let (data, _) = sim.file(self.ino)?;
        let end = offset as usize + buf.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[offset as usize..end].copy_from_slice(buf);
        Ok(buf.len())
    }

    fn len(&self) -> io::Result<u64> {
        let mut sim = self.fs.sim();
        sim.step(false)?;
        Ok(sim.file(self.ino)?.0.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut sim = self.fs.sim();
        sim.step(true)?;
        let ino = self.ino;
        sim.note(|| format!("set_len ino {ino} {len}"));
        sim.file(self.ino)?.0.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&self, site: Site) -> io::Result<()> {
        let mut sim = self.fs.sim();
        let synced = sim.sync_step(site)?;
        let ino = self.ino;
        sim.note(|| format!("fdatasync ino {ino} {site:?} synced={synced}"));
        if synced {
            let (data, durable) = sim.file(self.ino)?;
            *durable = data.clone();
        }
        Ok(())
    }
}
