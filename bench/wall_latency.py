"""Wall latency: an event sent by the feed -> its new figure on a wall display in headless Chromium.

    python bench/wall_latency.py            # full run: 50 events with 1 page open, 50 with 100
    python bench/wall_latency.py --quick    # 10 and 10, for a smoke test
    python bench/wall_latency.py --workers 4 --pages 400   # the dashboard as 4 processes, 400 pages
    python bench/wall_latency.py --live-state both   # incremental, then recompute, side by side

Starts a feed (a websockets server in this process, on loopback) holding the last hour of a
simulated 60-agent floor, the real ingest (``callboard ingest``) and the real dashboard
(``callboard dashboard``), each in its own process, and opens /wall in headless Chromium. Then it
sends, one at a time, a caller joining a queue of its own ("bench"), and times each from the moment
the feed sends it to the first animation frame after the wall's "Waiting" figure for that queue
shows the new number. A MutationObserver in the page stamps Date.now() (1 ms resolution; the bench
and the browser read the same clock); the bench only polls for the stamps.

It does this first with that one page open, then with 100: the Chromium page and 99 websocket
clients of the dashboard's push (the endpoint and callback the browser's page uses; 100 Chromium
tabs would not fit on two cores), which stamp their own receipt of each push. During each run it
counts the transactions PostgreSQL commits for the database (``pg_stat_database.xact_commit``:
ingest and dashboard together, the same event stream in both runs), per second: the one-page run
is the baseline. The dashboard connects as a role of its own, so that (with pg_stat_statements,
which the throw-away server loads) the statements its processes run per event, beyond those of a
quiet floor measured for 20 s before each run (its listeners' checks), are counted apart: with
``--workers 4`` as with ``--workers 1``, none (each change is read once, by the ingest, and
announced with its rows; ended sessions are announced too). Uses DATABASE_URL if set, otherwise a
throw-away embedded PostgreSQL. Targets: event to pixels <= 150 ms at p95, with 1 page and with
100; 100 open pages, and 4 dashboard processes, cost no more queries per change than one.

Then where the time goes, stage by stage from the feed's sending: received by the ingest (its
receipt stamp in the event log), the batch written (just before its commit; the NOTIFY payload's
``written_at``), heard by the dashboard, its snapshot ready, the first page asked what it shows
and answering, the view handed to the page's socket (the dashboard's DEBUG log lines
``snapshot_refreshed`` and ``view_pushed``), the push arrived in the page (a message from Dash's
websocket worker), the wall's parts placed (the page's script done with the view), the DOM changed and
painted; and the refresh itself (from its start to the snapshot ready).

``--live-state`` starts the dashboard with ``CALLBOARD_LIVE_STATE`` set: ``incremental`` (the
default: the live state in memory, each change read by key), ``recompute`` (the whole snapshot read
at each change), or ``both``: the whole run with each, then their figures side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from browser import start_browser
from http_timing import free_port
from signed_in import credentials, display_session
from throwaway import run_on_a_server
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from db.migrate import migrate_url
from db.pool import recreate_database
from ingest.rollup import LOOK_BACK_AT_START_DAYS
from simulator import CallFloor

QUEUE = "bench"
TARGET_P95_MS = 150
PAGES = 100  # open in the second run, unless --pages says otherwise
# PostgreSQL's backends report their transaction counts when idle, at most this late (PGSTAT_IDLE_INTERVAL).
STATS_REPORTED_WITHIN_S = 11
# The role the dashboard connects as, so that pg_stat_statements counts its statements apart.
DASHBOARD_ROLE = "bench_dashboard"
# Seconds with no event before each run, to count the dashboard's statements on a quiet floor.
QUIET_S = 20
# The throw-away server counts statements by role.
COUNTING = {"shared_preload_libraries": "pg_stat_statements"}
# Stamps, in the page, when the bench queue's "Waiting" figure first shows each number.
OBSERVE = """
const figure = `.tile[data-queue="${arguments[0]}"] [data-figure="waiting"] .value`;
window.wallBench = Object.assign({arrived: []}, window.wallBench, {dom: {}, frame: {}, placed: []});
// called just after the page's own observer of the pushed view has placed the parts, and before
// the observer of the figure below (observers are called in the order they were made)
new MutationObserver(records => {
  if (records[records.length - 1].target.getAttribute("data-view")) window.wallBench.placed.push(Date.now());
}).observe(document.documentElement, {subtree: true, attributes: true, attributeFilter: ["data-view"]});
new MutationObserver(() => {
  const shown = document.querySelector(figure);
  if (!shown || shown.textContent in window.wallBench.dom) return;
  const text = shown.textContent;
  window.wallBench.dom[text] = Date.now();
  requestAnimationFrame(() => { window.wallBench.frame[text] = Date.now(); });
}).observe(document.querySelector('.wall-queues'), {subtree: true, childList: true, characterData: true});
"""
# Stamps, in the page from its start, each message the page's websocket worker hands it (Dash's
# SharedWorker: the push arriving in the page).
STAMP_ARRIVALS = """
window.wallBench = {arrived: [], placed: []};
const NativeSharedWorker = window.SharedWorker;
window.SharedWorker = function (...args) {
  const worker = new NativeSharedWorker(...args);
  worker.port.addEventListener("message", () => { window.wallBench.arrived.push(Date.now()); });
  return worker;
};
"""
# The stamps of one number shown: the DOM change and its frame, and the last push to arrive in the
# page and the last placing of the wall's parts before that change.
SHOWN = """
const w = window.wallBench, dom = w.dom[arguments[0]];
const before = stamps => stamps.filter(t => t <= dom).pop();
return {dom: dom, frame: w.frame[arguments[0]], arrived: before(w.arrived), placed: before(w.placed)};
"""


class Feed:
    """A feed that honours ``resume``: the floor's past, then whatever the bench sends."""

    def __init__(self, backfill: list[dict]) -> None:
        self.frames: list[str] = []
        self._more = asyncio.Condition()
        for event in backfill:
            self._add(event)

    def _add(self, event: dict) -> None:
        self.frames.append(json.dumps({**event, "seq": len(self.frames) + 1}))

    async def send(self, event: dict) -> float:
        """Hand ``event`` to the connected ingest; return the moment it went (time.time())."""
        async with self._more:
            self._add(event)
            self._more.notify_all()
        return time.time()

    async def serve(self, websocket: ServerConnection) -> None:
        resume = json.loads(await websocket.recv())
        streaming = asyncio.create_task(self._stream(websocket, resume.get("after_seq", 0)))
        await websocket.wait_closed()
        streaming.cancel()

    async def _stream(self, websocket: ServerConnection, sent: int) -> None:
        try:
            backlog = len(self.frames)
            for start in range(sent, backlog, 500):
                await websocket.send("[" + ",".join(self.frames[start:min(start + 500, backlog)]) + "]")
            sent = backlog
            while True:
                async with self._more:
                    await self._more.wait_for(lambda sent=sent: len(self.frames) > sent)
                for frame in self.frames[sent:]:
                    await websocket.send(frame)
                sent = len(self.frames)
        except ConnectionClosed:
            pass


