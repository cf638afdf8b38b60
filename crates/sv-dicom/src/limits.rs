//! Configurable bounds checked before anything is decoded (no decompression bombs).

/// Bounds on one instance. Every field is configuration; [`Limits::default`] suits a personal record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of the whole instance in bytes.
    pub max_instance_bytes: u64,
    /// Maximum Rows × Columns of one frame.
    pub max_pixels_per_frame: u64,
    /// Maximum NumberOfFrames.
    pub max_frames: u32,
    /// Maximum nesting of sequences (a top-level sequence is depth 1).
    pub max_sequence_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // 2 GiB: a large multi-frame CT or a whole mammography tomosynthesis fits.
            max_instance_bytes: 2 << 30,
            // 16384 × 16384 = 268 M: larger than any single radiograph or WSI tile frame.
            max_pixels_per_frame: 16384 * 16384,
            max_frames: 16384,
            // Real data rarely nests beyond 6 (SR content trees); 64 keeps stacks safe.
            max_sequence_depth: 64,
        }
    }
}

impl Limits {
    /// No effective size bounds; for tests and trusted tools only. Nesting stays bounded (256)
    /// because dicom-rs builds sequences recursively.
    pub fn unlimited() -> Self {
        Self {
            max_instance_bytes: u64::MAX,
            max_pixels_per_frame: u64::MAX,
            max_frames: u32::MAX,
            max_sequence_depth: 256,
        }
    }
}
