//! Business hours for helpdesk SLAs. A [`Calendar`] (an IANA zone, weekly opening hours, whole-day
//! holidays) answers when a target of so many business minutes falls due
//! ([`Calendar::add_business_minutes`]) and how many business minutes passed between two instants
//! ([`Calendar::business_minutes_between`], which pushes a due date by the time a ticket was paused).
//!
//! Opening hours are local wall-clock times; business time is real elapsed time inside them, so on
//! the spring-forward day an opening of 01:00–04:00 lasts two hours and on the fall-back day four. A
//! local time that the clock skips stands for the first instant after the gap; a local time that
//! happens twice stands for its first occurrence. Pure: no clock, no database, no async. Both walks
//! take one step per local date, never one per minute.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The most business minutes an SLA target may be: a year of minutes (525_600).
pub const MAX_TARGET_MINUTES: i64 = 525_600;

/// The most holidays a calendar may list.
const MAX_HOLIDAYS: usize = 1000;
/// The most opening intervals a calendar may have: eight a day.
const MAX_INTERVALS: usize = 7 * 8;
/// How many local dates [`Calendar::add_business_minutes`] looks at before giving up: about ten years.
const HORIZON_DAYS: usize = 3700;
/// Seconds either side of a skipped local time searched for the end of its gap: wider than any UTC offset.
const GAP_SEARCH_SECONDS: i64 = 2 * 24 * 3600;
/// The weekdays in the order of [`Weekday::num_days_from_monday`].
const WEEK: [Weekday; 7] =
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];

/// One weekly opening interval in the calendar's local time: [start, end) on `weekday`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyHours {
    /// The day it recurs on.
    pub weekday: Weekday,
    /// Local opening time, included.
    pub start: NaiveTime,
    /// Local closing time, excluded; after `start` on the same day.
    pub end: NaiveTime,
}

/// Why a calendar is refused. `field()` gives the GraphQL input field name, `reason()` a human sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The zone is not an IANA time zone name.
    #[error("unknown time zone {0}")]
    UnknownZone(String),
    /// An interval does not end after it starts.
    #[error("opening hours on {} do not end after they start", weekday_name(*.weekday))]
    InvertedHours {
        /// The day of the interval.
        weekday: Weekday,
    },
    /// Two intervals on one weekday overlap (one ending when the next starts is fine).
    #[error("opening hours on {} overlap", weekday_name(*.weekday))]
    OverlappingHours {
        /// The day of the intervals.
        weekday: Weekday,
    },
    /// No interval at all: nothing would ever fall due.
    #[error("no opening hours")]
    NoHours,
    /// More than 1000 holidays.
    #[error("more than 1000 holidays")]
    TooManyHolidays,
    /// More than 56 intervals (eight a day).
    #[error("more than 56 opening intervals")]
    TooManyIntervals,
}

impl CalendarError {
    /// The GraphQL input field at fault: `timezone`, `hours` or `holidays`.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        match self {
            Self::UnknownZone(_) => "timezone",
            Self::InvertedHours { .. } | Self::OverlappingHours { .. } | Self::NoHours | Self::TooManyIntervals => {
                "hours"
            }
            Self::TooManyHolidays => "holidays",
        }
    }

    /// A sentence for the person who filled in the form.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Self::UnknownZone(zone) => {
                format!("\"{zone}\" is not a known time zone; use an IANA name such as \"Europe/Berlin\".")
            }
            Self::InvertedHours { weekday } => {
                format!("Opening hours on {} must end after they start.", weekday_name(*weekday))
            }
            Self::OverlappingHours { weekday } => {
                format!(
                    "Opening hours on {} overlap; one interval may only start when another ends.",
                    weekday_name(*weekday)
                )
            }
            Self::NoHours => "A calendar needs at least one opening interval.".to_owned(),
            Self::TooManyHolidays => format!("A calendar may list at most {MAX_HOLIDAYS} holidays."),
            Self::TooManyIntervals => {
                format!("A calendar may have at most {MAX_INTERVALS} opening intervals (8 a day).")
            }
        }
    }
}

