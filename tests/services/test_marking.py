"""record_mark: history rows, nonce idempotency, the convergence rule, codes, late entries and live events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from checkin.context import AppContext
from checkin.domain.errors import Conflict, Forbidden, Invalid
from checkin.domain.model import MarkSource, MarkStatus, Role
from checkin.domain.principal import Principal
from checkin.services.completion_queue import QUEUED, RULE_ID
from checkin.services.marking import MarkResult, record_mark
from checkin.services.programme_presets import PROGRAMME_PRESETS
from checkin.storage.database import Tx
from checkin.storage.tables import audit_log, deadlines, events, mark_history, marks, programmes, sessions
from tests import factories
from tests.conftest import both_backends, make_user

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Room:
    ctx: AppContext
    session_id: int
    ava: int
    ben: int
    outsider: int
    tutor: Principal


async def _room(ctx: AppContext, code_set: str = "dfe_2024") -> Room:
    tutor_id = await make_user(ctx, "tess.tutor@example.org", Role.TUTOR, "Tess Tutor")
    programme_id = await factories.programme(ctx, code_set=code_set, name=f"AP {code_set}")
    ava = await factories.person(ctx, "Ava", "Example")
    ben = await factories.person(ctx, "Ben", "Sample")
    outsider = await factories.person(ctx, "Cal", "Elsewhere")
    session_id = await factories.session(ctx, programme_id, START, tutor_ids=(tutor_id,), person_ids=(ava, ben))
    tutor = Principal(tutor_id, ctx.extras["org_id"], Role.TUTOR, "Tess Tutor", "cookie")
    return Room(ctx, session_id, ava, ben, outsider, tutor)


@pytest.fixture
async def room(ctx: AppContext) -> Room:
    return await _room(ctx)


async def mark(room: Room, person_id: int, status: MarkStatus = MarkStatus.PRESENT, *, at: datetime,
               client_time: datetime | None = None, nonce: str | None = None, actor: Principal | None = None,
               source: MarkSource = MarkSource.TABLET, **extra: Any) -> MarkResult:
    async def work(tx: Tx) -> MarkResult:
        return await record_mark(tx, room.ctx, session_id=room.session_id, person_id=person_id, status=status,
                                 code=extra.pop("code", None), source=source, actor=actor or room.tutor, now=at,
                                 nonce=nonce, device="tablet-1", client_time=client_time or at, **extra)

    return await room.ctx.db.write(work)


async def history(room: Room) -> list[Any]:
    async with room.ctx.db.read() as conn:
        return list((await conn.execute(sa.select(mark_history).where(
            mark_history.c.session_id == room.session_id).order_by(mark_history.c.id))).all())


async def current(room: Room, person_id: int) -> Any:
    async with room.ctx.db.read() as conn:
        return (await conn.execute(sa.select(marks).where(
            marks.c.session_id == room.session_id, marks.c.person_id == person_id))).first()


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@both_backends
async def test_a_first_mark_becomes_current_and_is_one_history_row(room: Room) -> None:
    result = await mark(room, room.ava, at=at(2))
    rows = await history(room)
    assert (result.changed, result.duplicate, [r.status for r in rows]) == (True, False, ["present"])
    assert (await current(room, room.ava)).history_id == rows[0].id == result.history_id


@both_backends
async def test_replaying_a_mark_with_the_same_nonce_changes_nothing_and_returns_the_first_result(room: Room) -> None:
    first = await mark(room, room.ava, at=at(2), nonce="nonce-aaaa-1")
    again = await mark(room, room.ava, MarkStatus.LATE, at=at(4), nonce="nonce-aaaa-1")
    async with room.ctx.db.read() as conn:
        event_count = (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar()
    assert (again.duplicate, again.changed, again.history_id) == (True, False, first.history_id)
    assert again.current["status"] == "present"
    assert (len(await history(room)), event_count) == (1, 1)


async def test_a_nonce_already_used_for_another_person_is_refused(room: Room) -> None:
    await mark(room, room.ava, at=at(2), nonce="nonce-shared-1")
    with pytest.raises(Conflict) as refused:
        await mark(room, room.ben, at=at(3), nonce="nonce-shared-1")
    assert refused.value.code == "nonce_reused"


async def test_an_offline_mark_made_earlier_loses_to_a_newer_mark_that_reached_the_server_first(room: Room) -> None:
    await mark(room, room.ava, MarkStatus.ABSENT_UNAUTHORISED, at=at(5))
    late_sync = await mark(room, room.ava, MarkStatus.PRESENT, at=at(9), client_time=at(3))
    assert (late_sync.changed, late_sync.current["status"]) == (False, "absent_unauthorised")
    assert [r.superseded for r in await history(room)] == [False, True]


@pytest.mark.parametrize("order", ["offline_first", "online_first"])
async def test_two_tablets_converge_on_the_later_effective_mark_whatever_the_arrival_order(room: Room,
                                                                                           order: str) -> None:
    offline = dict(status=MarkStatus.PRESENT, client_time=at(3), nonce="offline-mark-1")
    online = dict(status=MarkStatus.LATE, client_time=at(6), nonce="online-mark-1")
    sequence = [offline, online] if order == "offline_first" else [online, offline]
    for i, m in enumerate(sequence):
        await mark(room, room.ava, m.pop("status"), at=at(10 + i), **m)  # type: ignore[arg-type]
    now = await current(room, room.ava)
    assert (now.status, now.client_time) == ("late", at(6))


async def test_a_client_time_ahead_of_the_server_counts_as_the_server_time(room: Room) -> None:
    await mark(room, room.ava, MarkStatus.LATE, at=at(5), client_time=at(60))
    newer = await mark(room, room.ava, MarkStatus.PRESENT, at=at(6))
    assert (newer.changed, newer.current["status"], newer.current["effective_at"]) == (
        True, "present", at(6).isoformat(timespec="microseconds"))


async def _complete(room: Room, when: datetime) -> None:
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.update(sessions).where(sessions.c.id == room.session_id)
                              .values(register_completed_at=when))

    await room.ctx.db.write(work)


async def test_changing_a_mark_after_the_register_is_complete_without_a_reason_is_refused(room: Room) -> None:
    await mark(room, room.ava, at=at(2))
    await _complete(room, at(10))
    with pytest.raises(Invalid) as refused:
        await mark(room, room.ava, MarkStatus.LATE, at=at(12))
    assert (refused.value.code, refused.value.field, refused.value.status) == ("reason_required", "reason", 422)
    assert len(await history(room)) == 1


async def test_a_change_after_completion_with_a_reason_is_recorded_as_a_late_entry(room: Room) -> None:
    await mark(room, room.ava, at=at(2))
    await _complete(room, at(10))
    changed = await mark(room, room.ava, MarkStatus.LATE, at=at(12), reason="Arrived after the first activity")
    assert (changed.changed, changed.late_entry, changed.current["reason"]) == (
        True, True, "Arrived after the first activity")


async def test_a_queued_mark_made_before_completion_needs_no_reason_when_it_syncs_after(room: Room) -> None:
    await mark(room, room.ava, MarkStatus.ABSENT_UNAUTHORISED, at=at(2))
    await _complete(room, at(10))
    synced = await mark(room, room.ava, MarkStatus.PRESENT, at=at(20), client_time=at(5))
    assert (synced.changed, synced.late_entry, synced.current["status"]) == (True, False, "present")


async def test_a_qr_check_in_after_completion_needs_no_typed_reason(room: Room) -> None:
    await mark(room, room.ava, MarkStatus.ABSENT_UNAUTHORISED, at=at(2))
    await _complete(room, at(10))
    scanned = await mark(room, room.ava, MarkStatus.LATE, at=at(12), source=MarkSource.QR, actor=None)
    assert (scanned.current["source"], scanned.late_entry) == ("qr", True)


async def test_a_first_mark_after_the_register_window_is_a_late_entry(room: Room) -> None:
    assert (await mark(room, room.ava, at=at(31))).late_entry is True


async def test_a_mark_inside_the_register_window_is_not_a_late_entry(room: Room) -> None:
    assert (await mark(room, room.ava, at=at(29))).late_entry is False


async def test_the_code_defaults_from_the_status_in_the_dfe_2024_set(room: Room) -> None:
    present = await mark(room, room.ava, at=at(1))
    absent = await mark(room, room.ben, MarkStatus.ABSENT_AUTHORISED, at=at(1), reason="Illness")
    assert (present.current["code"], absent.current["code"]) == ("/", "C")


async def test_the_code_defaults_from_the_status_in_the_plain_set(ctx: AppContext) -> None:
    room = await _room(ctx, code_set="plain")
    assert (await mark(room, room.ava, MarkStatus.LATE, at=at(7))).current["code"] == "L"


async def test_arriving_after_the_register_closed_gets_code_u_in_dfe_2024(room: Room) -> None:
    result = await mark(room, room.ava, MarkStatus.LATE, at=at(40), arrived_at=at(35))
    assert (result.current["code"], result.current["minutes_late"]) == ("U", 35)


async def test_a_chosen_code_of_the_status_is_kept(room: Room) -> None:
    result = await mark(room, room.ava, MarkStatus.ABSENT_AUTHORISED, at=at(1), code="M", reason="Dentist")
    assert result.current["code"] == "M"


async def test_a_code_of_another_status_is_refused(room: Room) -> None:
    with pytest.raises(Invalid) as refused:
        await mark(room, room.ava, MarkStatus.PRESENT, at=at(1), code="M")
    assert refused.value.code == "code_status_mismatch"


async def test_a_code_outside_the_set_is_refused(room: Room) -> None:
    with pytest.raises(Invalid) as refused:
        await mark(room, room.ava, MarkStatus.PRESENT, at=at(1), code="ZZ")
    assert (refused.value.code, refused.value.field) == ("unknown_code", "code")


async def test_a_late_mark_records_the_arrival_and_the_minutes_late(room: Room) -> None:
    result = await mark(room, room.ava, MarkStatus.LATE, at=at(20), arrived_at=at(12.5))
    assert (result.current["arrived_at"], result.current["minutes_late"]) == (
        at(12.5).isoformat(timespec="microseconds"), 12)


async def test_leaving_early_keeps_the_arrival_already_recorded(room: Room) -> None:
    await mark(room, room.ava, MarkStatus.PRESENT, at=at(1))
    left = await mark(room, room.ava, MarkStatus.LEFT_EARLY, at=at(40), departed_at=at(38))
    assert (left.current["arrived_at"], left.current["departed_at"]) == (
        at(1).isoformat(timespec="microseconds"), at(38).isoformat(timespec="microseconds"))


async def test_an_absence_with_an_arrival_time_is_refused(room: Room) -> None:
    with pytest.raises(Invalid) as refused:
        await mark(room, room.ava, MarkStatus.ABSENT_UNAUTHORISED, at=at(1), arrived_at=at(1))
    assert refused.value.field == "arrived_at"


async def test_someone_not_on_the_roster_cannot_be_marked(room: Room) -> None:
    with pytest.raises(Invalid) as refused:
        await mark(room, room.outsider, at=at(1))
    assert refused.value.code == "not_on_roster"


async def test_a_tutor_cannot_mark_a_session_they_do_not_teach(room: Room) -> None:
    other_id = await make_user(room.ctx, "olly.other@example.org", Role.TUTOR, "Olly Other")
    other = Principal(other_id, room.tutor.org_id, Role.TUTOR, "Olly Other", "cookie")
    with pytest.raises(Forbidden) as refused:
        await mark(room, room.ava, at=at(1), actor=other)
    assert refused.value.code == "not_your_session"


async def test_each_mark_is_published_on_the_session_channel_after_commit(room: Room) -> None:
    sub = room.ctx.hub.subscribe(f"session:{room.session_id}")
    first = await mark(room, room.ava, at=at(1))
    second = await mark(room, room.ben, MarkStatus.LATE, at=at(2))
    got: list[Any] = [sub.queue.get_nowait(), sub.queue.get_nowait()]
    assert [(e["type"], e["seq"], e["data"]["person_id"]) for e in got] == [("mark", 1, room.ava),
                                                                            ("mark", 2, room.ben)]
    assert (first.seq, second.seq) == (1, 2)


async def _queued_after_two_marks(room: Room, requirements: list[Any]) -> tuple[list[str], list[str]]:
    """The watcher's wake-ups after two marks in a programme with these requirements, and the rows queued."""
    async def work(tx: Tx) -> None:
        await tx.conn.execute(sa.update(programmes).values(requirements=requirements))

    await room.ctx.db.write(work)
    woken: list[str] = []
    room.ctx.wakers[QUEUED] = lambda: woken.append(QUEUED)
    await mark(room, room.ava, at=at(1))
    await mark(room, room.ben, MarkStatus.LATE, at=at(2))
    async with room.ctx.db.read() as conn:
        keys = (await conn.execute(sa.select(deadlines.c.key).where(deadlines.c.rule_id == RULE_ID)
                                   .order_by(deadlines.c.id))).scalars().all()
    return woken, list(keys)


