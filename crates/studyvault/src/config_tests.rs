//! `[shares]`, `[smtp]` and `[tls]`: defaults, validation, what the vault gets, and what
//! `studyvault config` prints.

use std::time::Duration;

use super::{Config, Layer};

fn load(file: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
    let layer: Layer = toml::from_str(file)?;
    let vars = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    let mut config = Config::default();
    config.apply(&layer)?;
    let (env, _) = crate::config_env::layer_from_env(vars)?;
    config.apply(&env)?;
    config.validate()?;
    Ok(config)
}

fn error(file: &str, env: &[(&str, &str)]) -> String {
    format!("{:#}", load(file, env).expect_err(file))
}

#[test]
fn share_expiry_defaults_to_7_and_90_days_and_reaches_the_vault() {
    let config = load("", &[]).unwrap();
    let sharing = config.vault_config().unwrap().sharing;
    assert_eq!(sharing.default_expires_in, Duration::from_secs(7 * 86_400));
    assert_eq!(sharing.max_expires_in, Duration::from_secs(90 * 86_400));
    assert_eq!(sharing.public_url, "http://127.0.0.1:8080");
    let config = load(
        "public_url = \"https://vault.example.org/\"\n[shares]\ndefault_expiry_days = 1\n",
        &[("STUDYVAULT_SHARES_MAX_EXPIRY_DAYS", "365")],
    )
    .unwrap();
    let sharing = config.vault_config().unwrap().sharing;
    assert_eq!(sharing.default_expires_in, Duration::from_secs(86_400));
    assert_eq!(sharing.max_expires_in, Duration::from_secs(365 * 86_400));
    assert_eq!(sharing.public_url, "https://vault.example.org");
}

#[test]
fn share_expiry_bounds_are_checked() {
    for bad in [
        "[shares]\ndefault_expiry_days = 0\n",
        "[shares]\ndefault_expiry_days = 91\n",
        "[shares]\nmax_expiry_days = 366\ndefault_expiry_days = 7\n",
        "[shares]\nmax_expiry_days = 3\n",
    ] {
        assert!(error(bad, &[]).contains("shares"), "{bad}");
    }
    assert!(load("[shares]\nunknown = 1\n", &[]).is_err());
}

#[test]
fn smtp_needs_url_and_from_together_and_hides_the_password() {
    let config = load("", &[]).unwrap();
    assert!(config.mail_config().is_none());
    assert_eq!(config.smtp.timeout_secs, 30);
    for (file, env) in [
        ("[smtp]\nurl = \"smtp://127.0.0.1:2525\"\n", vec![]),
        ("", vec![("STUDYVAULT_SMTP_FROM", "noreply@example.org")]),
    ] {
        let err = error(file, &env);
        assert!(err.contains("smtp.url and smtp.from"), "{err}");
    }
    let file = "[smtp]\nurl = \"smtp+starttls://me:hunter2-pw@mail.example.org\"\n\
                from = \"studyvault <noreply@example.org>\"\ntimeout_secs = 10\n";
    let config = load(file, &[]).unwrap();
    let mail = config.mail_config().unwrap();
    assert_eq!(mail.url, "smtp+starttls://me:hunter2-pw@mail.example.org");
    assert_eq!(mail.from, "studyvault <noreply@example.org>");
    assert_eq!(mail.timeout, Duration::from_secs(10));
    assert_eq!(config.retry_policy().first, Duration::from_secs(30));
    let quick = load(file, &[("STUDYVAULT_SMTP_RETRY_FIRST_SECS", "1")]).unwrap();
    assert_eq!(quick.retry_policy().first, Duration::from_secs(1));
    let printed = config.to_toml().unwrap();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(printed.contains("url = \"<redacted>\""), "{printed}");
    assert!(!format!("{config:?}").contains("hunter2"));
    // An empty variable turns mail off again.
    let config = load(
        file,
        &[("STUDYVAULT_SMTP_URL", ""), ("STUDYVAULT_SMTP_FROM", " ")],
    )
    .unwrap();
    assert!(config.mail_config().is_none());
}

