//! Things: typed XML documents with named blobs, versioned, soft-deleted.

use crate::{NamedBlob, ThingId, Timestamp, TokenId, TypeId, VersionStamp};

/// Whether a thing is live or a tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThingState {
    Active,
    Deleted,
}

impl ThingState {
    pub fn as_str(&self) -> &'static str {
        match self {
            ThingState::Active => "Active",
            ThingState::Deleted => "Deleted",
        }
    }
}

/// HealthVault's thing flags bitfield (0x1 personal, 0x2 down-versioned, 0x4 up-versioned,
/// 0x8 hidden from e-prep, 0x10 read-only). Stored as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ThingFlags(pub u32);

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Created,
    Updated,
    Deleted,
}

impl AuditAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditAction::Created => "Created",
            AuditAction::Updated => "Updated",
            AuditAction::Deleted => "Deleted",
        }
    }
}

/// Who changed a thing, and when. `token` is the id of the app token that made the change
/// (`None` for the store itself or the admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub timestamp: Timestamp,
    pub token: Option<TokenId>,
    pub action: AuditAction,
}

impl Audit {
    pub fn now(action: AuditAction, token: Option<TokenId>) -> Self {
        Audit {
            timestamp: Timestamp::now(),
            token,
            action,
        }
    }
}

/// One thing, at one version.
///
/// `data_xml` is the type-specific XML (the content of HealthVault's `<data-xml>`), stored as
/// given for every type but the medical-image study, whose XML is assembled from its
/// per-instance facts when it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thing {
    pub id: ThingId,
    pub version: VersionStamp,
    pub type_id: TypeId,
    pub state: ThingState,
    pub flags: ThingFlags,
    pub eff_date: Timestamp,
    pub created: Audit,
    pub updated: Audit,
    pub data_xml: String,
    pub blobs: Vec<NamedBlob>,
}

impl Thing {
    pub fn is_deleted(&self) -> bool {
        self.state == ThingState::Deleted
    }

    pub fn blob(&self, name: &str) -> Option<&NamedBlob> {
        self.blobs.iter().find(|b| b.name.as_str() == name)
    }
}

/// One entry of a thing's version history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThingVersion {
    pub version: VersionStamp,
    pub state: ThingState,
    pub audit: Audit,
}
