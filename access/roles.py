"""The one table of who may see what: every path belongs to an area, every role to a set of areas.

docs/security.md shows the same table to operators. Paths that need no sign-in at all (health
checks, the sign-in page, static files, the acknowledge link that carries its own signed token)
are listed in :data:`PUBLIC`.
"""

from __future__ import annotations

ROLES = ("wall", "supervisor", "manager", "admin")

# Areas a role may reach. Each role may do what the one before it may, and more.
WALL_AREAS = frozenset({"wall", "dash"})
SUPERVISOR_AREAS = WALL_AREAS | {"floor", "alerts", "live_api"}
MANAGER_AREAS = SUPERVISOR_AREAS | {"trends", "agents", "exports", "api"}
ADMIN_AREAS = MANAGER_AREAS | {"other"}
AREAS_OF_ROLE: dict[str, frozenset[str]] = {
    "wall": WALL_AREAS,
    "supervisor": SUPERVISOR_AREAS,
    "manager": MANAGER_AREAS,
    "admin": ADMIN_AREAS,
}

# The roles that see customers' numbers and names whole (supervisors call customers back, an
# on-call lead signs in as one); everyone else sees them masked (callboard/privacy.py), and the wall
# not at all. docs/security.md shows the same table (:func:`personal_data_table`).
SEES_PERSONAL_DATA = frozenset({"supervisor", "admin"})

# Exact paths, then prefixes (the longest that matches wins); anything else is "other" (admin).
PUBLIC = "public"
SIGNED_IN = "signed_in"  # any role: signing out, the Dash machinery every page needs
EXACT: dict[str, str] = {
    "/healthz": PUBLIC, "/readyz": PUBLIC, "/metrics": PUBLIC, "/signin": PUBLIC, "/signin/link": PUBLIC,
    "/display": PUBLIC, "/alerts/ack": PUBLIC, "/_favicon.ico": PUBLIC, "/favicon.ico": PUBLIC,
    "/signout": SIGNED_IN,
    "/wall": "wall", "/": "floor", "/alerts": "alerts", "/trends": "trends", "/agents": "agents",
    "/api/v1/live": "live_api", "/api/v1/complaints": "live_api", "/api/v1/alerts": "live_api",
    "/openapi.json": "live_api", "/docs": "live_api", "/redoc": "live_api",
}
PREFIXES: tuple[tuple[str, str], ...] = (
    ("/assets/", PUBLIC), ("/_dash-component-suites/", PUBLIC),
    ("/_dash-", "dash"), ("/_reload-hash", "dash"),
    ("/api/v1/alerts/", "live_api"), ("/api/v1/", "api"), ("/export/", "exports"),
)
# What each page's live view is called in its request to the push (dashboard/views.py): its area.
PAGE_AREAS = {"wall": "wall", "floor": "floor", "alerts": "alerts", "trends": "trends", "agents": "agents"}


# What each area holds, for the table in docs/security.md.
AREA_TEXTS = {
    "wall": "the wall display, `/wall`",
    "dash": "what every page needs: Dash's callbacks (each held to its own page's area) and live push",
    "floor": "the floor view, `/`",
    "alerts": "the Alerts page, `/alerts` (acknowledge and resolve)",
    "live_api": "the live API: `/api/v1/live`, `/api/v1/complaints`, `/api/v1/alerts…`; `/openapi.json`, `/docs`",
    "trends": "the Trends page, `/trends`",
    "agents": "the agent scorecards, `/agents`",
    "exports": "the CSV and XLSX downloads, `/export/…`",
    "api": "the rest of the API: `/api/v1/agents…`, `/api/v1/trends…`",
    "other": "any other address",
}


def markdown_table() -> str:
    """The table of who may see what, for docs/security.md."""
    rows = ["| What | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for area, what in AREA_TEXTS.items():
        marks = " | ".join("yes" if area in AREAS_OF_ROLE[role] else "—" for role in ROLES)
        rows.append(f"| {what} | {marks} |")
    return "\n".join(rows)


def personal_data_table() -> str:
    """The table of who sees customers' personal data whole, for docs/security.md."""
    rows = ["| role | personal data |", "|---|---|"]
    rows += [f"| {role} | {'whole' if sees_personal_data(role) else 'masked'} |" for role in ROLES]
    return "\n".join(rows)


def sees_personal_data(role: str | None) -> bool:
    """Whether a holder of ``role`` sees customers' numbers and names whole (else masked)."""
    return role in SEES_PERSONAL_DATA


def area_of(path: str) -> str:
    """The area ``path`` belongs to: ``public``, ``signed_in``, or one a role may be allowed."""
    if path in EXACT:
        return EXACT[path]
    for prefix, area in PREFIXES:
        if path.startswith(prefix):
            return area
    return "other"


def may_reach(role: str, area: str) -> bool:
    """Whether a holder of ``role`` may reach ``area`` (public areas: anyone, signed in or not)."""
    if area in (PUBLIC, SIGNED_IN):
        return True
    return area in AREAS_OF_ROLE.get(role, frozenset())


def page_area(page: str | None) -> str:
    """The area of a page's live view (its ``{"page": …}`` request), "other" if unknown."""
    return PAGE_AREAS.get(page or "", "other")

