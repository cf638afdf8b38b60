//! WADO-RS metadata: the DICOM JSON of a few fixtures, compared with committed snapshots
//! (`tests/snapshots/metadata/<fixture>.json`; `UPDATE_SNAPSHOTS=1` rewrites them after a
//! deliberate change, to be reviewed in the diff).

mod common;

use common::*;
use sv_dicom::{Limits, parse};

const FIXTURES: [&str; 4] = [
    "CT_small.dcm",
    "MR_small_bigendian.dcm",
    "SC_rgb_rle.dcm",
    "JPEG2000.dcm",
];

fn snapshot_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/metadata")
        .join(name.replace(".dcm", ".json"))
}

#[test]
fn metadata_json_of_fixtures_matches_the_snapshots() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    for name in FIXTURES {
        let parsed = parse(&dicom(name), &Limits::default()).unwrap();
        let json = parsed
            .metadata_json(&|tag| format!("https://example.test/bulkdata/{tag}"))
            .unwrap();
        let text = serde_json::to_string_pretty(&json).unwrap() + "\n";
        let path = snapshot_path(name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_SNAPSHOTS=1)", path.display()));
        assert_eq!(text, expected, "{name}: the DICOM JSON changed");
    }
}

#[test]
fn a_big_endian_file_reads_as_the_same_model() {
    // The same data set stored little and big endian: the JSON model knows no byte order.
    let little = parse(&dicom("MR_small.dcm"), &Limits::default()).unwrap();
    let big = parse(&dicom("MR_small_bigendian.dcm"), &Limits::default()).unwrap();
    let uri = |tag: &str| format!("b/{tag}");
    let (mut l, mut b) = (
        little.metadata_json(&uri).unwrap(),
        big.metadata_json(&uri).unwrap(),
    );
    for v in [&mut l, &mut b] {
        v.as_object_mut().unwrap().remove("7FE00010");
    }
    assert_eq!(l, b);
}
