//! HealthVault's `d:date-time`: a calendar date, an optional wall-clock time, an optional zone.

use crate::ModelError;
use crate::study::CodableValue;

/// A calendar date, year 1000..=9999 (`d:date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HvDate {
    year: u16,
    month: u8,
    day: u8,
}

impl HvDate {
    pub fn new(year: i64, month: i64, day: i64) -> Result<Self, ModelError> {
        let year = in_range("year", year, 1000, 9999)?;
        let month = in_range("month", month, 1, 12)?;
        let day = in_range("day", day, 1, 31)?;
        let month_enum = time::Month::try_from(month as u8).map_err(|_| bad_date())?;
        if day > i64::from(time::util::days_in_month(month_enum, year as i32)) {
            return Err(bad_date());
        }
        Ok(HvDate {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }

    pub fn year(&self) -> u16 {
        self.year
    }
    pub fn month(&self) -> u8 {
        self.month
    }
    pub fn day(&self) -> u8 {
        self.day
    }
}

/// A wall-clock time (`d:time`): hour and minute required, seconds and milliseconds optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HvTime {
    hour: u8,
    minute: u8,
    second: Option<u8>,
    millis: Option<u16>,
}

impl HvTime {
    pub fn new(
        hour: i64,
        minute: i64,
        second: Option<i64>,
        millis: Option<i64>,
    ) -> Result<Self, ModelError> {
        let hour = in_range("hour", hour, 0, 23)? as u8;
        let minute = in_range("minute", minute, 0, 59)? as u8;
        let second = second
            .map(|s| in_range("second", s, 0, 59))
            .transpose()?
            .map(|s| s as u8);
        let millis = millis
            .map(|f| in_range("millisecond", f, 0, 999))
            .transpose()?
            .map(|f| f as u16);
        Ok(HvTime {
            hour,
            minute,
            second,
            millis,
        })
    }

    pub fn hour(&self) -> u8 {
        self.hour
    }
    pub fn minute(&self) -> u8 {
        self.minute
    }
    pub fn second(&self) -> Option<u8> {
        self.second
    }
    pub fn millis(&self) -> Option<u16> {
        self.millis
    }
}

/// `d:date-time`. HealthVault has no UTC offset field: a zone, when known, is a codable value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvDateTime {
    pub date: HvDate,
    pub time: Option<HvTime>,
    pub tz: Option<CodableValue>,
}

impl HvDateTime {
    pub fn date_only(date: HvDate) -> Self {
        HvDateTime {
            date,
            time: None,
            tz: None,
        }
    }
}

fn in_range(what: &'static str, value: i64, min: i64, max: i64) -> Result<i64, ModelError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ModelError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    }
}

fn bad_date() -> ModelError {
    ModelError::InvalidDate { what: "date" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_schema_and_the_calendar() {
        assert!(HvDate::new(2009, 1, 8).is_ok());
        assert!(HvDate::new(999, 1, 8).is_err());
        assert!(HvDate::new(2009, 13, 8).is_err());
        assert!(HvDate::new(2009, 2, 29).is_err());
        assert!(HvDate::new(2008, 2, 29).is_ok());
        assert!(HvDate::new(2009, 4, 31).is_err());
    }

    #[test]
    fn times_follow_the_schema() {
        assert!(HvTime::new(11, 4, Some(9), Some(97)).is_ok());
        assert!(HvTime::new(24, 0, None, None).is_err());
        assert!(HvTime::new(23, 60, None, None).is_err());
        assert!(HvTime::new(23, 59, Some(60), None).is_err());
        assert!(HvTime::new(23, 59, Some(1), Some(1000)).is_err());
        // Odd, but the schema allows milliseconds without seconds, so a valid document reads.
        assert!(HvTime::new(23, 59, None, Some(5)).is_ok());
    }
}
