"""What ``callboard users``, ``callboard displays`` and ``callboard tokens`` do; the command line is in
callboard/cli.py. Each returns the lines to print."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from callboard.settings import Settings
from db.pool import create_pool

from .accounts import Accounts
from .exceptions import AccountError

DISPLAY_PATH = "/display"


def read_password(password_file: Path | None) -> str:
    """The new password: the first line of ``password_file``, or typed twice at the terminal."""
    if password_file is not None:
        try:
            lines = password_file.read_text().splitlines()
        except OSError as exc:
            raise AccountError(f"{password_file}: cannot be read: {exc}") from None
        return lines[0] if lines else ""
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AccountError("the two passwords differ; nothing was changed")
    return first


def display_url(settings: Settings, token: str) -> str:
    return f"{settings.dashboard_url()}{DISPLAY_PATH}?key={token}"


async def run(settings: Settings, database_url: str, args: argparse.Namespace,
              password: str | None = None) -> list[str]:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        return await _run(Accounts(pool), settings, args, password)
    finally:
        await pool.close()


async def _run(accounts: Accounts, settings: Settings, args: argparse.Namespace, password: str | None) -> list[str]:
    command = f"{args.command} {args.action}"
    if command == "users add":
        await accounts.add_user(args.name, args.role, password or "")
        return [f"added {args.name} ({args.role})"]
    if command == "users remove":
        await accounts.remove_user(args.name)
        return [f"removed {args.name}; their sessions are ended"]
    if command == "users set-role":
        await accounts.set_role(args.name, args.role)
        return [f"{args.name} is now {args.role}, in their open sessions too"]
    if command == "users set-password":
        await accounts.set_password(args.name, password or "")
        return [f"{args.name} has a new password; their open sessions are ended"]
    if command == "users list":
        return [f"{u.name}\t{u.role}\tadded {u.created_at:%Y-%m-%d}" for u in await accounts.users()] or ["no users"]
    if command == "displays add":
        token = await accounts.add_display(args.name)
        return [f"added display {args.name}; open this URL on its screen (it signs the screen in to the wall, "
                "so keep it as secret as a password):", display_url(settings, token)]
    if command == "displays revoke":
        await accounts.revoke_display(args.name)
        return [f"revoked display {args.name}; its screens are signed out"]
    if command == "displays list":
        return [f"{d.name}\tadded {d.created_at:%Y-%m-%d}\t{d.detail}" for d in await accounts.displays()] \
            or ["no displays"]
    if command == "tokens add":
        token = await accounts.add_token(args.name, args.role)
        return [f"added API token {args.name} ({args.role}); it is shown only now. Send it as "
                "`Authorization: Bearer TOKEN`:", token]
    if command == "tokens revoke":
        await accounts.revoke_token(args.name)
        return [f"revoked API token {args.name}"]
    if command == "tokens list":
        return [f"{t.name}\t{t.role}\tadded {t.created_at:%Y-%m-%d}\t{t.detail}" for t in await accounts.tokens()] \
            or ["no API tokens"]
    raise AccountError(f"unknown command {command!r}")
