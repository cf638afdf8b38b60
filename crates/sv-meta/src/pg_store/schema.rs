//! The schema, as numbered migrations recorded in the database itself.
//!
//! `sv_schema_migrations` lists the migrations applied. [`migrate`] runs at open in one
//! transaction, holding an advisory lock so that nodes starting together apply each migration
//! once: it refuses a database that has a migration this build does not know, and applies the
//! missing ones in order. A migration, once released, never changes: a new one is appended.

use super::conn::{Conn, Db};

use super::{col, db};
use crate::MetaError;

/// One step of the schema.
struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

/// Every migration, in order; the last one's version is [`PG_SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "records, things, names, feed, study index, digests, access, sharing, outbox",
        sql: r#"
CREATE TABLE records (
    rid      uuid PRIMARY KEY,
    feed_seq bigint NOT NULL DEFAULT 0,  -- the record's last change-feed number
    value    bytea NOT NULL              -- codec: record
);

CREATE TABLE things (                    -- the current version of each thing
    rid        uuid NOT NULL REFERENCES records,
    thing_id   uuid NOT NULL,
    type_id    uuid NOT NULL,
    version_no bigint NOT NULL,          -- 1, then +1 per version
    stamp      uuid NOT NULL,            -- its version stamp: compared and set by updates
    state      smallint NOT NULL,        -- 0 active, 1 deleted
    eff_date   bigint NOT NULL,          -- µs since the epoch
    updated    bigint NOT NULL,          -- µs since the epoch
    value      bytea NOT NULL,           -- codec: thing, without named blobs
    PRIMARY KEY (rid, thing_id)
);
CREATE UNIQUE INDEX things_by_type ON things (rid, type_id, thing_id);

CREATE TABLE thing_versions (
    rid        uuid NOT NULL,
    thing_id   uuid NOT NULL,
    version_no bigint NOT NULL,
    stamp      uuid NOT NULL,
    value      bytea NOT NULL,           -- codec: thing, with the version's named blobs
    PRIMARY KEY (rid, thing_id, version_no),
    FOREIGN KEY (rid, thing_id) REFERENCES things
);

CREATE TABLE named_blobs (
    rid          uuid NOT NULL,
    thing_id     uuid NOT NULL,
    name         text COLLATE "C" NOT NULL,
    content_type text NOT NULL,
    length       bigint NOT NULL,
    blob_id      bytea NOT NULL,
    PRIMARY KEY (rid, thing_id, name),
    FOREIGN KEY (rid, thing_id) REFERENCES things
);
CREATE INDEX named_blobs_by_blob ON named_blobs (blob_id);  -- reference counts

CREATE TABLE feed (
    rid   uuid NOT NULL REFERENCES records,
    seq   bigint NOT NULL,
    value bytea NOT NULL,                -- codec: change, without its number
    PRIMARY KEY (rid, seq)
);

CREATE TABLE studies (                   -- StudyInstanceUID -> study thing
    rid       uuid NOT NULL REFERENCES records,
    study_uid text COLLATE "C" NOT NULL,
    thing_id  uuid NOT NULL,
    PRIMARY KEY (rid, study_uid)
);

CREATE TABLE sops (                      -- SOP Instance UID -> where the instance lives
    rid        uuid NOT NULL REFERENCES records,
    sop_uid    text COLLATE "C" NOT NULL,
    thing_id   uuid NOT NULL,
    series_uid text COLLATE "C" NOT NULL,
    blob_id    bytea NOT NULL,
    PRIMARY KEY (rid, sop_uid)
);

CREATE TABLE instances (
    rid        uuid NOT NULL,
    thing_id   uuid NOT NULL,
    series_uid text COLLATE "C" NOT NULL,
    sop_uid    text COLLATE "C" NOT NULL,
    value      bytea NOT NULL,           -- codec: instance facts
    PRIMARY KEY (rid, thing_id, series_uid, sop_uid),
    FOREIGN KEY (rid, thing_id) REFERENCES things
);

CREATE TABLE study_digests (             -- one per live study thing
    rid      uuid NOT NULL,
    thing_id uuid NOT NULL,
    value    bytea NOT NULL,             -- codec: study digest
    PRIMARY KEY (rid, thing_id),
    FOREIGN KEY (rid, thing_id) REFERENCES things
);

CREATE TABLE tokens (
    secret_hash bytea PRIMARY KEY,
    rid         uuid NOT NULL REFERENCES records,
    token_id    uuid NOT NULL,
    value       bytea NOT NULL,          -- codec: token
    UNIQUE (rid, token_id)
);

