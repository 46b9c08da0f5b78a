"""The JSON API (``/api/v1``) and the health checks, served beside the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from access.roles import sees_personal_data
from callboard import metrics, privacy
from db.pool import CONNECTION_ERRORS

from . import schemas
from .auth import principal_of
from .personal_data import with_personal_data

router = APIRouter()
# Every report may answer 400 naming the bad parameter.
BAD_PARAMETER = {400: {"model": schemas.Error, "description": "a bad parameter, named"}}


class BadParameter(Exception):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


async def bad_parameter_handler(_request: Request, exc: BadParameter) -> JSONResponse:
    return JSONResponse(status_code=400, content={"error": str(exc), "parameter": exc.parameter})


async def invalid_request_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own parameter checks answer 400 in our error format too, never 422."""
    first = exc.errors()[0]
    parameter = str(first["loc"][-1]) if first.get("loc") else "request"
    return JSONResponse(status_code=400, content={"error": f"{parameter}: {first['msg']}", "parameter": parameter})


def _timestamp(parameter: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(parameter, f"{parameter}={text!r} is not an RFC 3339 timestamp") from None
    if value.tzinfo is None:
        raise BadParameter(parameter, f"{parameter}={text!r} needs a UTC offset, e.g. 2026-01-31T00:00:00+08:00")
    return value


# The live view reads open state plus one window; longer windows belong to the trends API.
LIVE_WINDOW_MAX = timedelta(days=31)
# The longest window a report may ask for: a quarter; trends, a year.
REPORT_WINDOW_MAX = timedelta(days=92)
TRENDS_WINDOW_MAX = timedelta(days=366)


def report_window(request: Request, from_: str | None, to: str | None,
            longest: timedelta = REPORT_WINDOW_MAX) -> tuple[datetime, datetime]:
    """A report's [from, to): by default from the start of today in the site time zone until now."""
    now = datetime.now(UTC)
    end = _timestamp("to", to) or now
    start = _timestamp("from", from_) or metrics.start_of_day(now, request.app.state.settings.timezone)
    if start >= end:
        raise BadParameter("from", f"from={start.isoformat()!r} must be before to={end.isoformat()!r}")
    if end - start > longest:
        raise BadParameter("from", f"from={start.isoformat()!r} is more than {longest.days} days before "
                                   f"to={end.isoformat()!r}")
    return start, end


@router.get("/api/v1/live", response_model=schemas.Live, response_model_exclude_unset=True,
            responses=BAD_PARAMETER)
async def live(request: Request, since: str | None = None) -> dict:
    """Live figures per queue and in total, holds over the limit, open complaints and agents."""
    start = _timestamp("since", since)
    if start is not None and not timedelta(0) <= datetime.now(UTC) - start <= LIVE_WINDOW_MAX:
        raise BadParameter("since", f"since={since!r} must be in the past and at most 31 days ago")
    state = request.app.state
    if start is None and state.hub.snapshot is not None:
        version, snapshot = state.hub.version, state.hub.snapshot
        found = await state.personal.of_version(version, snapshot)
    else:
        snapshot = await state.live.snapshot(since=start)
        found = await state.personal.of_snapshot(snapshot)
    return with_personal_data(snapshot, found, full=_sees_personal_data(request))


@router.get("/api/v1/agents", response_model=schemas.Agents, response_model_exclude_unset=True,
            responses=BAD_PARAMETER)
async def agents(request: Request, from_: str | None = Query(None, alias="from"), to: str | None = None) -> dict:
    """Every agent's figures and score for calls decided in [from, to)."""
    start, end = report_window(request, from_, to)
    return await request.app.state.live.agents(start, end)


@router.get("/api/v1/agents/days", response_model=schemas.AgentDays, responses=BAD_PARAMETER)
async def agent_days(request: Request, from_: str | None = Query(None, alias="from"),
                     to: str | None = None) -> Response:
    """Every agent's scorecard for [from, to): figures, place by score and its change since the window
    before, and the figures of each day (site time)."""
    start, end = report_window(request, from_, to)
    # Tens of thousands of agent-days: encoded as built (already in the documented shape, which the
    # API tests check), not re-validated field by field on the way out.
    return Response(orjson.dumps(await request.app.state.live.agent_days(start, end)), media_type="application/json")


def _trend_filters(request: Request, queue: str | None, shift: str | None) -> list[str]:
    """The queues asked for (comma-separated), after checking that ``shift`` names a shift."""
    if shift is not None and shift not in request.app.state.history.shift_names:
        raise BadParameter("shift", f"shift={shift!r} is not one of the shifts: "
                                    f"{', '.join(request.app.state.history.shift_names)} (CALLBOARD_SHIFTS)")
    return [name for name in (queue or "").split(",") if name]


@router.get("/api/v1/trends", response_model=schemas.Trends, responses=BAD_PARAMETER)
async def trends(request: Request, from_: str | None = Query(None, alias="from"), to: str | None = None,
                 bucket: str = "1h", queue: str | None = None, team: str | None = None,
                 shift: str | None = None) -> dict:
    """Queue, hold and callback figures per quarter hour, hour, day, week, month or shift of [from, to),
    of the whole window, of the window before it and per shift; for some queues (comma-separated),
    a team and a shift, or all."""
    start, end = report_window(request, from_, to, TRENDS_WINDOW_MAX)
    if bucket not in metrics.BUCKETS:
        raise BadParameter("bucket", f"bucket={bucket!r} is not one of {', '.join(metrics.BUCKETS)}")
    queues = _trend_filters(request, queue, shift)
    return await request.app.state.history.trends(start, end, bucket, queues, team or None, shift)


@router.get("/api/v1/trends/weekday-hours", response_model=schemas.WeekdayHours, responses=BAD_PARAMETER)
async def weekday_hours(request: Request, from_: str | None = Query(None, alias="from"), to: str | None = None,
                        queue: str | None = None, team: str | None = None, shift: str | None = None) -> dict:
    """The figures of each weekday and hour of the day across [from, to): a heat map's cells."""
    start, end = report_window(request, from_, to, TRENDS_WINDOW_MAX)
    queues = _trend_filters(request, queue, shift)
    return await request.app.state.history.weekday_hours(start, end, queues, team or None, shift)


@router.get("/api/v1/complaints", response_model=schemas.Complaints, response_model_exclude_unset=True,
            responses=BAD_PARAMETER)
async def complaints(request: Request, status: str = "open", from_: str | None = Query(None, alias="from"),
                     to: str | None = None) -> dict:
    """Complaints waiting for a callback, those past due, or all opened in [from, to), with their
    customer: whole for supervisors and admins, masked for everyone else."""
    if status not in metrics.COMPLAINT_STATUSES:
        raise BadParameter("status", f"status={status!r} is not one of {', '.join(metrics.COMPLAINT_STATUSES)}")
    if status != "all":
        for name, value in (("from", from_), ("to", to)):
            if value is not None:
                raise BadParameter(name, f"{name} applies only to status=all (open complaints are listed whenever "
                                         "they were opened)")
    start, end = report_window(request, from_, to)
    answer = await request.app.state.live.complaints(status, start, end)
    customers = await request.app.state.personal.customers((c["feed"], c["complaint_id"])
                                                          for c in answer["complaints"])
    full = _sees_personal_data(request)
    answer["complaints"] = [{**c, "customer": privacy.shown_customer(customers.get((c["feed"], c["complaint_id"])),
                                                                     full=full)} for c in answer["complaints"]]
    return answer


def _sees_personal_data(request: Request) -> bool:
    """Whether whoever holds ``request`` (a person, or an API token) sees customers' data whole."""
    who = principal_of(request)
    return sees_personal_data(who.role if who else None)


@router.get("/healthz", response_model=schemas.Health)
async def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None,
            responses={200: {"model": schemas.Readiness}, 503: {"model": schemas.Readiness}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers and the data is fresh."""
    try:
        async with request.app.state.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    except CONNECTION_ERRORS as exc:
        return JSONResponse(status_code=503, content={"status": "database unreachable", "error": str(exc)})
    snapshot = request.app.state.hub.snapshot
    if snapshot is None or snapshot.get("stale"):
        return JSONResponse(status_code=503, content={
            "status": "stale", "data_updated_at": snapshot and snapshot.get("data_updated_at")})
    return JSONResponse({"status": "ready", "data_updated_at": snapshot["data_updated_at"]})