class PushClient:
    """An open page as the dashboard sees it: a websocket client of the push callback that, like
    a wall, answers the push's question of what it shows."""

    SHOWS = {"page": "wall", "lang": None, "fixed": True}

    def __init__(self, base_url: str, push: dict, session: dict[str, str]) -> None:
        self.received: list[float] = []
        self._url = base_url.replace("http://", "ws://") + "/_dash-ws-callback"
        self._origin = base_url
        self._push = push
        self._session = session  # a wall screen's session cookie

    async def run(self, number: int) -> None:
        async with connect(self._url, origin=self._origin, additional_headers=self._session, max_size=None) as ws:
            await ws.send(json.dumps({"type": "callback_request", "requestId": f"bench-{number}",
                                      "rendererId": f"bench-page-{number}", "payload": self._push}))
            async for message in ws:
                now = time.time()
                # A page's own work is done in its own browser: a push is only stamped here, not
                # read, so that 99 pages in one process do not slow each other down.
                if "get_props_request" not in message and "callback_response" not in message:
                    if "set_props" in message:
                        self.received.append(now)
                    continue
                messages = json.loads(message)
                for item in messages if isinstance(messages, list) else [messages]:
                    if item.get("type") == "set_props":
                        self.received.append(now)
                    elif item.get("type") == "get_props_request":
                        await ws.send(json.dumps({"type": "get_props_response", "requestId": item["requestId"],
                                                  "payload": {"data": self.SHOWS}}))
                    elif item.get("type") == "callback_response":
                        raise RuntimeError(f"the push callback ended: {item}")

    def first_after(self, moment: float) -> float | None:
        return next((t for t in self.received if t >= moment), None)


