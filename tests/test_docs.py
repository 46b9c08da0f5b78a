"""The documents a newcomer reads agree with the code."""

from __future__ import annotations

import json
from pathlib import Path

from callboard.definitions import DEFINITIONS, doc_text
from callboard.settings import markdown_table
from ingest.protocol import EVENT_TYPES, parse_message

ROOT = Path(__file__).parents[1]


def test_readme_configuration_table_is_the_one_the_code_reads():
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_every_event_type_is_documented():
    events_doc = (ROOT / "docs" / "events.md").read_text()
    assert all(f"| `{event_type}` |" in events_doc for event_type in EVENT_TYPES)


def test_the_documented_example_call_is_accepted():
    events_doc = (ROOT / "docs" / "events.md").read_text()
    example = events_doc.split("```json\n")[1].split("```")[0]
    events, rejects = parse_message(json.dumps([json.loads(line) for line in example.splitlines()]))
    assert rejects == [] and len(events) == 6


def test_ci_runs_the_readme_test_command_exactly():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("## Test it")[1].split("```sh\n")[1].split("\n```")[0].strip()
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_definition_the_wall_shows_is_the_one_in_the_metrics_doc():
    metrics_doc = (ROOT / "docs" / "metrics.md").read_text()
    missing = [name for name in DEFINITIONS if f"*{doc_text(name)}*" not in metrics_doc]
    assert missing == []
