"""Start checkin: `python run.py --demo` serves a fictional demo on the embedded SQLite default."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

import uvicorn

from checkin.app import create_app, settle_heap
from checkin.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the checkin server.")
    parser.add_argument("--demo", action="store_true", help="load the fictional demo data, then serve")
    parser.add_argument("--create-admin", metavar="EMAIL", help="create an admin (password asked, or read from stdin)")
    parser.add_argument("--name", default="Administrator", help="the new admin's name (with --create-admin)")
    parser.add_argument("--host", help="overrides CHECKIN_HOST")
    parser.add_argument("--port", type=int, help="overrides CHECKIN_PORT")
    parser.add_argument("--backup", metavar="PATH", help="write a consistent copy of the SQLite database to PATH "
                        "(safe while the app runs), then exit")
    parser.add_argument("--restore", metavar="PATH", help="replace the SQLite database with the backup at PATH, then "
                        "exit (refused while the app runs)")
    parser.add_argument("--force", action="store_true", help="with --restore: restore even while the app runs")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    try:
        settings = Settings.from_env(None, **overrides)
    except SettingsError as exc:
        print(f"checkin: {exc}", file=sys.stderr)
        return 2
    if args.backup or args.restore:
        return _backup_or_restore(settings, args.backup, args.restore, args.force)
    if args.create_admin:
        return asyncio.run(_create_admin(settings, args.create_admin, args.name))
    if args.demo:
        from checkin.demo import DemoRefused, load_demo

        try:
            lines = asyncio.run(load_demo(settings))
        except DemoRefused as exc:
            print(f"checkin: {exc}", file=sys.stderr)
            return 2
        for line in lines:
            print(line)
    print(f"checkin serving on http://{settings.host}:{settings.port}/  (Ctrl+C stops)", flush=True)
    app = create_app(settings)
    settle_heap()
    # access lines are info, below the level: without the access logger uvicorn skips building each one
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
                ws_per_message_deflate=False, proxy_headers=False)
    return 0


def _backup_or_restore(settings: Settings, backup_to: str | None, restore_from: str | None, force: bool) -> int:
    from pathlib import Path

    from checkin.services.backup import BackupError, backup, restore

    try:
        if backup_to:
            info = backup(settings.database_url, Path(backup_to))
            print(f"Backed up to {info.path} ({info.bytes} bytes, schema {info.revision}).")
        if restore_from:
            info = restore(settings.database_url, Path(restore_from), force=force)
            print(f"Restored {info.path} from {restore_from} (schema {info.revision}); start the app to use it.")
    except BackupError as exc:
        print(f"checkin: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    return 0


async def _create_admin(settings: Settings, email: str, name: str) -> int:
    from checkin.clock import system_clock
    from checkin.domain.errors import DomainError
    from checkin.domain.model import Role
    from checkin.services.accounts import create_user
    from checkin.services.orgs import ensure_org
    from checkin.storage.database import Database

    if sys.stdin.isatty():
        password = getpass.getpass("Password for the new admin (10+ characters): ")
        if getpass.getpass("Again: ") != password:
            print("checkin: the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    await db.start()
    try:
        org_id = await ensure_org(db, "My organisation", settings.timezone, system_clock())
        await create_user(db, org_id, email, name, Role.ADMIN, password, system_clock())
    except DomainError as exc:
        print(f"checkin: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(f"Admin {email} created. Sign in at {settings.public_base_url}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
