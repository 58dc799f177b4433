"""What every benchmark shares: a world of sessions and people, bench servers in subprocesses, figures.

The world is written straight into the database before the servers start (as the watcher
bench does), so set-up is not measured. Each person on a roster has a phone: a device id
and the signed cookie that remembers them, minted with the servers' secret, so a scan needs
no identification step. The rotating code a phone sends is the one the session's display
shows at that moment (the same signing and rotation the server checks).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checkin.domain.model import Role  # noqa: E402
from checkin.domain.tokens import (  # noqa: E402
    PURPOSE_DEVICE,
    PURPOSE_SCAN,
    derive_key,
    issue_device,
    issue_rotating,
    rotation_window,
)
from checkin.services.accounts import create_user  # noqa: E402
from checkin.services.orgs import ensure_org  # noqa: E402
from checkin.services.programme_presets import PROGRAMME_PRESETS  # noqa: E402
from checkin.storage.database import Database, Tx  # noqa: E402
from checkin.storage.tables import people, programmes, roster, sessions  # noqa: E402

SECRET = "bench-secret-" + "s" * 40
ADMIN_EMAIL = "bench-admin@example.org"
ADMIN_PASSWORD = "bench-password-long-enough"
ZONE = "Europe/London"
CHUNK = 5_000
SESSIONS_PER_PROGRAMME = 20  # a residential's worth; the organisation runs several


@dataclass(frozen=True)
class Phone:
    person_id: int
    session_id: int
    cookie: str  # the Cookie header value: device id and remembered identity


@dataclass
class World:
    org_id: int
    session_ids: list[int]
    phones: dict[int, list[Phone]]  # by session
    rotation_s: int = 15
    scan_key: bytes = field(default_factory=lambda: derive_key(SECRET.encode(), PURPOSE_SCAN))

    def token(self, session_id: int, now: datetime | None = None) -> str:
        """The code the session's display shows now."""
        now = now or datetime.now(UTC)
        day = now.astimezone(ZoneInfo(ZONE)).date()
        return issue_rotating(self.scan_key, session_id, day, rotation_window(now, self.rotation_s))

    def all_phones(self) -> list[Phone]:
        return [p for s in self.session_ids for p in self.phones[s]]


