"""Downloads: the data behind each chart and table of the trends and agents pages, as CSV or XLSX.

``/export/trends/<table>.csv`` (or ``.xlsx``) takes the trends page's own query (``?range=…&bucket=…
&queue=…&team=…&shift=…``, dashboard/periods.py), ``/export/agents/<table>.csv`` the agents page's;
each reads the same answer as the JSON API for that window (dashboard/history.py, data.py) and
writes its rows with the API's field names and values: rates as fractions, durations in seconds,
times in the site's zone. A figure without a value is an empty cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from openpyxl import Workbook

from . import periods, schemas

router = APIRouter()
Table = tuple[list[str], list[list[Any]]]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
TREND_FIGURES = list(schemas.TrendFigures.model_fields)
AGENT_FIGURES = list(schemas.AgentScores.model_fields)
RANKING = ["rank", "rank_change", "previous_rank", "previous_score"]
# The agents page and its exports cover at most as many days as the agents API does (92).
AGENTS_LONGEST_DAYS = 92


def _rows(items: Sequence[Mapping[str, Any]], columns: list[str]) -> Table:
    return columns, [[item[column] for column in columns] for item in items]


def trends_table(name: str, trends: Mapping[str, Any]) -> Table:
    """One table of a trends answer (/api/v1/trends): its buckets, its shifts, or the window against
    the one before."""
    if name == "buckets":
        shift = ["shift"] if trends["bucket"] == "shift" else []
        return _rows(trends["buckets"], ["start", "end", *shift, *TREND_FIGURES])
    if name == "shifts":
        return _rows(trends["shifts"], ["shift", *TREND_FIGURES])
    if name == "periods":
        this = {"period": "this", "from": trends["from"], "to": trends["to"], **trends["totals"]}
        return _rows([this, {"period": "previous", **trends["previous"]}], ["period", "from", "to", *TREND_FIGURES])
    raise ValueError(f"no trends table {name!r}")


def weekday_hours_table(weekday_hours: Mapping[str, Any]) -> Table:
    """The cells of a weekday x hour answer (/api/v1/trends/weekday-hours)."""
    return _rows(weekday_hours["cells"], ["weekday", "hour", *TREND_FIGURES])


def agents_table(name: str, agent_days: Mapping[str, Any]) -> Table:
    """One table of an agents answer (/api/v1/agents/days): the scorecards, or every agent's days."""
    who = ["agent", "name", "team"]
    if name == "scorecards":
        return _rows(agent_days["agents"], [*who, *RANKING, *AGENT_FIGURES])
    if name == "days":
        days = [{**{key: a[key] for key in who}, **day} for a in agent_days["agents"] for day in a["days"]]
        return _rows(days, [*who, "start", "end", *AGENT_FIGURES])
    raise ValueError(f"no agents table {name!r}")


# A text cell starting with one of these is taken for a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text(value: Any) -> Any:
    """``value`` as a spreadsheet shows it: a text that a spreadsheet would run as a formula (an agent
    or queue named "=HYPERLINK(...)" by a telephony system) is kept as text, behind a quote."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def as_csv(table: Table) -> bytes:
    columns, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([["" if value is None else as_text(value) for value in row] for row in rows])
    return out.getvalue().encode("utf-8")


def as_xlsx(table: Table, sheet: str) -> bytes:
    columns, rows = table
    book = Workbook(write_only=True)
    worksheet = book.create_sheet(sheet[:31])
    worksheet.append(columns)
    for row in rows:
        worksheet.append([as_text(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _download(table: Table, what: str, fmt: str, start: datetime, end: datetime, request: Request) -> Response:
    first, last = periods.days_shown(start, end, request.app.state.settings.timezone)
    filename = f"callboard-{what}-{first.isoformat()}_{last.isoformat()}.{fmt}"
    body = as_csv(table) if fmt == "csv" else as_xlsx(table, what)
    return Response(body, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def served(model: type[schemas.Shape], answer: Mapping[str, Any]) -> dict[str, Any]:
    """An answer as the JSON API serves it: checked against its schema, each figure of its declared type."""
    return model.model_validate(answer).model_dump(by_alias=True)


def _query(request: Request) -> dict[str, list[str]]:
    return {key: request.query_params.getlist(key) for key in request.query_params}


@router.get("/export/trends/{table}.{fmt}", response_class=Response,
            responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}})
async def export_trends(request: Request, table: Literal["buckets", "shifts", "periods", "weekday_hours"],
                        fmt: Literal["csv", "xlsx"]) -> Response:
    """A table of the trends page for its query (range, bucket, queue, team, shift), as the API gives it."""
    state = request.app.state
    choice = periods.from_query(_query(request), state.history.shift_names)
    start, end = periods.window(choice, datetime.now(UTC), state.settings.timezone)
    filters = (list(choice.queues), choice.team, choice.shift)
    if table == "weekday_hours":
        cells = served(schemas.WeekdayHours, await state.history.weekday_hours(start, end, *filters))
        return _download(weekday_hours_table(cells), f"trends-{table}", fmt, start, end, request)
    trends = served(schemas.Trends, await state.history.trends(start, end, choice.bucket, *filters))
    return _download(trends_table(table, trends), f"trends-{table}", fmt, start, end, request)


@router.get("/export/agents/{table}.{fmt}", response_class=Response,
            responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}})
async def export_agents(request: Request, table: Literal["scorecards", "days"],
                        fmt: Literal["csv", "xlsx"]) -> Response:
    """The agents page's scorecards, or every agent's days, for its query (range)."""
    state = request.app.state
    choice = periods.from_query(_query(request), longest_days=AGENTS_LONGEST_DAYS)
    start, end = periods.window(choice, datetime.now(UTC), state.settings.timezone)
    answer = served(schemas.AgentDays, await state.live.agent_days(start, end))
    return _download(agents_table(table, answer), f"agents-{table}", fmt, start, end, request)