def get_json(port: int, path: str, headers: dict[str, str]) -> object:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path, headers=headers)
        return json.loads(client.getresponse().read())
    finally:
        client.close()


async def until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def xact_commits(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        await asyncio.sleep(1.1)  # backends publish their counts at most once a second
        return await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    finally:
        await conn.close()


async def dashboard_role(url: str) -> str | None:
    """The URL the dashboard connects with, as a role of its own whose statements pg_stat_statements
    counts apart from the ingest's; None when the server has no pg_stat_statements loaded (a server
    given by DATABASE_URL may not)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.fetchval("SELECT count(*) FROM pg_stat_statements")
        await conn.execute(f"DROP ROLE IF EXISTS {DASHBOARD_ROLE}; CREATE ROLE {DASHBOARD_ROLE} LOGIN SUPERUSER")
    except asyncpg.PostgresError as exc:
        print(f"(the dashboard's statements are not counted apart: {exc})")
        return None
    finally:
        await conn.close()
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{DASHBOARD_ROLE}@{parts.netloc.rpartition('@')[2]}"))


async def dashboard_statements(url: str) -> int | None:
    """Statements the dashboard's processes have run so far (None when they are not counted apart)."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s "
                                   "JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1", DASHBOARD_ROLE)
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


async def run_events(feed: Feed, browser, url: str, first: int, count: int, clients: list[PushClient],
                     rng: random.Random) -> dict:
    """Send ``count`` callers to the bench queue one by one; time each to the wall and to every client."""
    page_ms, dom_ms, arrived_ms, placed_ms, client_ms, sent_at = [], [], [], [], [], {}
    # What the dashboard runs with nothing happening (its listener's checks), to tell apart what each
    # event costs.
    quiet_statements, quiet_began = await dashboard_statements(url), time.monotonic()
    await asyncio.sleep(QUIET_S)
    commits_before, statements_before, began = await xact_commits(url), await dashboard_statements(url), \
        time.monotonic()
    for n in range(first, first + count):
        waiting = n + 1
        sent = await feed.send({"id": f"bench-{n}", "type": "call.queued", "ts": datetime.now(UTC).isoformat(),
                                "call_id": f"bench-{n}", "queue": QUEUE, "caller": "+44 20 7946 0000"})
        sent_at[f"bench-{n}"] = sent
        stamps: dict = {}

        async def shown(waiting=waiting, stamps=stamps) -> bool:
            stamps.update(await asyncio.to_thread(browser.execute_script, SHOWN, str(waiting)))
            return stamps.get("frame") is not None

        await until(shown, 30, f"the wall to show {waiting} waiting")
        page_ms.append(stamps["frame"] - sent * 1000)
        dom_ms.append(stamps["dom"] - sent * 1000)
        if stamps["arrived"] is not None and stamps["placed"] is not None:  # both stamped in the page
            arrived_ms.append(stamps["arrived"] - sent * 1000)
            placed_ms.append(stamps["placed"] - sent * 1000)
        if clients:
            async def all_pushed(sent=sent) -> bool:
                return all(c.first_after(sent) is not None for c in clients)

            await until(all_pushed, 30, "every page to get the push")
            client_ms.extend((c.first_after(sent) - sent) * 1000 for c in clients)
        await asyncio.sleep(rng.uniform(0.2, 0.5))  # not in step with the page's 500 ms timer tick
    statements_after, statements_at = await dashboard_statements(url), time.monotonic()
    elapsed = time.monotonic() - began
    commits = await xact_commits(url) - commits_before
    dashboard_per_event = None
    if statements_before is not None:
        quiet = (statements_before - quiet_statements) / (began - quiet_began)
        dashboard_per_event = (statements_after - statements_before - quiet * (statements_at - began)) / count
    return {"page": page_ms, "dom": dom_ms, "arrived": arrived_ms, "placed": placed_ms, "clients": client_ms,
            "tps": commits / (elapsed + 1.1), "dashboard_per_event": dashboard_per_event, "sent": sent_at}


