//! Instants in time, microsecond precision, UTC.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::ModelError;

/// An instant, as microseconds since the Unix epoch (UTC). Displayed as RFC 3339.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    pub fn now() -> Self {
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Timestamp(micros)
    }

    pub const fn from_unix_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub const fn unix_micros(&self) -> i64 {
        self.0
    }

    /// This instant plus `seconds` (saturating).
    pub fn plus_seconds(&self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    fn to_offset_date_time(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 with a `Z` suffix, e.g. `2026-11-22T04:42:19.123456Z`.
    pub fn to_rfc3339(&self) -> String {
        self.to_offset_date_time()
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
    }

    /// Parses RFC 3339 / `xs:dateTime` with an offset (HealthVault always sends one or `Z`).
    pub fn parse_rfc3339(s: &str) -> Result<Self, ModelError> {
        let parsed = OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| ModelError::Parse {
            what: "RFC 3339 timestamp",
            input: s.chars().take(64).collect(),
        })?;
        let micros = parsed.to_offset(UtcOffset::UTC).unix_timestamp_nanos() / 1000;
        Ok(Timestamp(i64::try_from(micros).unwrap_or(i64::MAX)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_microseconds() {
        let t = Timestamp::from_unix_micros(1_763_786_539_123_456);
        let s = t.to_rfc3339();
        assert_eq!(s, "2025-11-22T04:42:19.123456Z");
        assert_eq!(Timestamp::parse_rfc3339(&s).unwrap(), t);
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let a = Timestamp::parse_rfc3339("2017-06-02T22:01:52.471+02:00").unwrap();
        let b = Timestamp::parse_rfc3339("2017-06-02T20:01:52.471Z").unwrap();
        assert_eq!(a, b);
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
    }
}