/// A business calendar: an IANA zone, weekly hours, holidays (local dates, whole day closed).
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: Tz,
    /// Opening intervals per weekday, Monday first; each list sorted and disjoint.
    week: [Vec<(NaiveTime, NaiveTime)>; 7],
    /// Sorted and deduplicated, for binary search.
    holidays: Vec<NaiveDate>,
}

impl Calendar {
    /// Checks and builds a calendar. Intervals may come in any order. The holiday limit applies to
    /// the list as given; a date listed twice is otherwise harmless.
    ///
    /// # Errors
    /// [`CalendarError::UnknownZone`] first, then the `hours` errors (none, too many, inverted,
    /// overlapping), then [`CalendarError::TooManyHolidays`].
    pub fn new(zone: &str, hours: &[WeeklyHours], holidays: &[NaiveDate]) -> Result<Self, CalendarError> {
        let tz: Tz = zone.parse().map_err(|_| CalendarError::UnknownZone(zone.to_owned()))?;
        if hours.is_empty() {
            return Err(CalendarError::NoHours);
        }
        if hours.len() > MAX_INTERVALS {
            return Err(CalendarError::TooManyIntervals);
        }
        if let Some(bad) = hours.iter().find(|h| h.start >= h.end) {
            return Err(CalendarError::InvertedHours { weekday: bad.weekday });
        }
        let mut week: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for h in hours {
            week[day_index(h.weekday)].push((h.start, h.end));
        }
        for (weekday, day) in WEEK.into_iter().zip(&mut week) {
            day.sort_unstable();
            if day.windows(2).any(|pair| pair[0].1 > pair[1].0) {
                return Err(CalendarError::OverlappingHours { weekday });
            }
        }
        if holidays.len() > MAX_HOLIDAYS {
            return Err(CalendarError::TooManyHolidays);
        }
        let mut holidays = holidays.to_vec();
        holidays.sort_unstable();
        holidays.dedup();
        Ok(Self { zone: tz, week, holidays })
    }

    /// The calendar's time zone.
    #[must_use]
    pub const fn zone(&self) -> Tz {
        self.zone
    }

    /// The instant `minutes` business minutes after `from` (minutes >= 0). If `from` is outside
    /// opening hours, counting starts at the next opening. `minutes == 0` returns `from` unchanged if it is
    /// inside hours, else the next opening. A target used up exactly at a closing time is due at that
    /// closing time, not at the next opening. A negative `minutes` counts as 0.
    ///
    /// Returns None if the due instant lies beyond about ten years (3700 local dates) of `from`: no
    /// opening at all in that span (every open day a holiday), or a target too long for hours that
    /// sparse (a year of minutes needs at least 10 hours a week).
    #[must_use]
    pub fn add_business_minutes(&self, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        let mut remaining = TimeDelta::try_minutes(minutes.max(0))?;
        for date in self.first_date(from).iter_days().take(HORIZON_DAYS) {
            for (start, end) in self.openings(date) {
                if end <= from {
                    continue;
                }
                let start = start.max(from);
                let open = end - start;
                if remaining <= open {
                    return start.checked_add_signed(remaining);
                }
                remaining -= open;
            }
        }
        None
    }

