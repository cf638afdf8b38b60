//! `[blobs]`: reading and checking it (the server on S3 is tested against the real binary, in
//! `tests/it/blobs_s3.rs`).

use std::path::Path;

use crate::config::{Config, Layer};

fn load(data: &Path, file: Option<&Path>, vars: &[(&str, &str)]) -> anyhow::Result<Config> {
    let flags = Layer {
        data: Some(data.to_path_buf()),
        ..Layer::default()
    };
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Ok(Config::load(file, vars, &flags)?.config)
}

const S3_ENV: [(&str, &str); 5] = [
    ("STUDYVAULT_BLOBS_BACKEND", "s3"),
    ("STUDYVAULT_BLOBS_S3_ENDPOINT", "http://127.0.0.1:3900"),
    ("STUDYVAULT_BLOBS_S3_BUCKET", "studyvault"),
    (
        "STUDYVAULT_BLOBS_S3_ACCESS_KEY_ID",
        "GK0123456789abcdef01234567",
    ),
    ("STUDYVAULT_BLOBS_S3_SECRET_ACCESS_KEY", "hunter2-s3-secret"),
];

#[test]
fn blobs_are_local_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(dir.path(), None, &[]).unwrap();
    assert_eq!(config.blobs.backend, "local");
    assert!(!config.blobs.is_s3());
    let printed: toml::Table = toml::from_str(&config.to_toml().unwrap()).unwrap();
    assert_eq!(printed["blobs"]["backend"].as_str(), Some("local"));
    assert_eq!(printed["blobs"]["s3"]["region"].as_str(), Some("garage"));
}

#[test]
fn s3_settings_come_from_file_or_environment_and_the_secret_stays_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blobs.toml");
    std::fs::write(
        &file,
        "[blobs]\nbackend = \"S3\"\n\n[blobs.s3]\nendpoint = \"https://s3.example.org/\"\n\
         region = \"eu-west-3\"\nbucket = \"vault\"\naccess_key_id = \"AKIAEXAMPLE\"\n\
         secret_access_key = \"hunter2-s3-secret\"\nprefix = \"/node-a/\"\n",
    )
    .unwrap();
    let result = load(dir.path(), Some(&file), &[]);
    if cfg!(not(feature = "s3")) {
        let err = format!("{:#}", result.unwrap_err());
        assert!(err.contains("`s3` cargo feature"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        return;
    }
    let config = result.unwrap();
    assert!(config.blobs.is_s3());
    let s3 = &config.blobs.s3;
    assert_eq!(s3.endpoint.as_deref(), Some("https://s3.example.org/"));
    assert_eq!(s3.region, "eu-west-3");
    assert_eq!(s3.bucket.as_deref(), Some("vault"));
    assert_eq!(s3.access_key_id.as_deref(), Some("AKIAEXAMPLE"));
    assert_eq!(
        s3.secret_access_key.as_ref().unwrap().expose(),
        "hunter2-s3-secret"
    );
    assert_eq!(s3.prefix, "node-a");
    let printed = config.to_toml().unwrap();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!format!("{config:?}").contains("hunter2"));
    let table: toml::Table = toml::from_str(&printed).unwrap();
    assert_eq!(
        table["blobs"]["s3"]["secret_access_key"].as_str(),
        Some("<redacted>")
    );
    assert_eq!(table["blobs"]["backend"].as_str(), Some("s3"));

    let from_env = load(
        dir.path(),
        Some(&file),
        &[
            ("STUDYVAULT_BLOBS_S3_BUCKET", "other"),
            ("STUDYVAULT_BLOBS_S3_SECRET_ACCESS_KEY", "from-env-secret"),
            ("STUDYVAULT_BLOBS_S3_PREFIX", ""),
            ("STUDYVAULT_BLOBS_S3_REGION", "garage"),
        ],
    )
    .unwrap();
    let s3 = &from_env.blobs.s3;
    assert_eq!(s3.bucket.as_deref(), Some("other"));
    assert_eq!(
        s3.secret_access_key.as_ref().unwrap().expose(),
        "from-env-secret"
    );
    assert_eq!(s3.prefix, "");
    assert_eq!(s3.region, "garage");
    assert!(load(dir.path(), None, &S3_ENV).unwrap().blobs.is_s3());
}

#[test]
fn blob_settings_are_checked_without_quoting_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let err = |vars: &[(&str, &str)]| format!("{:#}", load(dir.path(), None, vars).unwrap_err());
    assert!(err(&[("STUDYVAULT_BLOBS_BACKEND", "ftp")]).contains("local or s3"));
    assert!(err(&[("STUDYVAULT_BLOBS_S3_PORT", "3900")]).contains("unknown"));
    let mut vars = S3_ENV.to_vec();
    vars.retain(|(k, _)| !k.ends_with("BUCKET") && !k.ends_with("ACCESS_KEY_ID"));
    vars.push(("STUDYVAULT_BLOBS_S3_ACCESS_KEY_ID", " "));
    let message = err(&vars);
    if cfg!(feature = "s3") {
        assert!(
            message.contains("needs blobs.s3.bucket, blobs.s3.access_key_id"),
            "{message}"
        );
        let mut bad_endpoint = S3_ENV.to_vec();
        bad_endpoint[1].1 = "127.0.0.1:3900";
        assert!(err(&bad_endpoint).contains("http:// or https://"));
    } else {
        assert!(message.contains("`s3` cargo feature"), "{message}");
    }
    assert!(!message.contains("hunter2"), "{message}");
    // Local blobs ignore the S3 settings, whatever they are.
    let mut local = vars.clone();
    local[0].1 = "local";
    assert!(!load(dir.path(), None, &local).unwrap().blobs.is_s3());
}
