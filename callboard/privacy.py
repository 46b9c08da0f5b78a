"""Customers' personal data: where Callboard keeps it, and how it is shown to whoever may not see it.

Personal data is a caller's phone number and a complaint's customer (a name, or sometimes a
number). It arrives in the events' :data:`EVENT_FIELDS` and is kept only in :data:`COLUMNS`.
Everything that shows or sends it (pages, callback answers, pushes, downloads, the JSON API, alert
messages) goes through :func:`shown_number` / :func:`shown_customer`, and whoever calls them says
whether the person it goes to may see full values (docs/security.md, "Personal data"). Logs never
carry it, masked or not.
"""

from __future__ import annotations

# The protocol events' fields that hold personal data (docs/events.md).
EVENT_FIELDS = ("caller", "customer")
# The columns that hold it: the derived tables' own, the event log's bodies (JSON, holding the
# EVENT_FIELDS) and the dead letters' raw text (whatever the feed sent, unreadable or refused).
COLUMNS = (("calls", "caller"), ("complaints", "customer"), ("event_log", "body"), ("dead_letters", "raw"))

MASK = "••••"
# A number with fewer digits than this is masked entirely: its last 4 digits would show most of it.
SHORTEST_SHOWN = 7
_NUMBER_CHARACTERS = frozenset("0123456789+-() .")


def _is_masked(value: str) -> bool:
    tail = value[len(MASK) + 1:]
    return value == MASK or (value.startswith(MASK + " ") and len(tail) == 4 and tail.isdigit())


def _is_phone_number(value: str) -> bool:
    return sum(ch.isdigit() for ch in value) >= SHORTEST_SHOWN and set(value) <= _NUMBER_CHARACTERS


def mask_number(number: str | None) -> str | None:
    """A phone number as shown to whoever may not see it: its last 4 digits (``•••• 1234``).

    Anything that is not plainly a phone number of at least SHORTEST_SHOWN digits (a short number,
    digits mixed with words) is masked entirely; a value masked already stays as it is; none is None.
    """
    if not number:
        return None
    if _is_masked(number):
        return number
    if _is_phone_number(number):
        return f"{MASK} {''.join(ch for ch in number if ch.isdigit())[-4:]}"
    return MASK


def mask_name(name: str | None) -> str | None:
    """A customer's name as shown to whoever may not see it: nothing of it (``••••``); none is None."""
    return MASK if name else None


def mask_customer(customer: str | None) -> str | None:
    """A complaint's customer, a name or a phone number, masked as :func:`mask_name` or
    :func:`mask_number` masks it (a number keeps its last 4 digits, a name nothing)."""
    if customer and (_is_masked(customer) or _is_phone_number(customer)):
        return mask_number(customer)
    return mask_name(customer)


def shown_number(number: str | None, *, full: bool) -> str | None:
    """A phone number as shown to someone: whole if they may see ``full`` values, else masked."""
    return number if full else mask_number(number)


def shown_customer(customer: str | None, *, full: bool) -> str | None:
    """A complaint's customer as shown to someone: whole if they may see ``full`` values, else masked."""
    return customer if full else mask_customer(customer)
