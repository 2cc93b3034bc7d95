"""The program's week: school days, staffing windows, and bell times.

One home for these facts: the weekdays a post is staffed (``WEEKDAYS``), the
two staffing windows (``WINDOWS``: ``am`` around arrival, ``pm`` around
dismissal), ``HH:MM`` clock arithmetic, and parsing CPS ``School_Hours`` text
into bell times from which each school's windows are derived.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from safepassage.errors import MissingColumnError

__all__ = [
    "ARRIVE_AFTER_MIN",
    "ARRIVE_BEFORE_MIN",
    "DISMISS_AFTER_MIN",
    "DISMISS_BEFORE_MIN",
    "WEEKDAYS",
    "WINDOWS",
    "WINDOW_WORDS",
    "bell_times",
    "clock_minutes",
    "hhmm",
    "parse_school_hours",
    "school_weekday",
    "school_windows",
    "weekday_order",
    "windows_around_bells",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
WINDOWS = ("am", "pm")
WINDOW_WORDS = {"am": "morning", "pm": "afternoon"}
_WEEK = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


_DAY_NAMES = {name.lower(): name for name in WEEKDAYS} | {
    full: short
    for short, full in zip(
        WEEKDAYS, ("monday", "tuesday", "wednesday", "thursday", "friday"), strict=True
    )
}


def school_weekday(text: str) -> str | None:
    """``Mon`` .. ``Fri`` for a school weekday written short or in full, any case; else None."""
    return _DAY_NAMES.get(text.strip().lower())


def weekday_order(day: str) -> int:
    """Mon..Sun as 0..6 (unknown names last), for sorting."""
    return _WEEK.index(day) if day in _WEEK else len(_WEEK)


_TIME = r"(\d{1,2})\s*[:.]\s*(\d{2})\s*([ap])?\.?\s*(?:m\b\.?)?"
_RANGE = re.compile(_TIME + r"\s*[-–]\s*" + _TIME.replace("[:.]", "[:.-]"), re.IGNORECASE)


def _minutes(hour: int, minute: int, meridiem: str | None, *, default: str) -> int:
    meridiem = (meridiem or default).lower()
    hour %= 12
    return (hour + (12 if meridiem == "p" else 0)) * 60 + minute


def hhmm(minutes: int) -> str:
    """``HH:MM`` of minutes after midnight."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def clock_minutes(text: str) -> int:
    """Minutes after midnight of ``HH:MM`` (ValueError when it is not)."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def parse_school_hours(text: object) -> tuple[str, str] | None:
    """Parse a CPS ``School_Hours`` value into bell start and end times.

    Handles ``07:45 AM-02:45 PM``, ``8:00 am-3:30 pm``, ``8:00AM - 3:00PM``,
    ``8:45 a.m. - 3:45 p.m.`` and ``7:45-2:45`` (no meridiem: the start is taken
    as morning and the end as afternoon).  When the text lists several
    schedules (``M-Th ...; F ...``, ``Main ..., Branch ...``) the first is used.
    An end earlier than the start (``7:30 am - 4:30 am``) is read as afternoon.

    Parameters
    ----------
    text : str or None
        The ``School_Hours`` cell; NaN, None or text without a time range give None.

    Returns
    -------
    tuple of str or None
        ``(start, end)`` as ``HH:MM`` (24-hour clock, local time), or None when
        no plausible range (start 05:00-11:59, end after start and before 21:00) is found.
    """
    if not isinstance(text, str):
        return None
    match = _RANGE.search(text)
    if match is None:
        return None
    h1, m1, ap1, h2, m2, ap2 = match.groups()
    start = _minutes(int(h1), int(m1), ap1, default="a")
    end = _minutes(int(h2), int(m2), ap2, default="p")
    if end <= start and end < 12 * 60:
        end += 12 * 60
    if not (5 * 60 <= start < 12 * 60 and start < end < 21 * 60) or int(m1) > 59 or int(m2) > 59:
        return None
    return hhmm(start), hhmm(end)


# The program's 5-hour split shift around each school's bells: 2 h around arrival (90 min
# before the start bell to 30 min after) and 3 h around dismissal (30 min before to
# 150 min after, students staying for after-school programmes go home later).
ARRIVE_BEFORE_MIN, ARRIVE_AFTER_MIN = 90, 30
DISMISS_BEFORE_MIN, DISMISS_AFTER_MIN = 30, 150


def school_windows(
    profile: pd.DataFrame,
    *,
    default_start: str = "08:00",
    default_end: str = "15:00",
    arrive_before_min: int = ARRIVE_BEFORE_MIN,
    arrive_after_min: int = ARRIVE_AFTER_MIN,
    dismiss_before_min: int = DISMISS_BEFORE_MIN,
    dismiss_after_min: int = DISMISS_AFTER_MIN,
) -> pd.DataFrame:
    """Morning and afternoon staffing windows of each school from its bell times.

    Parameters
    ----------
    profile : pandas.DataFrame
        CPS school profile with ``School_ID`` and ``School_Hours`` columns.
    default_start, default_end : str
        Bell times (``HH:MM``) used when ``School_Hours`` does not parse.
    arrive_before_min, arrive_after_min : int
        The morning window runs from this many minutes before the start bell to
        this many after it.
    dismiss_before_min, dismiss_after_min : int
        The afternoon window runs from this many minutes before dismissal to
        this many after it.

    Returns
    -------
    pandas.DataFrame
        Columns ``school_id`` (str), ``window`` (``am``/``pm``), ``start``,
        ``end`` (``HH:MM``), ``minutes`` (int) and ``used_fallback`` (bool: the
        default bell times were used).
    """
    missing = [c for c in ("School_ID", "School_Hours") if c not in profile.columns]
    if missing:
        raise MissingColumnError(missing, found=profile.columns, source="school profile")
    bells = bell_times(
        profile["School_Hours"], default_start=default_start, default_end=default_end
    )
    bells.insert(0, "school_id", profile["School_ID"].astype(str).to_numpy())
    return windows_around_bells(
        bells,
        arrive_before_min=arrive_before_min,
        arrive_after_min=arrive_after_min,
        dismiss_before_min=dismiss_before_min,
        dismiss_after_min=dismiss_after_min,
    )


def bell_times(hours: Iterable[object], *, default_start: str, default_end: str) -> pd.DataFrame:
    """Bell times of each ``School_Hours`` value, the defaults where it does not parse.

    Returns
    -------
    pandas.DataFrame
        ``bell_start``, ``bell_end`` (``HH:MM``) and ``bells_default`` (bool: the
        default bell times were used), one row per value in order.
    """
    parsed = [parse_school_hours(text) for text in hours]
    return pd.DataFrame(
        {
            "bell_start": [p[0] if p else default_start for p in parsed],
            "bell_end": [p[1] if p else default_end for p in parsed],
            "bells_default": [p is None for p in parsed],
        }
    )


def windows_around_bells(
    bells: pd.DataFrame,
    *,
    arrive_before_min: int,
    arrive_after_min: int,
    dismiss_before_min: int,
    dismiss_after_min: int,
) -> pd.DataFrame:
    """The ``am`` and ``pm`` staffing windows around each school's bells.

    ``bells`` holds ``school_id``, ``bell_start``, ``bell_end`` and
    ``bells_default`` (see :func:`bell_times`); the result's columns are
    :func:`school_windows`'.
    """
    rows = []
    for school_id, start_bell, end_bell, fallback in bells[
        ["school_id", "bell_start", "bell_end", "bells_default"]
    ].itertuples(index=False):
        spans = {
            "am": (
                clock_minutes(start_bell) - arrive_before_min,
                clock_minutes(start_bell) + arrive_after_min,
            ),
            "pm": (
                clock_minutes(end_bell) - dismiss_before_min,
                clock_minutes(end_bell) + dismiss_after_min,
            ),
        }
        for window, (start, end) in spans.items():
            rows.append(
                (str(school_id), window, hhmm(start), hhmm(end), end - start, bool(fallback))
            )
    return pd.DataFrame(
        rows, columns=["school_id", "window", "start", "end", "minutes", "used_fallback"]
    )
