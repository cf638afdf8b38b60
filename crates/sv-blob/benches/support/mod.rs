//! Shared bench helpers: a scratch directory under the target dir and fast pseudo-random bytes.

use std::path::PathBuf;

/// The cargo target directory: the bench binary lives in `<target>/<profile>/deps/`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable path");
    exe.ancestors().nth(3).expect("target dir").to_path_buf()
}

/// A fresh scratch directory under `<target>/sv-blob-bench/` (on disk, not a RAM `/tmp`),
/// removed by the returned guard.
pub fn scratch_dir(name: &str) -> tempfile::TempDir {
    let base = target_dir().join("sv-blob-bench");
    std::fs::create_dir_all(&base).expect("create bench dir");
    tempfile::Builder::new()
        .prefix(name)
        .tempdir_in(base)
        .expect("create scratch dir")
}

/// Fills `buf` with xorshift bytes continuing from `state`: incompressible, cheap, no allocation.
pub fn fill(state: &mut u64, buf: &mut [u8]) {
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    for b in chunks.into_remainder() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *b = *state as u8;
    }
}
