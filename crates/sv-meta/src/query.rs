//! Thing queries: filters over one record's things, paged by key.

use sv_model::{Audit, Thing, ThingFlags, ThingId, ThingState, Timestamp, TypeId, VersionStamp};

/// Which states a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    Active,
    Deleted,
    Any,
}

impl StateFilter {
    pub fn admits(&self, state: ThingState) -> bool {
        match self {
            StateFilter::Active => state == ThingState::Active,
            StateFilter::Deleted => state == ThingState::Deleted,
            StateFilter::Any => true,
        }
    }
}

/// Where a page ended: the key of its last thing. Pass it back as `after` for the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThingCursor {
    pub type_id: TypeId,
    pub thing_id: ThingId,
}

/// A query over one record's things. Results come in key order: by type id, then thing id.
/// Bounds are inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThingQuery {
    pub type_id: Option<TypeId>,
    pub states: StateFilter,
    pub eff_date_min: Option<Timestamp>,
    pub eff_date_max: Option<Timestamp>,
    pub updated_min: Option<Timestamp>,
    pub updated_max: Option<Timestamp>,
    pub after: Option<ThingCursor>,
    pub limit: usize,
    /// Whether to load each thing's named blobs (a study has thousands).
    pub with_blobs: bool,
}

impl Default for ThingQuery {
    fn default() -> Self {
        ThingQuery {
            type_id: None,
            states: StateFilter::Active,
            eff_date_min: None,
            eff_date_max: None,
            updated_min: None,
            updated_max: None,
            after: None,
            limit: 100,
            with_blobs: false,
        }
    }
}

impl ThingQuery {
    /// Active things of one type.
    pub fn of_type(type_id: TypeId) -> Self {
        ThingQuery {
            type_id: Some(type_id),
            ..ThingQuery::default()
        }
    }

    /// True when `thing` passes every filter (the type and cursor are matched by key).
    pub fn admits(&self, thing: &Thing) -> bool {
        let within = |t: Timestamp, min: Option<Timestamp>, max: Option<Timestamp>| {
            min.is_none_or(|m| t >= m) && max.is_none_or(|m| t <= m)
        };
        self.states.admits(thing.state)
            && within(thing.eff_date, self.eff_date_min, self.eff_date_max)
            && within(thing.updated.timestamp, self.updated_min, self.updated_max)
    }
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    pub things: Vec<Thing>,
    /// Set when more things may match: the cursor of the last thing of this page.
    pub next: Option<ThingCursor>,
}

/// A change to a thing's content: what `update_thing` writes as its new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThingUpdate {
    /// The new data XML (ignored and kept empty for medical-image studies, whose XML is
    /// assembled from their instances).
    pub data_xml: String,
    pub flags: ThingFlags,
    pub eff_date: Timestamp,
    /// The stamp of the version this update creates.
    pub version: VersionStamp,
    /// Who and when; the action is recorded as `Updated`.
    pub audit: Audit,
}
