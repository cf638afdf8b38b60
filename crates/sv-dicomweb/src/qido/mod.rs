//! QIDO-RS queries (PS18 8.3.4, 10.6): parse decoded query pairs against the level's
//! attribute tables, match study digests, series and instances, and write the response
//! objects.
//!
//! Keys a level knows: its own table, plus the tables of the levels above whose UID the path
//! does not fix (`/series` matches and returns study attributes; `/studies/{s}/series` does
//! not). Any other key that names a real DICOM attribute is ignored with a warning, sequence
//! (dotted) keys too; a key that is no DICOM keyword at all is a 400.
//!
//! Matching (PS3.4 C.2.2.2):
//! - universal: an empty value or `*` matches everything (the key is still returned);
//! - text (CS LO SH UR): exact, or wildcard `*`/`?`, case-sensitive; a CS value with
//!   backslashes matches if any of its values does (so `ModalitiesInStudy=CT\MR` finds studies
//!   with a CT or an MR series);
//! - PN: case-insensitive, exact or wildcard, against the whole name or any of its `=` groups.
//!   With `fuzzymatching=true`, a value without wildcards matches when each of its `^`
//!   components is a case-insensitive prefix of the name's component at the same place, and a
//!   one-component value when it is a prefix of any component (`PatientName=jo` finds
//!   `Doe^John`);
//! - UI: a list of UIDs separated by `,` (or `\`), any of which matches;
//! - DA, TM: a value or a range `a-b`, `a-`, `-b`, inclusive; a partial time covers its whole
//!   precision (`10` is 10:00:00 to 10:59:59.999999). Stored values are read leniently
//!   (`sv_model::study::parse_da`, `parse_tm`); a stored value that does not parse never
//!   matches a date or time criterion. Combined date-time matching is not offered;
//! - IS, US: numeric equality.
//!
//! A missing stored value never matches a non-universal criterion. Repeated matching keys
//! must all match.

mod matcher;
mod parse;
mod response;
pub(crate) mod time_range;
mod wildcard;

use std::collections::BTreeSet;

use sv_model::study::{InstanceFacts, SeriesDigest, StudyDigest};

use crate::attributes::{Attribute, Row};
pub use matcher::MAX_UIDS;
pub use parse::{MAX_LIMIT, MAX_WARNINGS};

/// A Query/Retrieve level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Study,
    Series,
    Instance,
}

/// UIDs fixed by the path: `/studies/{study}/series/{series}/instances` etc.
///
/// A UID that the level cannot be under is ignored (a study UID for `/studies`, a series UID
/// for a series search).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub study: Option<String>,
    pub series: Option<String>,
}

/// A parsed QIDO-RS query for one level and scope.
#[derive(Debug, Clone)]
pub struct QidoQuery {
    level: Level,
    scope: Scope,
    /// The attributes this query knows, ascending by tag (lower level wins a shared tag).
    attributes: Vec<&'static Attribute>,
    criteria: Vec<matcher::Criterion>,
    /// Tags asked for by `includefield` or as matching keys.
    requested: BTreeSet<u32>,
    include_all: bool,
    limit: Option<usize>,
    offset: usize,
    fuzzy: bool,
    warnings: Vec<String>,
}

impl QidoQuery {
    /// Messages for a `Warning: 299` header: keys ignored (not held, not supported for
    /// matching, sequences) and a capped limit. They name keys, never values.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn level(&self) -> Level {
        self.level
    }

    /// The client's `limit`, capped at [`MAX_LIMIT`]; `None` when it gave none.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// How many results one response may hold: the limit, or [`MAX_LIMIT`] without one.
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(MAX_LIMIT)
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Whether `fuzzymatching=true` was asked for (it changes PN matching only).
    pub fn fuzzy(&self) -> bool {
        self.fuzzy
    }

    /// Whether instance-level criteria exist (the server then has to read instances).
    pub fn needs_instances(&self) -> bool {
        self.criteria
            .iter()
            .any(|c| c.attribute.level == Level::Instance)
    }

    /// Whether a study matches the scope and the study-level criteria. At series and instance
    /// level this is a pre-filter: the lower-level checks still follow.
    pub fn matches_study(&self, digest: &StudyDigest) -> bool {
        self.in_study(digest) && self.criteria_hold(&Row::study(digest, ""), Level::Study)
    }

    /// Whether a series matches the scope and the study and series criteria.
    pub fn matches_series(&self, digest: &StudyDigest, series: &SeriesDigest) -> bool {
        self.in_study(digest)
            && self.in_series(&series.series_instance_uid)
            && self.criteria_hold(&Row::series(digest, series, ""), Level::Series)
    }

    /// Whether an instance matches the scope and every criterion. Series attributes come from
    /// the digest's series (the instance's own when the digest lacks it).
    pub fn matches_instance(&self, digest: &StudyDigest, facts: &InstanceFacts) -> bool {
        self.in_study(digest)
            && facts.study_instance_uid == digest.study_instance_uid
            && self.in_series(&facts.series_instance_uid)
            && self.criteria_hold(&Row::instance(digest, facts, ""), Level::Instance)
    }

    fn in_study(&self, digest: &StudyDigest) -> bool {
        self.scope
            .study
            .as_deref()
            .is_none_or(|s| s == digest.study_instance_uid)
    }

    fn in_series(&self, series_uid: &str) -> bool {
        self.scope.series.as_deref().is_none_or(|s| s == series_uid)
    }

    fn criteria_hold(&self, row: &Row<'_>, up_to: Level) -> bool {
        self.criteria
            .iter()
            .filter(|c| c.attribute.level <= up_to)
            .all(|c| c.matches(row, self.fuzzy))
    }
}