#[test]
fn unusable_smtp_settings_are_refused_without_the_password() {
    for (url, from) in [
        (
            "http://me:hunter2-pw@mail.example.org",
            "noreply@example.org",
        ),
        (
            "smtp://me:hunter2-pw@mail.example.org:0",
            "noreply@example.org",
        ),
        ("smtps://me:hunter2-pw@mail.example.org", "not a mailbox"),
    ] {
        let err = error(
            "",
            &[("STUDYVAULT_SMTP_URL", url), ("STUDYVAULT_SMTP_FROM", from)],
        );
        assert!(err.starts_with("smtp: "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let err = error(
        "[smtp]\nurl = \"smtp://127.0.0.1\"\nfrom = \"a@example.org\"\ntimeout_secs = 0\n",
        &[],
    );
    assert!(err.contains("smtp.timeout_secs"), "{err}");
}

#[test]
fn tls_needs_both_files_and_makes_the_default_public_url_https() {
    let err = error("[tls]\ncert_file = \"cert.pem\"\n", &[]);
    assert!(err.contains("tls.cert_file and tls.key_file"), "{err}");
    let err = error("", &[("STUDYVAULT_TLS_KEY_FILE", "key.pem")]);
    assert!(err.contains("tls.cert_file and tls.key_file"), "{err}");
    let config = load(
        "listen = \"0.0.0.0:8443\"\n",
        &[
            ("STUDYVAULT_TLS_CERT_FILE", "/etc/studyvault/cert.pem"),
            ("STUDYVAULT_TLS_KEY_FILE", "/etc/studyvault/key.pem"),
        ],
    )
    .unwrap();
    assert!(config.tls_enabled());
    assert_eq!(config.public_url, "https://0.0.0.0:8443");
    let printed: toml::Table = toml::from_str(&config.to_toml().unwrap()).unwrap();
    assert_eq!(
        printed["tls"]["cert_file"].as_str(),
        Some("/etc/studyvault/cert.pem")
    );
    assert_eq!(
        printed["shares"]["default_expiry_days"].as_integer(),
        Some(7)
    );
    assert_eq!(printed["smtp"]["timeout_secs"].as_integer(), Some(30));
}

#[test]
fn spooling_and_io_threads_have_defaults_reach_the_vault_and_are_checked() {
    let config = load("", &[]).unwrap();
    assert_eq!(config.limits.spool_above_bytes, 64 << 20);
    assert_eq!(config.io_threads, super::DEFAULT_IO_THREADS);
    assert_eq!(
        config.blocking_threads(),
        config.workers + super::DEFAULT_IO_THREADS
    );
    assert_eq!(
        config.vault_config().unwrap().spool_above_bytes,
        64 << 20,
        "the vault spools what the configuration says"
    );
    let config = load(
        "workers = 2\nio_threads = 5\n[limits]\nspool_above_bytes = 1000\n",
        &[],
    )
    .unwrap();
    assert_eq!(config.blocking_threads(), 7);
    assert_eq!(config.vault_config().unwrap().spool_above_bytes, 1000);
    let config = load("", &[("STUDYVAULT_LIMITS_SPOOL_ABOVE_BYTES", "4096")]).unwrap();
    assert_eq!(config.limits.spool_above_bytes, 4096);
    assert!(error("io_threads = 0\n", &[]).contains("io_threads"));
}

#[test]
fn the_collector_runs_hourly_with_a_day_of_grace_and_not_over_a_shared_bucket() {
    let collector = load("", &[]).unwrap().collector().expect("on by default");
    assert_eq!(collector.every, Duration::from_secs(3600));
    assert_eq!(collector.grace, Duration::from_secs(86_400));
    let collector = load(
        "[gc]\nevery_secs = 60\n",
        &[("STUDYVAULT_GC_GRACE_SECS", "600")],
    )
    .unwrap()
    .collector()
    .unwrap();
    assert_eq!(
        (collector.every, collector.grace),
        (Duration::from_secs(60), Duration::from_secs(600))
    );
    assert!(
        load("[gc]\nevery_secs = 0\n", &[])
            .unwrap()
            .collector()
            .is_none()
    );
    let mut shared = load("", &[]).unwrap();
    shared.blobs.backend = "s3".into();
    assert!(
        shared.collector().is_none(),
        "a bucket other nodes may share"
    );
    shared.meta.backend = "postgres".into();
    assert!(
        shared.collector().is_none(),
        "not yet with PostgreSQL either (see Config::collector)"
    );
    assert!(error("[gc]\nevery = 1\n", &[]).contains("unknown field"));
}
