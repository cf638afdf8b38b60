//! Paths to the project's fixtures, so tests never spell out relative paths.

use std::path::PathBuf;

/// The workspace's `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A DICOM fixture by file name, e.g. `dicom_fixture("CT_small.dcm")`.
pub fn dicom_fixture(name: &str) -> PathBuf {
    fixtures_dir().join("dicom").join(name)
}

/// Reads a DICOM fixture, panicking with the path when it is missing.
pub fn read_dicom_fixture(name: &str) -> Vec<u8> {
    let path = dicom_fixture(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}
