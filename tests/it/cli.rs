//! The offline commands: `config` (precedence, redaction) and `--help`.

use std::process::Command;

fn studyvault() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_studyvault"));
    for (name, _) in std::env::vars() {
        if name.starts_with("STUDYVAULT_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn output(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("run studyvault");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_layers_defaults_file_env_then_flags_and_redacts_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("studyvault.toml"),
        "listen = \"127.0.0.1:9000\"\nworkers = 3\nadmin_token = \"file-secret-0123456789abcdef\"\n\
         [preview]\nformat = \"png\"\njpeg_quality = 80\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = output(
        studyvault()
            .current_dir(dir.path())
            .args(["config", "--data"])
            .arg(&data)
            .args(["--workers", "5"])
            .env("STUDYVAULT_LISTEN", "127.0.0.1:9100")
            .env("STUDYVAULT_WORKERS", "4")
            .env("STUDYVAULT_ADMIN_TOKEN", "env-secret-0123456789abcdef"),
    );
    assert!(ok, "{stderr}");
    let merged: toml::Table = toml::from_str(&stdout).expect("config prints TOML");
    assert_eq!(
        merged["listen"].as_str(),
        Some("127.0.0.1:9100"),
        "env over file"
    );
    assert_eq!(merged["workers"].as_integer(), Some(5), "flag over env");
    assert_eq!(
        merged["preview"]["format"].as_str(),
        Some("png"),
        "file over default"
    );
    assert_eq!(merged["preview"]["jpeg_quality"].as_integer(), Some(80));
    assert_eq!(
        merged["preview"]["max_short_side"].as_integer(),
        Some(1024),
        "default"
    );
    assert_eq!(merged["public_url"].as_str(), Some("http://127.0.0.1:9100"));
    assert_eq!(merged["admin_token"].as_str(), Some("<redacted>"));
    assert!(!stdout.contains("secret-0123456789"), "{stdout}");
}

#[test]
fn config_prefers_an_explicit_file_then_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("studyvault.toml"), "log = \"debug\"\n").unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(&other, "log = \"warn\"\n").unwrap();
    let (ok, stdout, _) = output(studyvault().current_dir(dir.path()).arg("config"));
    assert!(ok);
    assert!(stdout.contains("log = \"debug\""), "{stdout}");
    let (ok, stdout, _) = output(
        studyvault()
            .current_dir(dir.path())
            .arg("config")
            .arg("--config")
            .arg(&other),
    );
    assert!(ok);
    assert!(stdout.contains("log = \"warn\""), "{stdout}");
}

#[test]
fn bad_configuration_is_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("studyvault.toml"), "lisen = \"x\"\n").unwrap();
    let (ok, _, stderr) = output(studyvault().current_dir(dir.path()).arg("config"));
    assert!(!ok);
    assert!(stderr.contains("lisen"), "{stderr}");
    let (ok, _, stderr) = output(studyvault().current_dir(dir.path()).args([
        "config",
        "--config",
        "/nonexistent/studyvault.toml",
    ]));
    assert!(!ok, "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = output(
        studyvault()
            .current_dir(empty.path())
            .arg("config")
            .env("STUDYVAULT_PREVIEW_FORMAT", "gif"),
    );
    assert!(!ok);
    assert!(stderr.contains("preview.format"), "{stderr}");
}
