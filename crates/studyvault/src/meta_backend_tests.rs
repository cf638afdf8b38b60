//! `[meta]`: reading and checking it, and a server whose metadata lives in a real, throwaway
//! PostgreSQL (`sv_testkit::pg`).

use std::path::Path;

use sv_meta::MetaStore as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{Config, Layer};
use crate::secret::Secret;
use crate::serve::Prepared;

const ADMIN: &str = "meta-backend-test-admin-token-0123";

fn load(data: &Path, file: Option<&Path>, vars: &[(&str, &str)]) -> anyhow::Result<Config> {
    let flags = Layer {
        data: Some(data.to_path_buf()),
        listen: Some("127.0.0.1:0".into()),
        admin_token: Some(Secret::new(ADMIN)),
        shutdown_grace_secs: Some(5),
        ..Layer::default()
    };
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Ok(Config::load(file, vars, &flags)?.config)
}

#[test]
fn the_postgres_url_comes_from_file_or_environment_and_stays_secret() {
    let dir = tempfile::tempdir().unwrap();
    let default = load(dir.path(), None, &[]).unwrap();
    assert_eq!(default.meta.backend, "sled");
    assert!(!default.meta.is_postgres());

    let file = dir.path().join("meta.toml");
    std::fs::write(
        &file,
        "[meta]\nbackend = \"postgres\"\n\n[meta.postgres]\n\
         url = \"postgresql://sv:hunter2@db.internal/sv\"\npool_size = 4\n",
    )
    .unwrap();
    let from_file = load(dir.path(), Some(&file), &[]).unwrap();
    assert!(from_file.meta.is_postgres());
    let url = from_file.meta.postgres.url.as_ref().unwrap();
    assert_eq!(url.expose(), "postgresql://sv:hunter2@db.internal/sv");
    assert_eq!(from_file.meta.postgres.pool_size, 4);
    let printed = from_file.to_toml().unwrap();
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(!format!("{from_file:?}").contains("hunter2"));
    let table: toml::Table = toml::from_str(&printed).unwrap();
    assert_eq!(
        table["meta"]["postgres"]["url"].as_str(),
        Some("<redacted>")
    );
    assert_eq!(table["meta"]["backend"].as_str(), Some("postgres"));

    let from_env = load(
        dir.path(),
        None,
        &[
            ("STUDYVAULT_META_BACKEND", "PostgreSQL"),
            ("STUDYVAULT_META_POSTGRES_URL", "host=/run/pg dbname=sv"),
            ("STUDYVAULT_META_POSTGRES_POOL_SIZE", "3"),
        ],
    )
    .unwrap();
    assert_eq!(from_env.meta.backend, "postgres");
    assert_eq!(
        from_env.meta.postgres.url.as_ref().unwrap().expose(),
        "host=/run/pg dbname=sv"
    );
    assert_eq!(from_env.meta.postgres.pool_size, 3);
}

#[test]
fn meta_settings_are_checked_without_quoting_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let err = |vars: &[(&str, &str)]| format!("{:#}", load(dir.path(), None, vars).unwrap_err());
    assert!(err(&[("STUDYVAULT_META_BACKEND", "postgres")]).contains("meta.postgres.url"));
    let empty_url = [
        ("STUDYVAULT_META_BACKEND", "postgres"),
        ("STUDYVAULT_META_POSTGRES_URL", " "),
    ];
    assert!(err(&empty_url).contains("meta.postgres.url"));
    assert!(err(&[("STUDYVAULT_META_BACKEND", "mongodb")]).contains("sled or postgres"));
    let no_pool = [
        ("STUDYVAULT_META_BACKEND", "postgres"),
        (
            "STUDYVAULT_META_POSTGRES_URL",
            "postgresql://sv:hunter2@h/sv",
        ),
        ("STUDYVAULT_META_POSTGRES_POOL_SIZE", "0"),
    ];
    let message = err(&no_pool);
    assert!(message.contains("pool_size"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(err(&[("STUDYVAULT_META_POSTGRES_PORT", "5432")]).contains("unknown"));
}

/// `POST path` with the admin token and a JSON body; the status line and the body.
async fn post(addr: std::net::SocketAddr, path: &str, json: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    response
}

/// The server on its own runtime (as `serve` builds it), its metadata in a throwaway database
/// made outside that runtime (the test kit's client is synchronous).
#[test]
fn a_server_on_postgres_keeps_its_metadata_there() {
    let db = sv_testkit::pg::database();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = load(
        &data,
        None,
        &[
            ("STUDYVAULT_META_BACKEND", "postgres"),
            ("STUDYVAULT_META_POSTGRES_URL", db.url()),
            ("STUDYVAULT_META_POSTGRES_POOL_SIZE", "4"),
        ],
    )
    .unwrap();
    let runtime = crate::serve::runtime_builder(&config).build().unwrap();
    runtime.block_on(async {
        let server = Prepared::new(&config).await.unwrap();
        let addr = server.addr;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        let created = post(addr, "/v1/records", r#"{"name": "on postgres"}"#).await;
        assert!(created.starts_with("HTTP/1.1 201"), "{created}");
        stop.send(()).unwrap();
        serving.await.unwrap().unwrap();
    });
    drop(runtime);

    assert!(!data.join("meta").exists(), "no sled store was made");
    let store = sv_meta::PgMetaStore::open(db.url(), 1).unwrap();
    assert_eq!(
        store.records().unwrap().len(),
        1,
        "the record is in the database"
    );
    let vault = crate::maintenance::open_stopped(&config).unwrap();
    let report = sv_vault::fsck_report(&vault).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.records, 1);
}

/// `sslmode=require` with `meta.postgres.ca_file`: the vault's store talks TLS to the
/// database, and the check of the server's certificate uses that file.
#[test]
fn ca_file_and_sslmode_make_the_connection_tls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = sv_testkit::pg::database();
    let url = format!("{}?sslmode=require", db.url());
    let ca = sv_testkit::pg::tls_ca_file();
    let config = load(
        &data,
        None,
        &[
            ("STUDYVAULT_META_BACKEND", "postgres"),
            ("STUDYVAULT_META_POSTGRES_URL", &url),
            ("STUDYVAULT_META_POSTGRES_CA_FILE", ca.to_str().unwrap()),
        ],
    )
    .unwrap();
    assert_eq!(config.meta.postgres.ca_file.as_deref(), Some(ca.as_path()));
    let vault = super::open_vault(&config, config.vault_config().unwrap()).unwrap();
    vault.create_record_blocking("over TLS").unwrap();
    let mut admin = db.connect();
    let tls_sessions: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = $1 AND s.ssl",
            &[&db.name()],
        )
        .unwrap()
        .get(0);
    assert!(tls_sessions >= 1, "the vault's connections use TLS");
    drop(vault);

    // Without the file, the web's roots do not vouch for the test server: a clear refusal.
    let mut untrusted = config.clone();
    untrusted.meta.postgres.ca_file = None;
    let refused = super::open_vault(&untrusted, untrusted.vault_config().unwrap()).unwrap_err();
    assert!(
        format!("{refused:#}").contains("meta.postgres.url"),
        "{refused:#}"
    );
}
