"""The documents a newcomer reads agree with the code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from callboard.definitions import DEFINITIONS, doc_text
from callboard.settings import markdown_table
from ingest.protocol import EVENT_TYPES, parse_message

ROOT = Path(__file__).parents[1]


def test_readme_configuration_table_is_the_one_the_code_reads():
    assert markdown_table() in (ROOT / "README.md").read_text()
    printed = subprocess.run([sys.executable, "-m", "callboard", "config", "--markdown"], capture_output=True,
                             text=True, check=True, env={**os.environ, "CALLBOARD_CONFIG": ""}).stdout
    assert printed.strip() == markdown_table().strip()


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


def test_the_journal_figures_in_the_operations_doc_are_the_measured_ones(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from feed import frames

    from ingest.journal import Journal

    journal = Journal(tmp_path / "journal", 2**30)
    events = frames(20_000, 1)
    for frame in events:
        journal.append(frame, datetime.now(UTC))
    journal.close()
    per_event = journal.size / len(events)
    operations = (ROOT / "docs" / "operations.md").read_text()
    documented = int(re.search(r"\*\*(\d+) bytes per event\*\*", operations)[1])
    assert abs(documented - per_event) / per_event < 0.03  # the simulated floor's events vary a little
    # 1024 MiB at 2,000 events/s, worked out: 1024 * 2**20 / 195 / 2000 / 60 = 45.9 minutes.
    assert "| 2,000 | 46 min |" in operations


def test_every_setting_the_operations_doc_names_exists():
    operations = (ROOT / "docs" / "operations.md").read_text()
    named = set(re.findall(r"CALLBOARD_[A-Z_]+", operations))
    assert named and named <= {line.split("`")[1] for line in markdown_table().splitlines()[2:]}


def test_the_security_doc_shows_the_role_table_the_code_applies():
    from access.roles import markdown_table as roles_table

    assert roles_table() in (ROOT / "docs" / "security.md").read_text()


def test_every_setting_the_security_doc_names_exists():
    security = (ROOT / "docs" / "security.md").read_text()
    named = set(re.findall(r"CALLBOARD_[A-Z_]+", security))
    assert named and named <= {line.split("`")[1] for line in markdown_table().splitlines()[2:]}
