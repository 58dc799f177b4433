"""Start checkin: `python run.py --demo` serves a fictional demo on the embedded SQLite default."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

import uvicorn

from checkin.app import create_app
from checkin.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the checkin server.")
    parser.add_argument("--demo", action="store_true", help="load the fictional demo data, then serve")
    parser.add_argument("--create-admin", metavar="EMAIL", help="create an admin (password asked, or read from stdin)")
    parser.add_argument("--name", default="Administrator", help="the new admin's name (with --create-admin)")
    parser.add_argument("--host", help="overrides CHECKIN_HOST")
    parser.add_argument("--port", type=int, help="overrides CHECKIN_PORT")
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
    if args.create_admin:
        return asyncio.run(_create_admin(settings, args.create_admin, args.name))
    if args.demo:
        from checkin.demo import load_demo

        for line in asyncio.run(load_demo(settings)):
            print(line)
    print(f"checkin serving on http://{settings.host}:{settings.port}/  (Ctrl+C stops)", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                ws_per_message_deflate=False, proxy_headers=False)
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
