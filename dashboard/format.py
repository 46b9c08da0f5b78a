"""How figures are written on screen: one style for rates, durations and missing values."""

from __future__ import annotations

MISSING = "–"


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above, with a leading minus when negative."""
    if seconds is None:
        return MISSING
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.0f}"


def rate_level(value: float | None, amber_below: float, red_below: float) -> str:
    """``ok``, ``amber`` or ``red`` for a rate where higher is better; ``none`` without data."""
    if value is None:
        return "none"
    if value < red_below:
        return "red"
    return "amber" if value < amber_below else "ok"
