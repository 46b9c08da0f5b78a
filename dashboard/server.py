"""Serve the dashboard: one FastAPI app holding the pool, the snapshot hub, the API and the pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from access import audit
from access.sessions import Gate
from callboard import logs
from callboard.settings import Settings
from callboard.settings import load as load_settings
from db.pool import create_pool

from . import ack_link, alerts_api, signin
from .alert_data import AlertData, PeopleNames
from .api import BadParameter, bad_parameter_handler, invalid_request_handler, router
from .app import create_app, prepare
from .auth import AccessMiddleware, declare_security
from .data import LiveData
from .export import router as export_router
from .history import History
from .hub import SnapshotHub
from .live_state import LiveState
from .personal_data import PersonalData
from .session_watch import SessionWatch

logger = logging.getLogger(__name__)


def build(settings: Settings, database_url: str) -> FastAPI:
    """The ASGI app; the database pool and the hub start with it and stop with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.pool = await create_pool(database_url, min_size=1, max_size=4)
        app.state.gate = Gate(app.state.pool, settings)
        app.state.session_watch = SessionWatch(app.state.gate)
        people = PeopleNames(settings)
        app.state.live = LiveData(app.state.pool, settings.thresholds(), settings.timezone, settings.stale_after_s,
                                  people)
        app.state.personal = PersonalData(app.state.pool)
        app.state.alerts = AlertData(app.state.pool, settings.timezone, people)
        app.state.history = History(app.state.pool, settings.thresholds(), settings.timezone, settings.shifts)
        state = (LiveState(app.state.pool, app.state.live, settings.thresholds())
                 if settings.live_state == "incremental" else None)
        app.state.hub = SnapshotHub(app.state.live, database_url, state=state, sessions=app.state.session_watch)
        running = [asyncio.create_task(app.state.hub.run(), name="snapshot-hub"),
                   asyncio.create_task(audit.prune_forever(app.state.pool, settings.keep_audit_days),
                                       name="audit-retention")]
        await prepare(dash_app)
        try:
            yield
        finally:
            for task in running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.pool.close()

    server = FastAPI(title="Callboard", lifespan=lifespan)
    server.include_router(router)
    server.include_router(alerts_api.router)
    server.include_router(ack_link.router)
    server.include_router(signin.router)
    server.include_router(export_router)
    server.add_exception_handler(BadParameter, bad_parameter_handler)
    server.add_exception_handler(RequestValidationError, invalid_request_handler)
    dash_app = create_app(server, settings.language)
    # Outermost, so that it sees every request first (Dash's own middleware reads callback bodies).
    server.add_middleware(AccessMiddleware, dash_app=dash_app)
    declare_security(server)
    return server


# No per-message compression: each change goes to every open page, and compressing it once per
# socket cost more CPU than drawing it; a wall is on the local network.
SERVER_OPTIONS = {"ws_per_message_deflate": False, "timeout_graceful_shutdown": 3}


async def serve(settings: Settings, database_url: str, host: str, port: int, stop: asyncio.Event) -> None:
    config = uvicorn.Config(build(settings, database_url), host=host, port=port, log_config=None, **SERVER_OPTIONS)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    await serving
    stopping.cancel()
    logger.info("dashboard stopped", extra={"action": "dashboard_stopped"})


def worker_app() -> FastAPI:
    """The app of one of several worker processes: each reads the settings itself and holds its own
    pool and its own change listener, so the workers share nothing but PostgreSQL."""
    settings = load_settings()
    return build(settings, settings.database_url)


def serve_workers(database_url: str, host: str, port: int, workers: int, log_level: str) -> None:
    """Serve with ``workers`` processes on one socket; SIGTERM stops them all cleanly."""
    os.environ["DATABASE_URL"] = database_url  # the workers' own settings name the same database
    uvicorn.run("dashboard.server:worker_app", factory=True, host=host, port=port, workers=workers,
                log_config=logs.dict_config(log_level), **SERVER_OPTIONS)
    logger.info("dashboard stopped", extra={"action": "dashboard_stopped", "workers": workers})