async def stages(url: str, sent_at: dict[str, float], refreshes: list[dict]) -> dict[str, list[float]]:
    """Milliseconds from each event's sending to each stage of the live path: received by the ingest
    (its receipt stamp in the event log), written (the batch's work done, just before its commit),
    heard by the dashboard (NOTIFY), the snapshot ready, the first page asked what it shows, its
    answer, and the view handed to its socket (the dashboard's DEBUG log)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT event_id, extract(epoch FROM received_at)::float8 AS received "
                                "FROM event_log WHERE feed = 'bench' AND event_id = any($1::text[])", list(sent_at))
    finally:
        await conn.close()
    received = {row["event_id"]: row["received"] for row in rows}
    found: dict[str, list[float]] = {"received": [], "written": [], "heard": [], "snapshot ready": [],
                                     "page asked what it shows": [], "page answered": [], "view pushed": []}
    for event_id, sent in sent_at.items():
        refresh = next((r for r in refreshes if (r["written_at"] or 0) >= received[event_id]), None)
        found["received"].append((received[event_id] - sent) * 1000)
        if refresh is not None:
            found["written"].append((refresh["written_at"] - sent) * 1000)
            found["heard"].append((refresh["heard_at"] - sent) * 1000)
            found["snapshot ready"].append((refresh["ready_at"] - sent) * 1000)
            if refresh["pushes"]:
                first = min(refresh["pushes"], key=lambda p: p["asked_at"])
                for stage, key in (("page asked what it shows", "asked_at"), ("page answered", "answered_at"),
                                   ("view pushed", "pushed_at")):
                    found[stage].append((first[key] - sent) * 1000)
    return found


REFRESHED = re.compile(r"action=snapshot_refreshed written_at=(\S+) heard_at=(\S+) began_at=(\S+) ready_at=(\S+) "
                       r"version=(\d+) changed=True")
PUSHED = re.compile(r"action=view_pushed version=(\d+) asked_at=(\S+) answered_at=(\S+) pushed_at=(\S+)")


def refreshes_logged(path: str) -> list[dict]:
    """The dashboard's refreshes after a change that changed what pages show, in order, each with
    its pushes to the pages, from its DEBUG log."""
    refreshes, pushes = [], {}
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if m := REFRESHED.search(line):
                refreshes.append({"written_at": None if m[1] == "None" else float(m[1]), "heard_at": float(m[2]),
                                  "began_at": float(m[3]), "ready_at": float(m[4]), "version": int(m[5])})
            elif m := PUSHED.search(line):
                pushes.setdefault(int(m[1]), []).append(
                    {"asked_at": float(m[2]), "answered_at": float(m[3]), "pushed_at": float(m[4])})
    for refresh in refreshes:
        refresh["pushes"] = pushes.get(refresh["version"], [])
    return refreshes


def summary(name: str, ms: list[float], target: float | None = None) -> str:
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1]
    verdict = "" if target is None else f"  target p95 <= {target:.0f} ms: " + ("met" if p95 <= target else "MISSED")
    return (f"  {name:<44} p50 {statistics.median(ms):6.0f} ms  p95 {p95:6.0f} ms  max {max(ms):6.0f} ms"
            f"  ({len(ms)}){verdict}")


async def bench(admin_url: str, events: int, workers: int, pages: int, live_state: str) -> dict[str, list[float]]:
    print(f"CALLBOARD_LIVE_STATE={live_state}")
    print(f"machine: {os.cpu_count()} cores; feed, Chromium driver and push clients in this process, ingest and "
          f"dashboard ({workers} worker process{'es' if workers > 1 else ''}) in their own, PostgreSQL on the "
          f"same machine")
    url = await recreate_database(admin_url, "bench_wall")
    await migrate_url(url)
    signed_in = await credentials(url)
    dashboard_url = await dashboard_role(url) or url
    now = datetime.now(UTC)
    floor = CallFloor(7, now - timedelta(hours=1), agents=60, run_started=now)
    feed = Feed(floor.events_until(now))
    rng = random.Random(10)
    data_dir = tempfile.mkdtemp(prefix="callboard-bench-wall-")
    processes = []
    async with serve(feed.serve, "127.0.0.1", 0, max_size=None) as feed_server:
        feed_url = f"ws://127.0.0.1:{feed_server.sockets[0].getsockname()[1]}"
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "CALLBOARD_TIMEZONE": "UTC", "CALLBOARD_CONFIG": "",
               "CALLBOARD_DATA_DIR": data_dir, "CALLBOARD_LIVE_STATE": live_state}
        command = [sys.executable, "-m", "callboard", "--log-level", "WARNING"]
        browser = None
        # The dashboard's DEBUG log times its refreshes (hub.py, action=snapshot_refreshed).
        dashboard_log = open(os.path.join(data_dir, "dashboard.log"), "w")  # noqa: SIM115 - closed below
        try:
            processes.append(subprocess.Popen([*command, "ingest", "--feed", feed_url, "--feed-name", "bench",
                                               "--port", str(free_port())], env=env))
            processes.append(subprocess.Popen([sys.executable, "-m", "callboard", "--log-level", "DEBUG", "dashboard",
                                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                                              env={**env, "DATABASE_URL": dashboard_url}, stderr=dashboard_log))

            async def floor_is_live() -> bool:
                try:
                    live = await asyncio.to_thread(get_json, port, "/api/v1/live", signed_in.api_headers)
                except (OSError, http.client.HTTPException, json.JSONDecodeError):
                    return False
                return live.get("data_updated_at") is not None and not live["stale"]

            await until(floor_is_live, 120, "the ingest and the dashboard")

            async def first_roll_up_done() -> bool:
                connection = await asyncpg.connect(url)
                try:
                    return await connection.fetchval("SELECT count(*) FROM agent_days") >= LOOK_BACK_AT_START_DAYS
                finally:
                    await connection.close()

            # The ingest's first pass computes the per-day agent totals of past days once; its
            # transactions would count against whichever phase it fell in.
            await until(first_roll_up_done, 60, "the ingest's first per-day totals")
            live = await asyncio.to_thread(get_json, port, "/api/v1/live", signed_in.api_headers)
            print(f"floor: {len(feed.frames):,} events of the last hour; {len(live['agents'])} agents, "
                  f"{live['totals']['waiting']} waiting, {live['totals']['offered']} offered today")

            browser = await asyncio.to_thread(start_browser)
            await asyncio.to_thread(browser.execute_cdp_cmd, "Page.addScriptToEvaluateOnNewDocument",
                                    {"source": STAMP_ARRIVALS})
            await asyncio.to_thread(browser.get, signed_in.display_url(f"http://127.0.0.1:{port}"))
            await feed.send({"id": "bench-warm-up", "type": "call.queued", "ts": datetime.now(UTC).isoformat(),
                             "call_id": "bench-warm-up", "queue": QUEUE, "caller": "+44 20 7946 0000"})

            async def tile_shown() -> bool:
                return bool(await asyncio.to_thread(browser.execute_script,
                                                    "return document.querySelector(arguments[0]) !== null",
                                                    f'.tile[data-queue="{QUEUE}"]'))

            await until(tile_shown, 30, "the wall to show the bench queue")
            await asyncio.to_thread(browser.execute_script, OBSERVE, QUEUE)

            one = await run_events(feed, browser, url, 1, events, [], rng)

            wall_screen = await asyncio.to_thread(display_session, f"http://127.0.0.1:{port}", signed_in.display_key)
            dependencies = await asyncio.to_thread(get_json, port, "/_dash-dependencies", wall_screen)
            push = next(d for d in dependencies if not d["inputs"] and not d.get("clientside_function"))
            clients = [PushClient(f"http://127.0.0.1:{port}", {
                "output": push["output"], "outputs": [], "inputs": [], "state": [], "changedPropIds": []}, wall_screen)
                for _ in range(pages - 1)]
            started = time.time()
            tasks = [asyncio.create_task(c.run(n)) for n, c in enumerate(clients)]

            async def all_connected() -> bool:
                for task in tasks:
                    if task.done():
                        task.result()  # raises what went wrong
                return all(c.first_after(started) is not None for c in clients)

            await until(all_connected, 60 + pages / 4, f"{pages - 1} push clients to get their first view")
            # Each page was signed in as it connected (a session look-up); an idle PostgreSQL backend
            # reports its statistics up to 10 s late, which would count those look-ups as the pushes'.
            await asyncio.sleep(STATS_REPORTED_WITHIN_S)
            many = await run_events(feed, browser, url, 1 + events, events, clients, rng)
            for task in tasks:
                task.cancel()
            refreshes = refreshes_logged(dashboard_log.name)
            one_stages = await stages(url, one["sent"], refreshes)
            many_stages = await stages(url, many["sent"], refreshes)
        finally:
            if browser is not None:
                await asyncio.to_thread(browser.quit)
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
            dashboard_log.close()
            shutil.rmtree(data_dir, ignore_errors=True)

    print("event sent by the feed -> the wall in headless Chromium shows it (first frame after the DOM change):")
    print(summary("1 page open", one["page"], TARGET_P95_MS))
    print(summary(f"{pages} pages open (1 Chromium + {pages - 1} push clients)", many["page"], TARGET_P95_MS))
    print(summary("  the same, to the DOM change, 1 page", one["dom"]))
    print(summary(f"  the same, to the DOM change, {pages} pages", many["dom"]))
    print(summary(f"event -> push received, {pages - 1} push clients", many["clients"]))
    if workers > 1:  # each process counts its own snapshot versions: their log lines cannot be told apart
        print("(the stage by stage breakdown is given with one dashboard process only)")
    else:
        print_stages(one, many, one_stages, many_stages, pages)
    print(f"database transactions committed (ingest + dashboard), per second, same event stream:\n"
          f"  1 page open: {one['tps']:6.1f}/s    {pages} pages open: {many['tps']:6.1f}/s    "
          f"ratio {many['tps'] / one['tps']:.2f}")
    if one["dashboard_per_event"] is not None:
        print(f"statements the dashboard ran per event, beyond those of a quiet floor (pg_stat_statements; "
              f"{workers} process{'es' if workers > 1 else ''}):\n"
              f"  1 page open: {one['dashboard_per_event']:5.2f}    {pages} pages open: "
              f"{many['dashboard_per_event']:5.2f}")
    refresh_ms = [(r["ready_at"] - r["began_at"]) * 1000 for r in refreshes if r["written_at"] is not None]
    if refresh_ms and workers == 1:
        print(summary("the snapshot refresh itself, after a change", refresh_ms))
    return {"1 page: event -> painted": one["page"], f"{pages} pages: event -> painted": many["page"],
            **{f"1 page: {stage}": ms for stage, ms in one_stages.items() if stage in ("heard", "snapshot ready")},
            "refresh itself": refresh_ms if workers == 1 else [],
            "transactions per second, 1 page": [one["tps"]], f"transactions per second, {pages} pages": [many["tps"]],
            "dashboard statements per event, 1 page": [one["dashboard_per_event"] or 0.0],
            f"dashboard statements per event, {pages} pages": [many["dashboard_per_event"] or 0.0]}


async def both_ways(admin_url: str, events: int, workers: int, pages: int) -> None:
    """The whole run with the live state, then with recompute; their figures side by side."""
    found = {way: await bench(admin_url, events, workers, pages, way) for way in ("incremental", "recompute")}
    print("side by side (p50 / p95, ms; transactions: per second):")
    print(f"  {'':<44} {'incremental':>17} {'recompute':>17}")
    for name in found["incremental"]:
        cells = [_cell(found[way][name]) for way in ("incremental", "recompute")]
        print(f"  {name:<44} {cells[0]:>17} {cells[1]:>17}")


def _cell(values: list[float]) -> str:
    """One figure of the side-by-side table: a single value as it is, a series as p50 / p95."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    if len(values) < 2:
        return "-"
    return f"{statistics.median(values):.0f} / {statistics.quantiles(values, n=20, method='inclusive')[-1]:.0f}"


