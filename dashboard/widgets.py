"""Pieces of the pages kept outside the page modules (which Dash imports itself): what more than
one page draws alike, and what a page's tests call directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import html

from .labels import text


def status_line(snapshot: dict[str, Any], request: dict[str, Any], lang: str) -> html.Div:
    updated = snapshot.get("data_updated_at")
    updated_text = clock(updated) if updated else text("never", lang)
    last_update = f"{text('last_update', lang)} {updated_text}"
    shown = html.Span(view_title(request, lang), className="view-title")
    if snapshot.get("stale"):
        reason = text("stale_database" if snapshot.get("database_error") else "stale_feed", lang)
        return html.Div(className="status-line stale", children=[
            html.Span([html.Strong(text("stale", lang)), f" — {reason}; {last_update}"]), shown])
    return html.Div(className="status-line", children=[
        html.Span(f"{text('live_since', lang)} {clock(snapshot['since'])} · {last_update}"), shown])


def view_title(request: dict[str, Any], lang: str) -> str:
    """What part of the floor this wall shows: "billing · sales — Team Blue", or nothing for all of it."""
    parts = [" · ".join(request.get("queues") or [])]
    if request.get("team"):
        parts.append(f"{text('team', lang)} {request['team']}")
    return " — ".join(part for part in parts if part)


def clock(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M:%S")


def url_list(value: str | list[str] | None) -> list[str]:
    """A query parameter given once, several times, or not at all, as a list."""
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def url_names(value: str | list[str] | None) -> list[str] | None:
    """``?queue=billing,sales`` or ``?queue=billing&queue=sales`` -> ["billing", "sales"]; None for none."""
    names = [name.strip() for item in url_list(value) for name in item.split(",") if name.strip()]
    return list(dict.fromkeys(names)) or None


def url_one(value: str | list[str] | None) -> str | None:
    """The first non-empty value of a query parameter."""
    return next((v.strip() for v in url_list(value) if v.strip()), None)


def sorted_agents(agents: list[dict[str, Any]], column: str, descending: bool) -> list[dict[str, Any]]:
    """By ``column``, ties by name; agents without a value for it last, whichever the direction."""
    by_name = sorted(agents, key=lambda a: (a["name"].casefold(), a["agent"]))
    present = [a for a in by_name if a.get(column) is not None]
    missing = [a for a in by_name if a.get(column) is None]

    def key(agent: dict[str, Any]) -> Any:
        value = agent[column]
        return value.casefold() if isinstance(value, str) else value

    return sorted(present, key=key, reverse=descending) + missing


def call_data(call: dict[str, Any]) -> dict[str, str]:
    """The HTML attributes that name the call a row shows: (feed, call id)."""
    return {"data-feed": call["feed"], "data-call": call["call_id"]}


def complaint_data(complaint: dict[str, Any]) -> dict[str, str]:
    """The HTML attributes that name the complaint a row shows: (feed, complaint id)."""
    return {"data-feed": complaint["feed"], "data-complaint": complaint["complaint_id"]}


# The links between the pages of a desk (the wall itself has none): (path, label key).
NAVIGATION = (("/", "nav_floor"), ("/wall", "nav_wall"), ("/trends", "nav_trends"), ("/agents", "nav_agents"),
              ("/alerts", "nav_alerts"))


def page_links(current: str, shown: str, requested: str | None) -> list[html.A]:
    """Links to every page, shown in ``shown`` and keeping the language the address asked for (if
    any); the current page marked."""
    query = f"?lang={requested}" if requested else ""
    return [html.A(text(label, shown), href=path + query, className="current" if path == current else "")
            for path, label in NAVIGATION]