CREATE TABLE shares (
    secret_hash bytea PRIMARY KEY,
    rid         uuid NOT NULL REFERENCES records,
    share_id    uuid NOT NULL,
    value       bytea NOT NULL,          -- codec: share
    UNIQUE (rid, share_id)
);

CREATE TABLE share_events (              -- a share's access log
    rid      uuid NOT NULL,
    share_id uuid NOT NULL,
    at       bigint NOT NULL,            -- µs since the epoch
    n        bigint GENERATED ALWAYS AS IDENTITY,  -- orders events of the same instant
    value    bytea NOT NULL,             -- codec: share event
    PRIMARY KEY (rid, share_id, at, n),
    FOREIGN KEY (rid, share_id) REFERENCES shares (rid, share_id)
);

CREATE TABLE sessions (
    secret_hash bytea PRIMARY KEY,
    expires     bigint NOT NULL,         -- µs since the epoch
    value       bytea NOT NULL           -- codec: session
);
CREATE INDEX sessions_by_expiry ON sessions (expires);

CREATE TABLE signin_links (
    secret_hash bytea PRIMARY KEY,
    rid         uuid NOT NULL REFERENCES records,
    value       bytea NOT NULL           -- codec: sign-in link
);

CREATE TABLE outbox (
    mail_id bytea PRIMARY KEY,
    value   bytea NOT NULL               -- codec: outbox mail
);
"#,
    },
    Migration {
        version: 2,
        description: "marks of blobs being garbage collected, refused to commits that name them",
        sql: r#"
CREATE SEQUENCE gc_mark_gen;              -- never reused, not even after a mark is cleared
CREATE TABLE gc_marks (                  -- blobs a collector marked for deletion (see gc.rs)
    blob_id bytea PRIMARY KEY,
    deleted boolean NOT NULL,            -- false while the collector is at it
    at      bigint NOT NULL,             -- µs since the epoch: when marked, then when deleted
    gen     bigint NOT NULL DEFAULT nextval('gc_mark_gen')  -- new at every marking and deletion
);

-- Every commit that names a blob calls this (sent with the commit): the shared lock orders it
-- with a collector's marking, which takes the same lock exclusively; the check then runs with
-- a snapshot taken after the lock, so it sees every mark committed before.
CREATE FUNCTION sv_refuse_collected(id bytea) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(126952377905004);
    IF EXISTS (SELECT 1 FROM gc_marks WHERE blob_id = id) THEN
        RAISE EXCEPTION 'a blob named here is being garbage collected' USING ERRCODE = 'SVG01';
    END IF;
END $$;
"#,
    },
];

/// The schema version this build writes and reads: its last migration.
pub const PG_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The advisory lock held while migrating ("svmeta" in ASCII).
const MIGRATION_LOCK: i64 = 0x7376_6d65_7461;

/// Brings the database's schema up to [`PG_SCHEMA_VERSION`] in one transaction.
pub(super) fn migrate(client: &mut Conn, database: &str) -> Result<(), MetaError> {
    let mut tx = client.transaction();
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db("lock the schema of"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS sv_schema_migrations (
             version     integer PRIMARY KEY,
             description text NOT NULL,
             applied_at  timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(db("create the migrations table of"))?;
    let row = tx
        .query_opt(
            "SELECT coalesce(max(version), 0) FROM sv_schema_migrations",
            &[],
        )
        .map_err(db("read the schema version of"))?
        .ok_or_else(|| super::corrupt("sv_schema_migrations", "migration", "version"))?;
    let found: i32 = col(&row, 0)?;
    let found = u32::try_from(found)
        .map_err(|_| super::corrupt("sv_schema_migrations", "migration", "version"))?;
    if found > PG_SCHEMA_VERSION {
        return Err(MetaError::NewerSchema {
            path: format!("postgresql database {database}").into(),
            found,
            supported: PG_SCHEMA_VERSION,
        });
    }
    for m in MIGRATIONS.iter().skip(found as usize) {
        tx.batch_execute(m.sql)
            .map_err(db("migrate the schema of"))?;
        tx.execute(
            "INSERT INTO sv_schema_migrations (version, description) VALUES ($1, $2)",
            &[&m.version, &m.description],
        )
        .map_err(db("record a migration in"))?;
    }
    tx.commit().map_err(db("commit the schema of"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "{}", m.description);
        }
    }
}