def print_stages(one: dict, many: dict, one_stages: dict, many_stages: dict, pages: int) -> None:
    print("where the time goes: event sent by the feed -> each stage of the live path")
    many_name = f"{pages} pages"
    for name, found in (("1 page", one_stages), (many_name, many_stages)):
        for stage, ms in found.items():
            if len(ms) >= 2:
                print(summary(f"{name}: {stage}", ms))
        page = one if name == "1 page" else many
        for stage, key in (("arrived in the page", "arrived"), ("its parts placed", "placed"),
                           ("DOM changed", "dom"), ("painted", "page")):
            if len(page[key]) >= 2:
                print(summary(f"{name}: {stage}", page[key]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run, to check the benchmark works")
    parser.add_argument("--workers", type=int, default=1, help="dashboard processes (default 1)")
    parser.add_argument("--pages", type=int, default=PAGES, help=f"pages open in the second run (default {PAGES})")
    parser.add_argument("--live-state", choices=("incremental", "recompute", "both"), default="incremental",
                        help="CALLBOARD_LIVE_STATE of the dashboard, or both one after the other (default incremental)")
    args = parser.parse_args()
    events = 10 if args.quick else 50
    if args.live_state == "both":
        run_on_a_server(lambda admin_url: both_ways(admin_url, events, args.workers, args.pages), COUNTING)
    else:
        run_on_a_server(lambda admin_url: bench(admin_url, events, args.workers, args.pages, args.live_state),
                        COUNTING)


if __name__ == "__main__":
    main()
