//! The window of values a record may carry: times and days from 2000 to a day past the server's
//! clock, coordinates on the Earth. A value outside it is a phone's bug or an attack, never a
//! home visit, and once stored it would be read by every deadline and statistic of its case; so
//! the server refuses it at the edge (push, PATCH, POST) with the reason, and the phone refuses it
//! before it queues the change.

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};

use crate::cases::GeoPoint;
use crate::sync::{AttemptField, Change, DocumentField};

/// The first year a record may name (the field work this serves began long after).
pub const EARLIEST_YEAR: i32 = 2000;

/// How far past the server's clock a time may be (a phone's clock runs a little ahead).
pub const LEEWAY: Duration = Duration::days(1);

/// The widest accuracy a position may claim, in metres.
pub const WIDEST_ACCURACY_M: f64 = 100_000.0;

/// Refuses a time outside the window around `now`; `what` names it in the reason.
pub fn time(at: DateTime<Utc>, now: DateTime<Utc>, what: &str) -> Result<(), String> {
    let latest = now.checked_add_signed(LEEWAY).unwrap_or(now);
    if at.year() < EARLIEST_YEAR || at > latest {
        return Err(format!(
            "{what} {} is outside {EARLIEST_YEAR}-01-01 to a day past the server's clock",
            at.to_rfc3339()
        ));
    }
    Ok(())
}

/// Refuses a day outside the window around `today`; `what` names it in the reason.
pub fn day(on: NaiveDate, today: NaiveDate, what: &str) -> Result<(), String> {
    let latest = today.checked_add_signed(LEEWAY).unwrap_or(today);
    if on.year() < EARLIEST_YEAR || on > latest {
        return Err(format!(
            "{what} {on} is outside {EARLIEST_YEAR}-01-01 to a day past the server's date"
        ));
    }
    Ok(())
}

/// Refuses a position off the Earth, or with an accuracy that is not a distance.
pub fn point(at: &GeoPoint, what: &str) -> Result<(), String> {
    let on_earth =
        at.lat.is_finite() && at.lon.is_finite() && at.lat.abs() <= 90.0 && at.lon.abs() <= 180.0;
    let accuracy = at
        .accuracy_m
        .is_none_or(|m| m.is_finite() && (0.0..=WIDEST_ACCURACY_M).contains(&m));
    if !on_earth || !accuracy {
        return Err(format!(
            "{what} ({}, {}, accuracy {:?}) is not a place on the Earth with an accuracy of \
             0 to {WIDEST_ACCURACY_M} m",
            at.lat, at.lon, at.accuracy_m
        ));
    }
    Ok(())
}

impl Change {
    /// Why this change carries a value outside the window (at the server's `now`, whose date in
    /// China is `today`), if it does.
    pub fn implausible(&self, now: DateTime<Utc>, today: NaiveDate) -> Option<String> {
        let location = |at: &Option<GeoPoint>| at.as_ref().map_or(Ok(()), |p| point(p, "location"));
        let issued = |on: &Option<NaiveDate>| on.map_or(Ok(()), |d| day(d, today, "issued_on"));
        let checked = match self {
            Self::OpenCase { case } => day(case.first_absent_on, today, "first_absent_on")
                .and_then(|()| {
                    if case.first_absent_on > today {
                        return Err(format!(
                            "the first day of absence {} is after today ({today})",
                            case.first_absent_on
                        ));
                    }
                    Ok(())
                }),
            Self::CreateAttempt { attempt } => time(attempt.occurred_at, now, "occurred_at")
                .and_then(|()| location(&attempt.location)),
            Self::UpdateAttempt { fields, .. } => fields.iter().try_for_each(|f| match f {
                AttemptField::Location(at) => location(at),
                _ => Ok(()),
            }),
            Self::CreateDocument { document } => issued(&document.issued_on),
            Self::UpdateDocument { fields, .. } => fields.iter().try_for_each(|f| match f {
                DocumentField::IssuedOn(on) => issued(on),
                _ => Ok(()),
            }),
            Self::SignAttempt { signature } => time(signature.signed_at, now, "signed_at"),
            Self::UpdateCase { .. } | Self::CreateReview { .. } => Ok(()),
        };
        checked.err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn times_days_and_places_outside_the_window_are_refused_with_their_name() {
        let now = at("2026-12-03T10:00:00Z");
        let today = now.date_naive();
        assert!(time(at("2026-12-04T09:00:00Z"), now, "occurred_at").is_ok());
        assert!(time(at("2000-01-01T00:00:00Z"), now, "occurred_at").is_ok());
        for bad in [
            "1999-12-31T23:59:59Z",
            "2026-12-04T10:00:01Z",
            "9999-12-31T00:00:00Z",
        ] {
            let refused = time(at(bad), now, "occurred_at");
            assert!(
                refused.as_ref().is_err_and(|r| r.contains("occurred_at")),
                "{bad}: {refused:?}"
            );
        }
        let far = DateTime::<Utc>::MAX_UTC;
        assert!(time(far, now, "occurred_at").is_err());
        assert!(day(NaiveDate::MIN, today, "issued_on").is_err());
        assert!(day(NaiveDate::MAX, today, "issued_on").is_err());
        assert!(day(today, today, "issued_on").is_ok());
        let place = |lat, lon, accuracy_m| GeoPoint {
            lat,
            lon,
            accuracy_m,
        };
        assert!(point(&place(26.6, 106.7, Some(12.0)), "location").is_ok());
        for bad in [
            place(1e308, 0.0, None),
            place(f64::NAN, 0.0, None),
            place(0.0, 180.5, None),
            place(0.0, 0.0, Some(-1.0)),
            place(0.0, 0.0, Some(f64::INFINITY)),
        ] {
            assert!(point(&bad, "location").is_err(), "{bad:?}");
        }
    }
}
