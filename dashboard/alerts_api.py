"""The alerts in the JSON API: the open ones and the history, and acknowledging or resolving one."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from . import schemas
from .alert_data import HISTORY_PAGE, AlertData, HistoryFilter
from .api import BAD_PARAMETER, BadParameter, report_window
from .auth import principal_of

router = APIRouter()
NOT_FOUND = {404: {"model": schemas.Error, "description": "no alert with that id"}}
HISTORY_MAX = 500


def _alerts(request: Request) -> AlertData:
    return request.app.state.alerts


@router.get("/api/v1/alerts", response_model=schemas.Alerts, response_model_exclude_unset=True,
            responses=BAD_PARAMETER)
async def alerts(request: Request, state: str = "open", kind: str | None = None, queue: str | None = None,
                 from_: str | None = Query(None, alias="from"), to: str | None = None,
                 limit: int = HISTORY_PAGE, offset: int = 0) -> dict:
    """``open``: every alert not yet resolved (open or acknowledged), oldest first, with who was notified
    and what became of each notification. ``all``: the history, alerts raised in [from, to) (default
    today), newest first, of one ``kind`` or about one ``queue`` if asked, ``limit`` from ``offset`` on."""
    now = datetime.now(UTC)
    as_of = now.astimezone(request.app.state.settings.timezone).isoformat()
    if state == "open":
        for name, value in (("kind", kind), ("queue", queue), ("from", from_), ("to", to)):
            if value is not None:
                raise BadParameter(name, f"{name} applies only to state=all (every open alert is listed)")
        listed = await _alerts(request).open_alerts()
        return {"as_of": as_of, "state": state, "matching": len(listed), "offset": 0, "alerts": listed}
    if state != "all":
        raise BadParameter("state", f"state={state!r} is not one of open, all")
    if not 1 <= limit <= HISTORY_MAX:
        raise BadParameter("limit", f"limit={limit} must be from 1 to {HISTORY_MAX}")
    if offset < 0:
        raise BadParameter("offset", f"offset={offset} must not be negative")
    start, end = report_window(request, from_, to)
    history = await _alerts(request).history(HistoryFilter(start, end, kind=kind or None, queue=queue or None,
                                                           limit=limit, offset=offset))
    return {"as_of": as_of, "state": state, **history}


async def _act(request: Request, alert_id: int, action: str, body: schemas.AlertAction) -> dict | JSONResponse:
    by = body.by.strip()
    if not by:
        raise BadParameter("by", "by must name who acts")
    who = principal_of(request)
    outcome = await _alerts(request).act(alert_id, action, by, signed_in=who.name if who else None)
    if outcome.alert is None:
        return JSONResponse(status_code=404, content={"error": f"no alert {alert_id}", "parameter": "alert_id"})
    return {"changed": outcome.changed, "alert": outcome.alert}


@router.post("/api/v1/alerts/{alert_id}/acknowledge", response_model=schemas.AlertActionResult,
             responses={**BAD_PARAMETER, **NOT_FOUND})
async def acknowledge(request: Request, alert_id: int, body: schemas.AlertAction) -> dict | JSONResponse:
    """Acknowledge an open alert as ``by`` (escalation stops); ``changed`` false if it was not open."""
    return await _act(request, alert_id, "acknowledge", body)


@router.post("/api/v1/alerts/{alert_id}/resolve", response_model=schemas.AlertActionResult,
             responses={**BAD_PARAMETER, **NOT_FOUND})
async def resolve(request: Request, alert_id: int, body: schemas.AlertAction) -> dict | JSONResponse:
    """Resolve an alert as ``by``; ``changed`` false if it was resolved already."""
    return await _act(request, alert_id, "resolve", body)
