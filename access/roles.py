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


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
    return role
