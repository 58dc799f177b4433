"""Alert deadline-to-delivery: from an AP no-show deadline falling due to its e-mail reaching a real SMTP server.

    python bench/alert_bench.py                     # 200 deadlines falling due across 20 seconds

The bench process runs an SMTP server (aiosmtpd) on 127.0.0.1 and starts the real app with
CHECKIN_SMTP_HOST/PORT pointing at it. The world is `--due` AP tuition sessions, each with one
pupil nobody marks, whose AP-NOSHOW deadlines fall due evenly across `--spread` seconds a little
after the server starts; every pupil has an attendance contact with an e-mail address and the
organisation an AP office address, so each deadline sends the tutor's alert, the AP office's
alert and the attendance report. The latency of an e-mail is from its deadline's due time to
the SMTP server having the whole message (the watcher's wake-up, the rule, the alert and outbox
rows, the commit, the dispatcher and the SMTP conversation). Beside it, the bare ceiling: one
e-mail sent from this process straight to the same SMTP server on a new connection.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiosmtplib
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from harness import ZONE, Server, free_port, load_average, pct

from checkin.domain.model import Role
from checkin.domain.rules import DeadlineSpec, preset
from checkin.services.accounts import create_user
from checkin.services.deadlines import deadline_key
from checkin.services.orgs import ensure_org
from checkin.storage.database import Database, Tx
from checkin.storage.tables import (
    contacts,
    deadlines,
    organisations,
    people,
    programmes,
    roster,
    session_tutors,
    sessions,
)

_PUPIL = re.compile(r"Pupil(\d+)\b")


class Inbox:
    """An aiosmtpd handler noting when each message arrived and which pupil it is about."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, int | None, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        at = time.time()
        message = message_from_bytes(envelope.content, policy=policy.default)
        found = (_PUPIL.search(str(message.get("subject", "")))
                 or _PUPIL.search(envelope.content.decode(errors="ignore")))
        with self.lock:
            self.arrivals.append((at, int(found.group(1)) if found else None, ",".join(envelope.rcpt_tos)))
        return "250 OK"


async def populate(url: str, due: int, first_due: datetime, spread: float) -> dict[int, datetime]:
    """AP sessions whose no-show deadlines fall due across `spread` seconds from `first_due`: pupil index -> due."""
    db = Database(url)
    await db.start()
    now = datetime.now(UTC)
    org = await ensure_org(db, "Bench organisation", ZONE, now)
    tutor = await create_user(db, org, "tutor@example.org", "Tess Tutor", Role.TUTOR, None, now)
    dues = {i: first_due + timedelta(seconds=spread * i / max(due, 1)) for i in range(due)}

    async def work(tx: Tx) -> None:
        c = tx.conn
        await c.execute(sa.update(organisations).where(organisations.c.id == org)
                        .values(ap_office_email="ap-office@example.org"))
        programme = (await c.execute(sa.insert(programmes).values(
            org_id=org, name="AP Tuition", preset="ap_tuition", code_set="dfe_2024",
            policy=preset("ap_tuition").to_dict(), requirements=[], reasons=[], weekly_report_to=[],
            created_at=now, updated_at=now).returning(programmes.c.id))).scalar_one()
        for i, due_at in dues.items():
            start = due_at - timedelta(minutes=15)
            session_id = (await c.execute(sa.insert(sessions).values(
                org_id=org, programme_id=programme, title=f"Maths {i}", kind="ap_tuition", mode="face_to_face",
                starts_at=start, ends_at=start + timedelta(hours=1), created_at=now, updated_at=now)
                .returning(sessions.c.id))).scalar_one()
            pupil = (await c.execute(sa.insert(people).values(
                org_id=org, first_name=f"Pupil{i}", last_name="Example", email=f"pupil{i}@example.org",
                ap_pupil=True, on_school_roll=True, created_at=now).returning(people.c.id))).scalar_one()
            await c.execute(sa.insert(roster).values(session_id=session_id, person_id=pupil, added_at=now))
            await c.execute(sa.insert(session_tutors).values(session_id=session_id, user_id=tutor))
            await c.execute(sa.insert(contacts), [
                dict(person_id=pupil, kind="emergency", name="Parent Example", relationship="parent",
                     phone="07700 900111", email="", created_at=now),
                dict(person_id=pupil, kind="attendance", name="School Office", relationship="school",
                     phone="", email=f"office{i}@example.org", created_at=now)])
            spec = DeadlineSpec("AP-NOSHOW", None, due_at)
            await c.execute(sa.insert(deadlines).values(org_id=org, session_id=session_id, rule_id=spec.rule_id,
                                                        key=deadline_key(spec, session_id), due_at=due_at,
                                                        created_at=now))

    await db.write(work)
    await db.close()
    return dues


async def bare_send_ms(port: int, n: int = 50) -> list[float]:
    """The ceiling: one message from here to the same SMTP server on a new connection, until it is accepted."""
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await aiosmtplib.send(f"Subject: bare {i}\r\n\r\nbare\r\n", sender="bench@example.org",
                              recipients=["bare@example.org"], hostname="127.0.0.1", port=port)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=200, help="deadlines (one AP session and pupil each)")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds across which they fall due")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds from set-up to the first due time")
    args = parser.parse_args()
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    tmp = Path(tempfile.mkdtemp(prefix="checkin-alert-bench-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    first_due = datetime.now(UTC) + timedelta(seconds=args.lead)
    dues = asyncio.run(populate(url, args.due, first_due, args.spread))
    server = Server(tmp, url, env={"CHECKIN_SMTP_HOST": "127.0.0.1", "CHECKIN_SMTP_PORT": str(smtp_port)})
    try:
        server.wait_ready()
        wait = max((first_due - datetime.now(UTC)).total_seconds(), 0)
        print(f"SQLite, 1 app process: {args.due} AP-NOSHOW deadlines due across {args.spread:.0f} s from "
              f"{wait:.1f} s from now; load average {load_average()}")
        bare = asyncio.run(bare_send_ms(smtp_port))
        inbox.arrivals.clear()
        expected = 3 * args.due  # tutor alert, AP office alert, attendance report
        deadline = time.time() + args.lead + args.spread + 120
        while len(inbox.arrivals) < expected and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        server.stop()
        controller.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    lateness = [(at - dues[i].timestamp()) * 1000 for at, i, _ in inbox.arrivals if i is not None and i in dues]
    first = {}
    for at, i, _ in sorted(inbox.arrivals):
        if i is not None and i in dues:
            first.setdefault(i, (at - dues[i].timestamp()) * 1000)
    print(f"  e-mails received: {len(inbox.arrivals)} of {expected} expected; about {len(first)} of {args.due} pupils")
    print(f"  due -> e-mail at the SMTP server (every e-mail): p50 {pct(lateness, 0.5):.0f} ms  "
          f"p99 {pct(lateness, 0.99):.0f} ms  max {max(lateness, default=float('nan')):.0f} ms")
    firsts = list(first.values())
    print(f"  due -> first e-mail per deadline:               p50 {pct(firsts, 0.5):.0f} ms  "
          f"p99 {pct(firsts, 0.99):.0f} ms  max {max(firsts, default=float('nan')):.0f} ms")
    print(f"  bare SMTP send (ceiling):                       p50 {pct(bare, 0.5):.1f} ms  p99 {pct(bare, 0.99):.1f} ms"
          f"  (first e-mail p50 / bare p50: {pct(firsts, 0.5) / pct(bare, 0.5):.0f}x)")


if __name__ == "__main__":
    main()
