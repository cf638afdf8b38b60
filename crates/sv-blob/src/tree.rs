//! The blake3 tree cut into fixed-size groups: per-group chaining values and their merge to the root.
//!
//! A blob longer than [`GROUP_LEN`] is hashed as consecutive groups of `GROUP_LEN` bytes (the last
//! one possibly short), each a blake3 subtree at its offset. Because `GROUP_LEN` is a power-of-two
//! number of chunks, every group is a valid subtree and merging the group chaining values in
//! blake3's shape (left subtree = largest power of two below the length) gives exactly
//! `blake3::hash` of the whole blob. A blob of one group or less is hashed plainly.

use blake3::Hasher;
use blake3::hazmat::{ChainingValue, HasherExt, Mode, left_subtree_len, merge_subtrees_non_root};

/// Bytes per verified group: 64 blake3 chunks. Reads verify and hand out whole groups.
pub const GROUP_LEN: u64 = 64 * 1024;

const _: () = assert!(GROUP_LEN.is_power_of_two() && GROUP_LEN >= blake3::CHUNK_LEN as u64);

/// Number of groups a blob of `len` bytes has (at least one, even when empty).
pub fn group_count(len: u64) -> u64 {
    len.div_ceil(GROUP_LEN).max(1)
}

/// Chaining value of the group that starts at `offset` (a multiple of `GROUP_LEN`).
///
/// Only meaningful for blobs of more than one group; `bytes` must not be empty.
pub fn group_cv(offset: u64, bytes: &[u8]) -> ChainingValue {
    debug_assert!(
        offset.is_multiple_of(GROUP_LEN) && !bytes.is_empty() && bytes.len() as u64 <= GROUP_LEN
    );
    let mut hasher = Hasher::new();
    hasher.set_input_offset(offset);
    hasher.update(bytes);
    hasher.finalize_non_root()
}

/// Merges the group chaining values of a blob of `len > GROUP_LEN` bytes into its root hash.
///
/// Returns `None` when the number of values does not fit `len`.
pub fn merge_root(cvs: &[ChainingValue], len: u64) -> Option<blake3::Hash> {
    if len <= GROUP_LEN || cvs.len() as u64 != group_count(len) {
        return None;
    }
    let left_len = left_subtree_len(len);
    let (left, right) = split(cvs, len);
    let left_cv = merge_non_root(left, left_len);
    let right_cv = merge_non_root(right, len - left_len);
    Some(blake3::hazmat::merge_subtrees_root(
        &left_cv,
        &right_cv,
        Mode::Hash,
    ))
}

/// Splits the values of a subtree of `len > GROUP_LEN` bytes at blake3's left subtree length.
fn split(cvs: &[ChainingValue], len: u64) -> (&[ChainingValue], &[ChainingValue]) {
    // The left subtree length is a power of two >= GROUP_LEN, so it ends on a group boundary.
    let left_groups = (left_subtree_len(len) / GROUP_LEN) as usize;
    cvs.split_at(left_groups)
}

fn merge_non_root(cvs: &[ChainingValue], len: u64) -> ChainingValue {
    if len <= GROUP_LEN {
        return cvs[0];
    }
    let left_len = left_subtree_len(len);
    let (left, right) = split(cvs, len);
    let left_cv = merge_non_root(left, left_len);
    let right_cv = merge_non_root(right, len - left_len);
    merge_subtrees_non_root(&left_cv, &right_cv, Mode::Hash)
}

/// Streaming hasher that records group chaining values while bytes go by.
#[derive(Debug, Clone)]
pub struct GroupHasher {
    current: Hasher,
    in_group: u64,
    len: u64,
    cvs: Vec<ChainingValue>,
}

/// What a [`GroupHasher`] produces: the root hash, the length, and (for multi-group blobs) the
/// group chaining values that make up the outboard.
#[derive(Debug, Clone)]
pub struct TreeHash {
    pub root: blake3::Hash,
    pub len: u64,
    /// Empty for blobs of one group or less.
    pub cvs: Vec<ChainingValue>,
}

impl Default for GroupHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl GroupHasher {
    pub fn new() -> GroupHasher {
        GroupHasher {
            current: Hasher::new(),
            in_group: 0,
            len: 0,
            cvs: Vec::new(),
        }
    }

    /// Feeds the next bytes of the blob.
    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.in_group == GROUP_LEN {
                // The group is full and more bytes follow: it is an interior subtree.
                self.cvs.push(self.current.finalize_non_root());
                self.current = Hasher::new();
                self.current.set_input_offset(self.len);
                self.in_group = 0;
            }
            let room = (GROUP_LEN - self.in_group) as usize;
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.current.update(now);
            self.in_group += now.len() as u64;
            self.len += now.len() as u64;
            bytes = rest;
        }
    }

    /// Bytes seen so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True before any byte was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finishes the tree.
    pub fn finalize(mut self) -> TreeHash {
        if self.cvs.is_empty() {
            // One group or less: the group hasher started at offset 0 is the whole-blob hasher.
            return TreeHash {
                root: self.current.finalize(),
                len: self.len,
                cvs: Vec::new(),
            };
        }
        self.cvs.push(self.current.finalize_non_root());
        let root = merge_root(&self.cvs, self.len).expect("one value per group");
        TreeHash {
            root,
            len: self.len,
            cvs: self.cvs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 10) as u8)
            .collect()
    }

    fn tree_of(bytes: &[u8], step: usize) -> TreeHash {
        let mut h = GroupHasher::new();
        for piece in bytes.chunks(step.max(1)) {
            h.update(piece);
        }
        h.finalize()
    }

    #[test]
    fn boundary_lengths_match_blake3() {
        let g = GROUP_LEN as usize;
        for len in [
            0,
            1,
            1023,
            1024,
            1025,
            g - 1,
            g,
            g + 1,
            2 * g,
            2 * g + 1,
            3 * g,
            5 * g + 7,
            8 * g,
            9 * g,
        ] {
            let bytes = data(len, 7);
            let tree = tree_of(&bytes, 100_000);
            assert_eq!(tree.root, blake3::hash(&bytes), "len {len}");
            assert_eq!(tree.len, len as u64);
            let expected_cvs = if len as u64 > GROUP_LEN {
                group_count(len as u64)
            } else {
                0
            };
            assert_eq!(tree.cvs.len() as u64, expected_cvs, "len {len}");
            for (i, cv) in tree.cvs.iter().enumerate() {
                let start = i * g;
                let end = (start + g).min(len);
                assert_eq!(*cv, group_cv(start as u64, &bytes[start..end]));
            }
        }
    }

    #[test]
    fn merge_rejects_wrong_counts() {
        let bytes = data(3 * GROUP_LEN as usize, 1);
        let tree = tree_of(&bytes, 4096);
        assert!(merge_root(&tree.cvs[..2], tree.len).is_none());
        assert!(merge_root(&tree.cvs, GROUP_LEN).is_none());
        assert_eq!(merge_root(&tree.cvs, tree.len), Some(tree.root));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn merged_root_equals_blake3_hash(
            len in 0usize..(6 * GROUP_LEN as usize),
            step in 1usize..200_000,
            seed in any::<u8>(),
        ) {
            let bytes = data(len, seed);
            let tree = tree_of(&bytes, step);
            prop_assert_eq!(tree.root, blake3::hash(&bytes));
            if !tree.cvs.is_empty() {
                prop_assert_eq!(merge_root(&tree.cvs, tree.len), Some(tree.root));
            }
        }
    }
}