    /// Business minutes (whole minutes, rounded down) inside opening hours between `from` and `to`;
    /// 0 if `to <= from`. Takes one step per local date in the span.
    #[must_use]
    pub fn business_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let last = self.local_date(to);
        let last = last.succ_opt().unwrap_or(last);
        let mut open = TimeDelta::zero();
        for date in self.first_date(from).iter_days().take_while(|date| *date <= last) {
            for (start, end) in self.openings(date) {
                let (start, end) = (start.max(from), end.min(to));
                if start < end {
                    open += end - start;
                }
            }
        }
        open.num_minutes()
    }

    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.zone).date_naive()
    }

    /// Where both walks start: the day before `instant`'s local date, in case an interval of that day
    /// reaches past it (a midnight clock shift).
    fn first_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        let date = self.local_date(instant);
        date.pred_opt().unwrap_or(date)
    }

    /// The opening intervals of a local date as instants, in order; none on a holiday. An interval the
    /// clock skips entirely is left out.
    fn openings(&self, date: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> {
        let hours: &[(NaiveTime, NaiveTime)] =
            if self.holidays.binary_search(&date).is_ok() { &[] } else { &self.week[day_index(date.weekday())] };
        hours.iter().filter_map(move |&(start, end)| {
            let (start, end) = (self.instant(date.and_time(start))?, self.instant(date.and_time(end))?);
            (start < end).then_some((start, end))
        })
    }

    /// A local wall-clock time as an instant: the earlier one if it happens twice, the first instant
    /// after the gap if the clock skips it.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
            LocalResult::None => self.end_of_gap(local),
        }
    }

    /// The first instant whose local time is at or after `local`, a time the clock skips. Local time
    /// passes `local` only by jumping over it, so any whole second `t` where local time is before
    /// `local` at `t - 1` and not before at `t` ends that gap: a binary search finds one.
    fn end_of_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let reached = |second: i64| {
            DateTime::from_timestamp(second, 0).map(|at| at.with_timezone(&self.zone).naive_local() >= local)
        };
        let guess = local.and_utc().timestamp();
        let (mut before, mut after) = (guess - GAP_SEARCH_SECONDS, guess + GAP_SEARCH_SECONDS);
        if reached(before)? || !reached(after)? {
            return None;
        }
        while after - before > 1 {
            let middle = before + (after - before) / 2;
            if reached(middle)? {
                after = middle;
            } else {
                before = middle;
            }
        }
        DateTime::from_timestamp(after, 0)
    }
}

/// Checks a target: 1..=MAX_TARGET_MINUTES, else Err(reason string).
///
/// # Errors
/// A sentence naming the allowed range, for zero, negative or too long targets.
pub fn check_target(minutes: i64) -> Result<i64, String> {
    if (1..=MAX_TARGET_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!("A target must be between 1 and {MAX_TARGET_MINUTES} business minutes (a year); got {minutes}."))
    }
}

fn day_index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

const fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: i64 = 240;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        let LocalResult::Single(at) = Utc.with_ymd_and_hms(y, m, d, h, min, 0) else { panic!("bad test instant") };
        at
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        let Some(date) = NaiveDate::from_ymd_opt(y, m, d) else { panic!("bad test date") };
        date
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        let Some(time) = NaiveTime::from_hms_opt(h, m, 0) else { panic!("bad test time") };
        time
    }

    fn hours(weekday: Weekday, start: (u32, u32), end: (u32, u32)) -> WeeklyHours {
        WeeklyHours { weekday, start: time(start.0, start.1), end: time(end.0, end.1) }
    }

    fn weekdays(start: (u32, u32), end: (u32, u32)) -> Vec<WeeklyHours> {
        WEEK[..5].iter().map(|&day| hours(day, start, end)).collect()
    }

    fn new_calendar(zone: &str, hours: &[WeeklyHours], holidays: &[NaiveDate]) -> Calendar {
        match Calendar::new(zone, hours, holidays) {
            Ok(calendar) => calendar,
            Err(error) => panic!("test calendar refused: {error}"),
        }
    }

    /// Mon–Fri 08:00–18:00 in Lagos (UTC+1 all year).
    fn lagos(holidays: &[NaiveDate]) -> Calendar {
        new_calendar("Africa/Lagos", &weekdays((8, 0), (18, 0)), holidays)
    }

    fn refusal(zone: &str, hours: &[WeeklyHours], holidays: &[NaiveDate]) -> CalendarError {
        match Calendar::new(zone, hours, holidays) {
            Ok(_) => panic!("calendar accepted"),
            Err(error) => error,
        }
    }

    #[test]
    fn the_2026_test_dates_fall_on_the_weekdays_the_tests_assume() {
        assert_eq!(date(2026, 3, 2).weekday(), Weekday::Mon);
        assert_eq!(date(2026, 3, 7).weekday(), Weekday::Sat);
        assert_eq!(date(2026, 3, 27).weekday(), Weekday::Fri);
        assert_eq!(date(2026, 3, 29).weekday(), Weekday::Sun);
        assert_eq!(date(2026, 10, 23).weekday(), Weekday::Fri);
        assert_eq!(date(2026, 10, 25).weekday(), Weekday::Sun);
    }

    #[test]
    fn four_hours_from_monday_16_00_are_due_tuesday_10_00() {
        // Mon 2026-03-02 16:00 WAT = 15:00 UTC; 2 h on Monday, 2 h on Tuesday → Tue 10:00 WAT.
        assert_eq!(lagos(&[]).add_business_minutes(utc(2026, 3, 2, 15, 0), TARGET), Some(utc(2026, 3, 3, 9, 0)));
    }

    #[test]
    fn four_hours_from_friday_17_00_skip_the_weekend_to_monday_11_00() {
        assert_eq!(lagos(&[]).add_business_minutes(utc(2026, 3, 6, 16, 0), TARGET), Some(utc(2026, 3, 9, 10, 0)));
    }

    #[test]
    fn a_holiday_tuesday_pushes_the_due_to_wednesday_10_00() {
        let calendar = lagos(&[date(2026, 3, 3)]);
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 2, 15, 0), TARGET), Some(utc(2026, 3, 4, 9, 0)));
    }

    #[test]
    fn a_pause_pushes_the_due_by_the_business_minutes_it_lasted() {
        let calendar = lagos(&[]);
        // Paused Mon 10:00–13:00 WAT: three business hours.
        let paused = calendar.business_minutes_between(utc(2026, 3, 2, 9, 0), utc(2026, 3, 2, 12, 0));
        assert_eq!(paused, 180);
        // Created Mon 09:00 WAT: due 13:00 WAT without the pause, 16:00 WAT with it.
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 2, 8, 0), TARGET), Some(utc(2026, 3, 2, 12, 0)));
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 2, 8, 0), TARGET + paused), Some(utc(2026, 3, 2, 15, 0)));
        // Paused Mon 17:00 – Tue 09:00 WAT: only the hour before closing and the hour after opening count.
        assert_eq!(calendar.business_minutes_between(utc(2026, 3, 2, 16, 0), utc(2026, 3, 3, 8, 0)), 120);
    }

    #[test]
    fn a_ticket_created_on_saturday_counts_from_monday_08_00() {
        let calendar = lagos(&[]);
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 7, 11, 0), TARGET), Some(utc(2026, 3, 9, 11, 0)));
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 7, 11, 0), 0), Some(utc(2026, 3, 9, 7, 0)));
    }

    #[test]
    fn zero_minutes_keep_an_instant_inside_hours_and_move_one_at_closing_time() {
        let calendar = lagos(&[]);
        let inside = utc(2026, 3, 2, 9, 30) + TimeDelta::milliseconds(1234);
        assert_eq!(calendar.add_business_minutes(inside, 0), Some(inside));
        assert_eq!(calendar.add_business_minutes(inside, -5), Some(inside), "negative counts as zero");
        // Mon 18:00 WAT is closed: the next opening is Tue 08:00 WAT.
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 2, 17, 0), 0), Some(utc(2026, 3, 3, 7, 0)));
    }

    #[test]
    fn a_target_used_up_at_closing_time_is_due_at_closing_time() {
        assert_eq!(lagos(&[]).add_business_minutes(utc(2026, 3, 2, 13, 0), TARGET), Some(utc(2026, 3, 2, 17, 0)));
    }

    #[test]
    fn a_lunch_break_is_skipped() {
        let mut split = weekdays((8, 0), (12, 0));
        split.extend(weekdays((13, 0), (17, 0)));
        let calendar = new_calendar("Africa/Lagos", &split, &[]);
        // Mon 11:00 WAT + 2 h: 11–12, then 13–14.
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 2, 10, 0), 120), Some(utc(2026, 3, 2, 13, 0)));
        assert_eq!(calendar.business_minutes_between(utc(2026, 3, 2, 7, 0), utc(2026, 3, 2, 17, 0)), 8 * 60);
    }

    #[test]
    fn partial_minutes_are_rounded_down_and_reversed_spans_are_empty() {
        let calendar = lagos(&[]);
        let from = utc(2026, 3, 2, 7, 0);
        assert_eq!(calendar.business_minutes_between(from, from + TimeDelta::seconds(59)), 0);
        assert_eq!(calendar.business_minutes_between(from, from + TimeDelta::seconds(119)), 1);
        assert_eq!(calendar.business_minutes_between(from, from), 0);
        assert_eq!(calendar.business_minutes_between(from + TimeDelta::hours(1), from), 0);
    }

    #[test]
    fn berlin_office_hours_follow_both_dst_switches_of_2026() {
        let calendar = new_calendar("Europe/Berlin", &weekdays((8, 0), (18, 0)), &[]);
        // Fri 2026-03-27 16:00 CET = 15:00 UTC → Mon 2026-03-30 10:00 CEST = 08:00 UTC.
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 27, 15, 0), TARGET), Some(utc(2026, 3, 30, 8, 0)));
        // Fri 2026-10-23 16:00 CEST = 14:00 UTC → Mon 2026-10-26 10:00 CET = 09:00 UTC.
        assert_eq!(calendar.add_business_minutes(utc(2026, 10, 23, 14, 0), TARGET), Some(utc(2026, 10, 26, 9, 0)));
    }

    #[test]
    fn sunday_01_00_to_04_00_lasts_two_real_hours_in_spring_and_four_in_autumn() {
        let calendar = new_calendar("Europe/Berlin", &[hours(Weekday::Sun, (1, 0), (4, 0))], &[]);
        // 2026-03-29: 01:00 CET = 00:00 UTC, 04:00 CEST = 02:00 UTC.
        assert_eq!(calendar.business_minutes_between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0)), 120);
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 28, 0, 0), 90), Some(utc(2026, 3, 29, 1, 30)));
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 28, 0, 0), 120), Some(utc(2026, 3, 29, 2, 0)));
        // 2026-10-25: 01:00 CEST = 23:00 UTC the day before, 04:00 CET = 03:00 UTC.
        assert_eq!(calendar.business_minutes_between(utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 0, 0)), 240);
        // 90 minutes reach 02:30 CEST, 150 minutes 02:30 CET.
        assert_eq!(calendar.add_business_minutes(utc(2026, 10, 24, 0, 0), 90), Some(utc(2026, 10, 25, 0, 30)));
        assert_eq!(calendar.add_business_minutes(utc(2026, 10, 24, 0, 0), 150), Some(utc(2026, 10, 25, 1, 30)));
        assert_eq!(calendar.add_business_minutes(utc(2026, 10, 24, 0, 0), 240), Some(utc(2026, 10, 25, 3, 0)));
        // An ordinary Sunday has three hours.
        assert_eq!(calendar.business_minutes_between(utc(2026, 6, 13, 0, 0), utc(2026, 6, 15, 0, 0)), 180);
    }

    #[test]
    fn a_skipped_opening_time_opens_after_the_gap_and_a_repeated_one_at_its_first_occurrence() {
        let calendar = new_calendar("Europe/Berlin", &[hours(Weekday::Sun, (2, 30), (4, 0))], &[]);
        // 02:30 does not exist on 2026-03-29: the day opens at 03:00 CEST = 01:00 UTC, for one hour.
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 28, 0, 0), 0), Some(utc(2026, 3, 29, 1, 0)));
        assert_eq!(calendar.business_minutes_between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0)), 60);
        // 02:30 happens twice on 2026-10-25: it opens at 02:30 CEST = 00:30 UTC, until 04:00 CET = 03:00 UTC.
        assert_eq!(calendar.add_business_minutes(utc(2026, 10, 24, 0, 0), 0), Some(utc(2026, 10, 25, 0, 30)));
        assert_eq!(calendar.business_minutes_between(utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 0, 0)), 150);
        // An interval inside the gap does not exist at all.
        let skipped = new_calendar("Europe/Berlin", &[hours(Weekday::Sun, (2, 10), (2, 50))], &[]);
        assert_eq!(skipped.business_minutes_between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 30, 0, 0)), 0);
        assert_eq!(skipped.add_business_minutes(utc(2026, 3, 28, 0, 0), 0), Some(utc(2026, 4, 5, 0, 10)));
    }

    #[test]
    fn santiago_shifts_its_clocks_at_midnight_without_double_counting() {
        let calendar = new_calendar("America/Santiago", &WEEK.map(|day| hours(day, (0, 0), (23, 59))), &[]);
        // Sun 2026-09-06 00:00 does not exist: Saturday closes at 23:59 -04 = 03:59 UTC, Sunday opens
        // at 01:00 -03 = 04:00 UTC.
        assert_eq!(calendar.add_business_minutes(utc(2026, 9, 6, 3, 59), 0), Some(utc(2026, 9, 6, 4, 0)));
        // Sat 2026-04-04 23:00–24:00 happens twice: Saturday closes at the first 23:59 (-03, 02:59 UTC),
        // Sunday opens at 00:00 -04 = 04:00 UTC.
        assert_eq!(calendar.add_business_minutes(utc(2026, 4, 5, 2, 58), 2), Some(utc(2026, 4, 5, 4, 1)));
        assert_eq!(calendar.business_minutes_between(utc(2026, 4, 5, 0, 0), utc(2026, 4, 5, 5, 0)), 179 + 60);
    }

    #[test]
    fn counting_the_minutes_to_a_due_instant_gives_back_the_target() {
        let mut split = weekdays((8, 0), (12, 0));
        split.extend(weekdays((13, 0), (17, 0)));
        let calendars = [
            lagos(&[date(2026, 5, 1), date(2026, 12, 25)]),
            new_calendar("Europe/Berlin", &split, &[date(2026, 4, 3), date(2026, 10, 26)]),
            new_calendar(
                "Europe/Berlin",
                &[hours(Weekday::Sun, (1, 0), (4, 0)), hours(Weekday::Sat, (22, 0), (23, 59))],
                &[],
            ),
            new_calendar("America/New_York", &WEEK.map(|day| hours(day, (0, 0), (23, 59))), &[]),
            new_calendar("America/Santiago", &WEEK.map(|day| hours(day, (0, 0), (23, 59))), &[]),
        ];
        let mut seed: i64 = 17;
        let year_start = utc(2026, 1, 1, 0, 0).timestamp();
        for calendar in &calendars {
            for _ in 0..40 {
                seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
                let Some(from) = DateTime::from_timestamp(year_start + seed % (365 * 86_400), 0) else { panic!() };
                let Some(opening) = calendar.add_business_minutes(from, 0) else { panic!("no opening after {from}") };
                for minutes in [1, 59, 240, 600, 6000] {
                    let Some(due) = calendar.add_business_minutes(from, minutes) else { panic!("no due after {from}") };
                    assert!(due > opening, "{from} + {minutes}");
                    assert_eq!(calendar.business_minutes_between(opening, due), minutes, "{from} + {minutes}");
                    assert_eq!(calendar.business_minutes_between(from, due), minutes, "{from} + {minutes}");
                }
            }
        }
    }

    #[test]
    fn a_year_long_target_with_20_holidays_is_due_years_later() {
        let holidays: Vec<NaiveDate> =
            (1..=12).map(|m| date(2026, m, 15)).chain((1..=8).map(|m| date(2027, m, 15))).collect();
        let calendar = lagos(&holidays);
        let from = utc(2026, 3, 2, 7, 0);
        let Some(due) = calendar.add_business_minutes(from, MAX_TARGET_MINUTES) else { panic!("no due instant") };
        assert!(due > from + TimeDelta::days(365));
        assert_eq!(calendar.business_minutes_between(from, due), MAX_TARGET_MINUTES);
    }

    #[test]
    fn no_due_instant_when_nothing_opens_within_ten_years() {
        let monday = [hours(Weekday::Mon, (8, 0), (9, 0))];
        let every_monday: Vec<NaiveDate> = date(2026, 3, 2).iter_weeks().take(1000).collect();
        let closed = new_calendar("Africa/Lagos", &monday, &every_monday);
        assert_eq!(closed.add_business_minutes(utc(2026, 3, 1, 0, 0), 1), None);
        // One hour a week cannot hold a year of minutes within ten years.
        let sparse = new_calendar("Africa/Lagos", &monday, &[]);
        assert_eq!(sparse.add_business_minutes(utc(2026, 3, 1, 0, 0), MAX_TARGET_MINUTES), None);
        assert_eq!(sparse.add_business_minutes(utc(2026, 3, 1, 0, 0), i64::MAX), None);
    }

    #[test]
    fn bad_calendars_are_refused_with_their_field() {
        let unknown = refusal("Mars/Olympus", &weekdays((8, 0), (18, 0)), &[]);
        assert_eq!(unknown, CalendarError::UnknownZone("Mars/Olympus".to_owned()));
        assert_eq!(unknown.field(), "timezone");
        assert!(unknown.reason().contains("Mars/Olympus"));

        let inverted = refusal("Africa/Lagos", &[hours(Weekday::Tue, (18, 0), (8, 0))], &[]);
        assert_eq!(inverted, CalendarError::InvertedHours { weekday: Weekday::Tue });
        assert_eq!(inverted.field(), "hours");
        assert!(inverted.reason().contains("Tuesday"));
        let empty = refusal("Africa/Lagos", &[hours(Weekday::Tue, (8, 0), (8, 0))], &[]);
        assert_eq!(empty, CalendarError::InvertedHours { weekday: Weekday::Tue });

        let overlapping = [hours(Weekday::Wed, (11, 0), (13, 0)), hours(Weekday::Wed, (8, 0), (12, 0))];
        let overlap = refusal("Africa/Lagos", &overlapping, &[]);
        assert_eq!(overlap, CalendarError::OverlappingHours { weekday: Weekday::Wed });
        assert_eq!(overlap.field(), "hours");
        assert_eq!(overlap.to_string(), "opening hours on Wednesday overlap");

        assert_eq!(refusal("Africa/Lagos", &[], &[]), CalendarError::NoHours);
        assert_eq!(CalendarError::NoHours.field(), "hours");

        let many: Vec<WeeklyHours> =
            (0..57).zip(WEEK.iter().cycle()).map(|(n, &day)| hours(day, (n / 7, 0), (n / 7, 30))).collect();
        assert_eq!(refusal("Africa/Lagos", &many, &[]), CalendarError::TooManyIntervals);
        assert_eq!(CalendarError::TooManyIntervals.field(), "hours");
        assert!(Calendar::new("Africa/Lagos", &many[..56], &[]).is_ok());

        let days: Vec<NaiveDate> = date(2026, 1, 1).iter_days().take(1001).collect();
        assert_eq!(refusal("Africa/Lagos", &weekdays((8, 0), (18, 0)), &days), CalendarError::TooManyHolidays);
        assert_eq!(CalendarError::TooManyHolidays.field(), "holidays");
        assert!(Calendar::new("Africa/Lagos", &weekdays((8, 0), (18, 0)), &days[..1000]).is_ok());
    }

    #[test]
    fn touching_intervals_are_accepted_and_count_as_one() {
        let touching = [hours(Weekday::Mon, (12, 0), (13, 0)), hours(Weekday::Mon, (8, 0), (12, 0))];
        let calendar = new_calendar("Africa/Lagos", &touching, &[]);
        assert_eq!(calendar.zone(), chrono_tz::Africa::Lagos);
        // Mon 11:30 WAT + 60 min crosses 12:00 without a break → 12:30 WAT.
        assert_eq!(calendar.add_business_minutes(utc(2026, 3, 2, 10, 30), 60), Some(utc(2026, 3, 2, 11, 30)));
        assert_eq!(calendar.business_minutes_between(utc(2026, 3, 2, 0, 0), utc(2026, 3, 3, 0, 0)), 300);
    }

    #[test]
    fn targets_must_be_one_minute_to_one_year() {
        for bad in [0, -5, 525_601] {
            assert!(check_target(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(check_target(1), Ok(1));
        assert_eq!(check_target(525_600), Ok(525_600));
    }
}