async def _insert_many(tx: Tx, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for i in range(0, len(rows), CHUNK):
        part = rows[i:i + CHUNK]
        if "id" in table.c:
            ids += [int(x) for x in (await tx.conn.execute(sa.insert(table).returning(table.c.id), part)).scalars()]
        else:
            await tx.conn.execute(sa.insert(table), part)
    return ids


async def build_world(url: str, *, sessions_n: int, roster_n: int, preset: str = "") -> World:
    """Sessions running now (started 10 minutes ago, 8 hours long), each with its own roster and phones.

    The programmes are residentials with no completion requirements, as the events preset makes
    them; `preset` names a programme preset whose requirements they get instead (every mark
    then queues a completion re-evaluation).
    """
    requirements = PROGRAMME_PRESETS[preset].requirements_list() if preset else []
    db = Database(url)
    await db.start()
    now = datetime.now(UTC)
    try:
        org = await ensure_org(db, "Bench organisation", ZONE, now)
        await create_user(db, org, ADMIN_EMAIL, "Bench Admin", Role.ADMIN, ADMIN_PASSWORD, now)

        async def work(tx: Tx) -> tuple[list[int], list[int]]:
            programme_ids = await _insert_many(tx, programmes, [dict(
                org_id=org, name=f"Bench residential {k + 1}", preset="", code_set="plain", policy={},
                requirements=requirements, reasons=[], weekly_report_to=[], created_at=now, updated_at=now)
                for k in range((sessions_n + SESSIONS_PER_PROGRAMME - 1) // SESSIONS_PER_PROGRAMME)])
            starts = now - timedelta(minutes=10)
            session_ids = await _insert_many(tx, sessions, [dict(
                org_id=org, programme_id=programme_ids[i // SESSIONS_PER_PROGRAMME], title=f"Bench session {i + 1}",
                kind="group", mode="face_to_face", starts_at=starts, ends_at=starts + timedelta(hours=8), timezone=ZONE,
                location="Main hall", created_at=now, updated_at=now) for i in range(sessions_n)])
            person_ids = await _insert_many(tx, people, [dict(
                org_id=org, first_name=f"Pat{i}", last_name="Example", email=f"pat{i}@example.org", created_at=now)
                for i in range(sessions_n * roster_n)])
            await _insert_many(tx, roster, [dict(session_id=s, person_id=person_ids[k * roster_n + j], added_at=now)
                                            for k, s in enumerate(session_ids) for j in range(roster_n)])
            return session_ids, person_ids

        session_ids, person_ids = await db.write(work)
    finally:
        await db.close()
    device_key = derive_key(SECRET.encode(), PURPOSE_DEVICE)
    phones: dict[int, list[Phone]] = {}
    for k, s in enumerate(session_ids):
        phones[s] = []
        for j in range(roster_n):
            pid = person_ids[k * roster_n + j]
            cookie = (f"checkin_device={secrets.token_urlsafe(16)}; "
                      f"checkin_person={issue_device(device_key, pid, org, now)}")
            phones[s].append(Phone(pid, s, cookie))
    return World(org, session_ids, phones)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One bench server process (bench/server.py) on a free loopback port."""

    def __init__(self, data_dir: Path, url: str, *, env: dict[str, str] | None = None, plain: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = dict(os.environ, CHECKIN_DATA_DIR=str(data_dir), CHECKIN_DATABASE_URL=url,
                       CHECKIN_SECRET_KEY=SECRET, CHECKIN_TIMEZONE=ZONE,
                       CHECKIN_PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}")
        environ.update(env or {})
        self.log = open(data_dir / f"server-{self.port}.log", "w")  # noqa: SIM115 (closed in stop)
        command = [sys.executable, str(ROOT / "bench" / "server.py"), "--port", str(self.port)]
        self.proc = subprocess.Popen(command + (["--plain"] if plain else []), env=environ, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bench server exited with {self.proc.returncode}; see {self.log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("bench server did not start")

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def servers(url: str | None, count: int = 1, *, env: dict[str, str] | None = None,
            world: dict[str, Any] | None = None, plain: bool = False,
            ) -> Iterator[tuple[list[Server], World | None, str]]:
    """Builds the world in a fresh database (SQLite in a temp dir unless `url`), then starts `count` servers."""
    tmp = Path(tempfile.mkdtemp(prefix="checkin-bench-"))
    db_url = url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    built = asyncio.run(build_world(db_url, **world)) if world else None
    started: list[Server] = []
    finished = False
    try:
        for _ in range(count):  # one after another: the first migrates, the others find the schema done
            server = Server(tmp, db_url, env=env, plain=plain)
            started.append(server)
            server.wait_ready()
        yield started, built, db_url
        finished = True
    finally:
        for server in started:
            server.stop()
        if finished:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"(the database and the server logs are kept in {tmp})", file=sys.stderr)


async def sign_in(base: str) -> tuple[str, str]:
    """The Cookie header of a signed-in admin (register views, marks) and its CSRF token."""
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/api/auth/sign-in", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        r.raise_for_status()
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items()), str(r.json()["csrf_token"])


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def settle(cpu: Callable[[], float], *, share: float = 0.05, window: float = 0.25, give_up: float = 30.0,
                 ) -> float:
    """Waits until the servers use under `share` of a core over `window` (work a figure left behind is done).

    A check-in leaves its completion re-evaluation queued for a moment after it answers; without
    this, what one figure queued is done during the next and counted against it. Returns the wait.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < give_up:
        before = cpu()
        await asyncio.sleep(window)
        if (cpu() - before) / window < share:
            break
    return time.perf_counter() - start


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[0]
