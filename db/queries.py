"""Named SQL queries, kept as SQL in ``db/queries/<area>.sql`` and parsed once at import.

A file holds blocks like::

    -- name: open_holds
    -- Holds that are still running, longest first.
    SELECT ...;

and :data:`QUERIES` maps ``"<area>.<name>"`` to the SQL text (with asyncpg's ``$1`` parameters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from .exceptions import QueryNotFound

QUERY_DIR = Path(__file__).with_name("queries")
_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>\w+)\s*$", re.MULTILINE)


class Queries(Mapping[str, str]):
    def __init__(self, directory: Path) -> None:
        self._sql: dict[str, str] = {}
        for path in sorted(directory.glob("*.sql")):
            self._sql.update(_parse(path.stem, path.read_text()))

    def __getitem__(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            raise QueryNotFound(f"no query named {name!r} in {QUERY_DIR}") from None

    def __iter__(self):
        return iter(self._sql)

    def __len__(self) -> int:
        return len(self._sql)


def _parse(area: str, text: str) -> dict[str, str]:
    blocks = {}
    matches = list(_NAME_LINE.finditer(text))
    for match, following in zip(matches, matches[1:] + [None], strict=False):
        end = following.start() if following else len(text)
        body = text[match.end():end].strip()
        blocks[f"{area}.{match['name']}"] = body
    return blocks


QUERIES = Queries(QUERY_DIR)
