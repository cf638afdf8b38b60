//! The crate graph keeps DESIGN.md's layering: dependencies point down, and each engine is
//! known by exactly one crate (sled and PostgreSQL by sv-meta, the S3 client by sv-blob-s3,
//! dicom-rs by sv-dicom, axum by the HTTP crates; sv-testkit also starts PostgreSQL and Garage
//! servers for the tests).

use std::collections::BTreeSet;
use std::path::Path;

/// The normal (not dev) dependencies of a workspace crate, by name.
fn dependencies(krate: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table = text.parse().unwrap();
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

const CRATES: [&str; 14] = [
    "sv-blob",
    "sv-blob-s3",
    "sv-model",
    "sv-meta",
    "sv-dicom",
    "sv-hvxml",
    "sv-fhir",
    "sv-dicomweb",
    "sv-mail",
    "sv-web",
    "sv-vault",
    "sv-api",
    "sv-testkit",
    "studyvault",
];

/// Internal crates each crate may depend on (DESIGN.md, Layout).
fn allowed_internal(krate: &str) -> &'static [&'static str] {
    match krate {
        "sv-blob" => &[],
        // The S3 backend implements sv-blob's trait and knows nothing else.
        "sv-blob-s3" => &["sv-blob"],
        "sv-model" => &["sv-blob"],
        "sv-meta" => &["sv-model", "sv-blob"],
        "sv-dicom" => &[],
        "sv-hvxml" => &["sv-model"],
        "sv-fhir" => &["sv-model"],
        "sv-dicomweb" => &["sv-model"],
        // Mail and page templates know nothing of the stores.
        "sv-mail" => &[],
        "sv-web" => &[],
        "sv-vault" => &[
            "sv-model", "sv-blob", "sv-meta", "sv-dicom", "sv-hvxml", "sv-mail",
        ],
        // The HTTP crate reaches the stores only through the use cases (DESIGN.md, Layout).
        "sv-api" => &[
            "sv-model",
            "sv-vault",
            "sv-hvxml",
            "sv-fhir",
            "sv-dicomweb",
            "sv-web",
        ],
        "sv-testkit" => &["sv-model", "sv-blob", "sv-meta"],
        "studyvault" => &[
            "sv-model",
            "sv-blob",
            "sv-blob-s3",
            "sv-meta",
            "sv-dicom",
            "sv-vault",
            "sv-api",
            "sv-hvxml",
            "sv-fhir",
            "sv-dicomweb",
            "sv-mail",
            "sv-web",
        ],
        other => panic!("unknown crate {other}"),
    }
}

#[test]
fn internal_dependencies_point_down() {
    for krate in CRATES {
        let allowed: BTreeSet<&str> = allowed_internal(krate).iter().copied().collect();
        for dep in dependencies(krate) {
            let internal = dep.starts_with("sv-") || dep == "studyvault";
            assert!(
                !internal || allowed.contains(dep.as_str()),
                "{krate} must not depend on {dep}"
            );
        }
    }
}

#[test]
fn each_engine_is_known_by_one_layer() {
    for krate in CRATES {
        let deps = dependencies(krate);
        let uses = |prefix: &str| deps.iter().any(|d| d.starts_with(prefix));
        assert_eq!(
            uses("sled"),
            krate == "sv-meta",
            "{krate}: only sv-meta knows sled"
        );
        // The PostgreSQL client and its pool: the store, and the test kit that makes throwaway
        // databases for it. The binary only passes a URL.
        if uses("postgres") || uses("tokio-postgres") || uses("r2d2") {
            assert!(
                ["sv-meta", "sv-testkit"].contains(&krate),
                "{krate}: only sv-meta knows PostgreSQL"
            );
        }
        assert_eq!(
            uses("object_store"),
            krate == "sv-blob-s3",
            "{krate}: only sv-blob-s3 knows the S3 client"
        );
        assert_eq!(
            uses("dicom-"),
            krate == "sv-dicom",
            "{krate}: only sv-dicom knows dicom-rs"
        );
        assert_eq!(
            uses("lettre"),
            krate == "sv-mail",
            "{krate}: only sv-mail knows lettre"
        );
        if uses("axum") || uses("tower") {
            assert!(
                ["sv-api", "studyvault"].contains(&krate),
                "{krate}: only the HTTP crates know axum"
            );
        }
    }
    // The model has no IO and no wire format.
    let model = dependencies("sv-model");
    for banned in ["serde", "quick-xml", "tokio", "sled"] {
        assert!(
            !model.contains(banned),
            "sv-model must not depend on {banned}"
        );
    }
    // DICOMweb formats and matching: no HTTP, no IO.
    let dicomweb = dependencies("sv-dicomweb");
    for banned in ["tokio", "axum", "http", "hyper", "sled", "multer"] {
        assert!(
            !dicomweb.contains(banned),
            "sv-dicomweb must not depend on {banned}"
        );
    }
}
