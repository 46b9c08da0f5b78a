"""Users, displays and API tokens as an operator manages them with the command, kept only as hashes,
every change audited; and the schema the migration gives them."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from access import keys
from access.accounts import Accounts
from access.exceptions import AccountError
from access.roles import ROLES
from db.queries import QUERIES

from .conftest import timeout


def callboard(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "callboard", *args], env=env, capture_output=True, text=True,
                          timeout=timeout(60))


async def test_the_schema_knows_exactly_the_roles_and_the_audited_actions(pool):
    checks = {row["conname"]: row["def"] for row in await pool.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname LIKE '%role_check'")}
    assert set(checks) == {"users_role_check", "api_tokens_role_check"}
    for definition in checks.values():
        assert sorted(re.findall(r"'(\w+)'", definition)) == sorted(ROLES)
    columns = {(r["table_name"], r["column_name"]) for r in await pool.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")}
    for table, column in [("users", "password_hash"), ("sessions", "id_hash"), ("displays", "token_hash"),
                          ("api_tokens", "token_hash"), ("sign_in_links", "token_hash"),
                          ("sign_in_failures", "address"), ("audit_log", "action")]:
        assert (table, column) in columns
    # No column of these tables could hold a secret in the clear.
    ours = {"users", "sessions", "displays", "api_tokens", "sign_in_links"}
    assert not {c for c in columns if c[0] in ours and c[1] in ("password", "token", "session_id", "key")}


async def test_a_user_added_by_the_command_has_an_argon2_hash_and_the_change_is_audited(database_url, pool, tmp_path):
    password = tmp_path / "password"
    password.write_text("correct horse battery\n")
    added = callboard(database_url, "users", "add", "li.na", "--role", "supervisor", "--password-file", str(password))
    assert added.returncode == 0, added.stderr
    stored = await pool.fetchrow("SELECT role, password_hash FROM users WHERE name = 'li.na'")
    assert stored["role"] == "supervisor" and stored["password_hash"].startswith("$argon2id$")
    assert keys.password_matches(stored["password_hash"], "correct horse battery")
    assert not keys.password_matches(stored["password_hash"], "correct horse battery\n")

    stored_id = await pool.fetchval("SELECT id FROM users WHERE name = 'li.na'")

    async def start_session() -> None:
        await pool.execute(QUERIES["auth.start_session"], b"session of li.na", stored_id, None, "csrf",
                           await pool.fetchval("SELECT now() + interval '1 h'"))

    await start_session()
    assert callboard(database_url, "users", "set-role", "li.na", "manager").returncode == 0
    assert await pool.fetchval("SELECT count(*) FROM sessions WHERE user_id = $1", stored_id) == 0
    await start_session()
    password.write_text("a new horse battery\n")
    changed = callboard(database_url, "users", "set-password", "li.na", "--password-file", str(password))
    assert changed.returncode == 0, changed.stderr
    new_hash = await pool.fetchval("SELECT password_hash FROM users WHERE name = 'li.na'")
    assert keys.password_matches(new_hash, "a new horse battery")
    assert not keys.password_matches(new_hash, "correct horse battery")
    assert await pool.fetchval("SELECT count(*) FROM sessions WHERE user_id = $1", stored_id) == 0
    listed = callboard(database_url, "users", "list")
    assert listed.stdout.startswith("li.na\tmanager\t")
    again = callboard(database_url, "users", "add", "li.na", "--role", "admin", "--password-file", str(password))
    assert again.returncode == 2 and "already a user 'li.na'" in again.stderr
    assert callboard(database_url, "users", "remove", "li.na").returncode == 0
    gone = callboard(database_url, "users", "remove", "li.na")
    assert gone.returncode == 2 and "no user 'li.na'" in gone.stderr
    since = await pool.fetchval("SELECT '-infinity'::timestamptz")
    audit = [(r["actor"], r["action"], r["subject"]) for r in await pool.fetch(QUERIES["auth.audit_since"], since)]
    assert audit == [("command line", "user_added", "li.na"), ("command line", "user_role_changed", "li.na: manager"),
                     ("command line", "user_password_changed", "li.na"), ("command line", "user_removed", "li.na")]


@pytest.mark.parametrize("name, role, password, message", [
    ("two words", "admin", "long enough password", "not valid"),
    ("", "admin", "long enough password", "not valid"),
    ("zhang.wei", "root", "long enough password", "unknown role 'root'"),
    ("zhang.wei", "admin", "short", "too short"),
])
async def test_bad_users_are_refused_with_a_reason(pool, name, role, password, message):
    with pytest.raises(AccountError, match=message):
        await Accounts(pool).add_user(name, role, password)
    assert await pool.fetchval("SELECT count(*) FROM users") == 0


async def test_display_and_api_tokens_are_printed_once_and_stored_only_as_hashes(database_url, pool):
    shown = callboard(database_url, "displays", "add", "lobby")
    assert shown.returncode == 0, shown.stderr
    url = shown.stdout.strip().splitlines()[-1]
    token = re.fullmatch(r"http://127\.0\.0\.1:8050/display\?key=([\w-]{43})", url)[1]
    assert await pool.fetchval("SELECT token_hash FROM displays WHERE name = 'lobby'") == keys.digest(token)
    printed = callboard(database_url, "tokens", "add", "reporting", "--role", "manager")
    api_token = printed.stdout.strip().splitlines()[-1]
    assert len(api_token) == 43
    assert await pool.fetchval("SELECT token_hash FROM api_tokens WHERE name = 'reporting'") == keys.digest(api_token)
    assert "reporting\tmanager\t" in callboard(database_url, "tokens", "list").stdout
    assert api_token not in callboard(database_url, "tokens", "list").stdout
    assert "lobby\t" in callboard(database_url, "displays", "list").stdout
    assert callboard(database_url, "tokens", "revoke", "reporting").returncode == 0
    assert callboard(database_url, "displays", "revoke", "lobby").returncode == 0
    assert await pool.fetchval("SELECT count(*) FROM displays") + await pool.fetchval(
        "SELECT count(*) FROM api_tokens") == 0


def test_every_account_command_explains_itself():
    for command in (["users"], ["users", "add"], ["users", "set-role"], ["displays"], ["displays", "add"],
                    ["tokens"], ["tokens", "add"]):
        result = subprocess.run([sys.executable, "-m", "callboard", *command, "--help"],
                                capture_output=True, text=True, timeout=timeout(30))
        assert result.returncode == 0 and "usage: callboard" in result.stdout, command
