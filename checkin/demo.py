"""`run.py --demo`: a fictional organisation whose day is always today, loaded once into the data dir.

Everything is written in one unit of work, so a demo is either wholly there or not at all,
and loading it again only prints the sign-ins. A database that already holds other staff
is refused: the demo's passwords are printed, so it must never be mixed into real data.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from checkin.clock import Clock, system_clock
from checkin.context import AppContext
from checkin.demo_build import DemoBuilder
from checkin.demo_data import ORG_NAME, PASSWORD, STAFF
from checkin.live.hub import Hub
from checkin.services.orgs import ensure_org
from checkin.settings import Settings
from checkin.storage.database import Database, Tx
from checkin.storage.tables import sessions, users

STATIC = Path(__file__).resolve().parent.parent / "static"
PAGES = (  # (file, what to call it, query string)
    ("index.html", "Sign in, then your pages", ""),
    ("register.html", "Register (tutor@example.org)", ""),
    ("admin.html", "Admin (admin@example.org)", ""),
    ("events.html", "Events board (events@example.org)", ""),
    ("safeguarding.html", "Safeguarding (dsl@example.org)", ""),
    ("programme.html", "Programme reports (manager@example.org)", ""),
    ("audit.html", "Audit log (admin@example.org)", ""),
    ("deadlines.html", "Deadlines (admin@example.org)", ""),
    ("display.html", "Residential QR display (events@...)", "?session={session}"),
    ("poster.html", "Residential poster (events@...)", "?session={session}"),
)
UNLISTED = {"checkin.html", "participant.html"}  # reached by scanning a QR code, or from a programme report


class DemoRefused(RuntimeError):
    """The data dir holds a real organisation; the demo is only loaded into an empty one."""


async def load_demo(settings: Settings, clock: Clock = system_clock) -> list[str]:
    """Loads the demo unless it is there already; returns the lines to print (pages and sign-ins)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    await db.start()
    try:
        async with httpx.AsyncClient() as http:
            ctx = AppContext(settings, db, Hub(settings.ws_queue_size), clock, http)
            now = clock()
            org_id = await ensure_org(db, ORG_NAME, settings.timezone, now)
            ctx.extras["org_id"] = org_id
            loaded = await db.write(lambda tx: _load(tx, ctx, org_id, now))
        async with db.read() as conn:
            residential_id = (await conn.execute(sa.select(sessions.c.id).where(
                sessions.c.org_id == org_id, sessions.c.external_ref == "DEMO-RES-1"))).scalar()
    finally:
        await db.close()
    return demo_lines(settings, fresh=loaded, residential_id=residential_id)


async def _load(tx: Tx, ctx: AppContext, org_id: int, now: datetime) -> bool:
    emails = [s.email for s in STAFF]
    found = set((await tx.conn.execute(sa.select(users.c.email).where(users.c.email.in_(emails)))).scalars())
    if found == set(emails):
        return False
    if found or (await tx.conn.execute(sa.select(users.c.id).limit(1))).first() is not None:
        raise DemoRefused(f"{ctx.settings.data_dir} already holds staff accounts, so the demo was not loaded; "
                          "point CHECKIN_DATA_DIR at an empty directory to try the demo.")
    await DemoBuilder(tx, ctx, org_id, now).build()
    return True


def pages(residential_id: int | None = None) -> list[tuple[str, str]]:
    """(label, path) of the pages worth opening, the home page first; pages added later appear by title."""
    found = {path.name: path for path in STATIC.glob("*.html")}
    shown = []
    for name, label, query in PAGES:
        if name in found and ("{" not in query or residential_id is not None):
            shown.append((label, ("/" if name == "index.html" else f"/{name}") + query.format(session=residential_id)))
    for name in sorted(set(found) - {p[0] for p in PAGES} - UNLISTED):
        title = re.search(r"<title>(.*?)</title>", found[name].read_text(encoding="utf-8"), re.S)
        shown.append(((title.group(1) if title else name).split("\u00b7")[0].strip(), f"/{name}"))
    return shown


def demo_lines(settings: Settings, *, fresh: bool = True, residential_id: int | None = None) -> list[str]:
    base = settings.public_base_url.rstrip("/")
    lines = [f"Demo {'loaded' if fresh else 'already loaded'}: {ORG_NAME}, sessions today in {settings.timezone}.",
             "Pages:"]
    lines += [f"  {label:<42} {base}{path}" for label, path in pages(residential_id)]
    lines.append(f"Demo sign-ins (every password is {PASSWORD}):")
    lines += [f"  {s.email:<26} {s.role.value:<18} {s.name}, {s.job}" for s in STAFF]
    return lines
