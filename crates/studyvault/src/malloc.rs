//! The server's memory, glibc edition.
//!
//! glibc's malloc raises its mmap threshold to the size of the largest block freed, up to
//! 32 MiB. After the first radiograph (15 MB read, parsed and decoded), its buffers no longer
//! get their own mappings: they are carved from per-thread heaps, which keep the pages once
//! freed. Two radiograph uploads at once then held 222–260 MB resident; with the threshold
//! fixed at 4 MiB, 118–132 MB (`studyvault bench --phases radiograph`). glibc reads the
//! setting from the environment at process start only, so `serve` starts itself again with
//! it set, unless the operator chose a value. The process keeps its id.

/// The variable glibc reads, and the threshold: above a CT slice (0.5 MB) and a preview,
/// below a radiograph or a multi-frame instance.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: (&str, &str) = ("MALLOC_MMAP_THRESHOLD_", "4194304");

/// Replaces this process with itself, the threshold set (returns only if that failed, or
/// was not needed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn fix_mmap_threshold() {
    use std::os::unix::process::CommandExt;
    let (name, value) = MMAP_THRESHOLD;
    if std::env::var_os(name).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(name, value)
        .exec();
    eprintln!("studyvault: could not restart with {name}={value} ({err}); going on without");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn fix_mmap_threshold() {}
