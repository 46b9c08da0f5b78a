"""Timing HTTP requests to a Callboard server started by a benchmark, on one kept-alive connection."""

from __future__ import annotations

import http.client
import socket
import statistics
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_answering(client: http.client.HTTPConnection, path: str, seconds: float = 120,
                         headers: dict[str, str] | None = None) -> bytes:
    """The first 200 answer to ``path`` once the server is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.request("GET", path, headers=headers or {})
            response = client.getresponse()
            body = response.read()
            if response.status == 200:
                return body
        except (ConnectionError, http.client.HTTPException):
            client.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not answer 200 within {seconds:.0f} s")
        time.sleep(0.2)


def measure(client: http.client.HTTPConnection, path: str, times: int,
            headers: dict[str, str] | None = None) -> list[float]:
    """Seconds each of ``times`` requests took, after two that warm the caches."""
    took = []
    for n in range(times + 2):
        began = time.perf_counter()
        client.request("GET", path, headers=headers or {})
        response = client.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - began
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}: {body[:300]!r}")
        if n >= 2:
            took.append(elapsed)
    return took


def summary(name: str, took: list[float], target_ms: float | None) -> str:
    median = statistics.median(took) * 1000
    p95 = statistics.quantiles(took, n=20)[-1] * 1000 if len(took) >= 2 else median
    verdict = "" if target_ms is None else f"  target median <= {target_ms:.0f} ms: " + (
        "met" if median <= target_ms else "MISSED")
    return f"{name:<46} median {median:7.1f} ms  p95 {p95:7.1f} ms  ({len(took)} requests){verdict}"
