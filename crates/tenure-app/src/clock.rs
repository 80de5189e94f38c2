//! The wall clock, read in one place: every pipeline takes its dates and
//! times as arguments, and the surfaces ask here for "now".

use jiff::Timestamp;
use jiff::civil::Date;

/// Today's UTC date.
pub fn today() -> Date {
    tenure_core::model::utc_date(Timestamp::now())
}

/// Now, in microseconds since the Unix epoch (the store's timestamps).
pub fn now_micros() -> i64 {
    Timestamp::now().as_microsecond()
}
