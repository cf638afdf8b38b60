//! studyvault's domain types and their invariants: ids, things, named blobs and the
//! HealthVault medical-image-study (v2) model.
//!
//! Architecture invariant: this crate does no IO and knows no wire or disk format (no serde,
//! no XML, no sled). Constructors enforce the invariants of the v2 schema, so a value that
//! exists is a value that can be written as valid XML.

mod access;
mod error;
mod ids;
mod naming;
mod sharing;
mod text;
mod thing;
mod timestamp;

pub mod study;

pub use access::{Grant, Permissions, Record, Secret, SecretHash, Token};
pub use error::ModelError;
pub use ids::{RecordId, ThingId, TokenId, TypeId, VersionStamp};
pub use naming::{BlobName, NamedBlob};
pub use sharing::{
    MailId, MailState, OutboxMail, PASSCODE_ATTEMPTS, Session, SessionKind, Share, ShareEvent,
    ShareEventKind, ShareState, SigninLink,
};
pub use sv_blob::BlobId;
pub use text::NonBlank;
pub use thing::{Audit, AuditAction, Thing, ThingFlags, ThingState, ThingVersion};
pub use timestamp::Timestamp;