async def test_a_mark_queues_a_completion_reevaluation_and_wakes_the_watcher(room: Room) -> None:
    woken, keys = await _queued_after_two_marks(room, PROGRAMME_PRESETS["ap_tuition"].requirements_list())
    assert (woken, len(keys)) == ([QUEUED, QUEUED], 2)


async def test_a_mark_in_a_programme_without_requirements_queues_no_reevaluation(room: Room) -> None:
    assert await _queued_after_two_marks(room, []) == ([], [])


async def test_a_qr_check_in_is_published_as_a_checkin_event(room: Room) -> None:
    sub = room.ctx.hub.subscribe(f"session:{room.session_id}")

    async def work(tx: Tx) -> MarkResult:
        return await record_mark(tx, room.ctx, session_id=room.session_id, person_id=room.ava,
                                 status=MarkStatus.PRESENT, code=None, source=MarkSource.QR, actor=None, now=at(1),
                                 event_type="checkin")

    await room.ctx.db.write(work)
    event: Any = sub.queue.get_nowait()
    assert event["type"] == "checkin"


async def test_every_mark_is_in_the_audit_log_with_what_it_replaced(room: Room) -> None:
    await mark(room, room.ava, at=at(1))
    await mark(room, room.ava, MarkStatus.LATE, at=at(3))
    async with room.ctx.db.read() as conn:
        rows: list[Any] = list((await conn.execute(sa.select(audit_log).where(audit_log.c.action == "mark")
                                                   .order_by(audit_log.c.id))).all())
    assert [(r.before and r.before["status"], r.after["status"]) for r in rows] == [(None, "present"),
                                                                                    ("present", "late")]
