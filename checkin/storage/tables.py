"""Every table, as SQLAlchemy Core; migrations in storage/migrations must match this."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from checkin.storage.types import UtcDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, nullable: bool = False, ondelete: str | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


def _text(name: str, length: int = 200, nullable: bool = False, default: str = "") -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable, server_default=default if not nullable else None)


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


organisations = sa.Table(
    "organisations", metadata, _id(),
    _text("name"),
    _text("timezone", 64, default="Europe/London"),
    _text("la_ap_address"),
    sa.Column("safeguarding_chain", sa.JSON, nullable=False),  # staff user ids, DSL first
    sa.Column("bank_holidays", sa.JSON, nullable=False),  # ISO dates
    _text("ap_office_email"),
    _when("created_at", False),
)

users = sa.Table(
    "users", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("email", 320),
    _text("name"),
    _text("role", 32),
    _text("phone", 40),
    _text("password_hash", 200, nullable=True),
    _fk("manager_id", "users.id", nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    _when("locked_until"),
    _when("created_at", False),
    sa.UniqueConstraint("email"),
)

user_sessions = sa.Table(
    "user_sessions", metadata, _id(),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    _text("token_hash", 64),
    _text("csrf_token", 64),
    _when("created_at", False),
    _when("expires_at", False),
    _when("revoked_at"),
    sa.UniqueConstraint("token_hash"),
)

api_tokens = sa.Table(
    "api_tokens", metadata, _id(),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    _text("name"),
    _text("token_hash", 64),
    _when("created_at", False),
    _when("last_used_at"),
    _when("revoked_at"),
    sa.UniqueConstraint("token_hash"),
)

programmes = sa.Table(
    "programmes", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("name"),
    _text("code_set", 32, default="plain"),
    _text("preset", 40),
    sa.Column("policy", sa.JSON, nullable=False),  # rule configs and their parameters
    sa.Column("requirements", sa.JSON, nullable=False),  # completion requirements per element
    sa.Column("reasons", sa.JSON, nullable=False),  # [{"reason": ..., "accepted": bool}]
    _text("follow_up_style", 32, default="every_absence"),
    _text("point_of_contact_email", 320),
    sa.Column("weekly_report_to", sa.JSON, nullable=False),
    sa.Column("qr_rotation_seconds", sa.Integer, nullable=False, server_default="15"),
    sa.Column("grace_minutes", sa.Integer, nullable=False, server_default="0"),
    _when("created_at", False),
    _when("updated_at", False),
    sa.UniqueConstraint("org_id", "name"),
)

cohorts = sa.Table(
    "cohorts", metadata, _id(),
    _fk("programme_id", "programmes.id", ondelete="CASCADE"),
    _text("name"),
    sa.Column("starts_on", sa.Date, nullable=True),
    sa.Column("ends_on", sa.Date, nullable=True),
    sa.UniqueConstraint("programme_id", "name"),
)

people = sa.Table(
    "people", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("external_ref", 100, nullable=True),
    _text("first_name"),
    _text("last_name"),
    _text("email", 320),
    sa.Column("ap_pupil", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("on_school_roll", sa.Boolean, nullable=False, server_default=sa.text("true")),
    _text("school"),
    _text("employer"),
    sa.Column("date_of_birth", sa.Date, nullable=True),
    _when("created_at", False),
    _when("deleted_at"),
    sa.UniqueConstraint("org_id", "external_ref"),
)

school_history = sa.Table(
    "school_history", metadata, _id(),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _text("school"),
    sa.Column("from_date", sa.Date, nullable=True),
    sa.Column("to_date", sa.Date, nullable=True),
    _text("note", 500),
)

enrolments = sa.Table(
    "enrolments", metadata, _id(),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _fk("programme_id", "programmes.id"),
    _fk("cohort_id", "cohorts.id", nullable=True),
    _text("status", 20, default="active"),
    sa.Column("starts_on", sa.Date, nullable=True),
    sa.Column("ends_on", sa.Date, nullable=True),
    _when("updated_at", False),
    sa.UniqueConstraint("person_id", "programme_id"),
)

contacts = sa.Table(
    "contacts", metadata, _id(),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _text("kind", 20),
    _text("name"),
    _text("relationship", 100),
    _text("phone", 40),
    _text("email", 320),
    _text("organisation"),
    _text("preferred_channel", 20, default="email"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    _when("created_at", False),
)

sessions = sa.Table(
    "sessions", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _fk("programme_id", "programmes.id"),
    _fk("cohort_id", "cohorts.id", nullable=True),
    _text("external_ref", 100, nullable=True),
    _text("title"),
    _text("kind", 30),
    _text("element", 60),
    _text("mode", 20),
    _when("starts_at", False),
    _when("ends_at", False),
    _text("timezone", 64, default="Europe/London"),
    _text("location"),
    sa.Column("mandatory", sa.Boolean, nullable=False, server_default=sa.text("true")),
    _text("status", 20, default="scheduled"),
    _text("status_reason", 500),
    _text("cancelled_by", 20),
    _when("cancelled_at"),
    _when("register_completed_at"),
    _fk("register_completed_by", "users.id", nullable=True),
    _fk("alternative_for_id", "sessions.id", nullable=True),
    _when("created_at", False),
    _when("updated_at", False),
    sa.UniqueConstraint("org_id", "external_ref"),
    sa.Index("ix_sessions_org_start", "org_id", "starts_at"),
)

session_tutors = sa.Table(
    "session_tutors", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True, index=True),
    _when("checked_in_at"),
)

roster = sa.Table(
    "roster", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True,
              index=True),
    _when("added_at", False),
)


def _mark_columns() -> list[sa.Column[Any]]:
    return [
        _text("status", 30),
        _text("code", 8),
        _text("reason", 500),
        _text("note", 1000),
        _when("arrived_at"),
        _when("departed_at"),
        sa.Column("minutes_late", sa.Integer, nullable=False, server_default="0"),
        _text("source", 20),
        _fk("actor_user_id", "users.id", nullable=True),
        _text("device", 100),
        _when("client_time"),
        _when("server_time", False),
    ]


marks = sa.Table(
    "marks", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True,
              index=True),
    *_mark_columns(),
    sa.Column("history_id", sa.Integer, nullable=False),
)

mark_history = sa.Table(
    "mark_history", metadata, _id(),
    _fk("session_id", "sessions.id", ondelete="CASCADE"),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    *_mark_columns(),
    _text("nonce", 100, nullable=True),
    sa.Column("late_entry", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("superseded", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.UniqueConstraint("nonce"),
    # each QR check-in looks up what the same phone did in the last minutes (shared-phone flag)
    sa.Index("ix_mark_history_device_time", "device", "server_time"),
)

notices = sa.Table(
    "notices", metadata, _id(),
    _fk("session_id", "sessions.id", ondelete="CASCADE"),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _text("kind", 20, default="absence"),  # absence | cancellation
    _text("reason", 200),
    sa.Column("accepted", sa.Boolean, nullable=False),
    _text("given_by", 200),
    _text("cancelled_by", 20),
    _when("received_at", False),
    _fk("recorded_by", "users.id", nullable=True),
    sa.Column("after_start", sa.Boolean, nullable=False, server_default=sa.text("false")),
)

alerts = sa.Table(
    "alerts", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("rule_id", 40),
    _text("kind", 40),
    _text("severity", 20),
    _fk("session_id", "sessions.id", nullable=True, ondelete="SET NULL"),
    _fk("person_id", "people.id", nullable=True, ondelete="SET NULL"),
    _text("title", 300),
    _text("why", 2000),
    sa.Column("facts", sa.JSON, nullable=False),
    _text("state", 20, default="open"),
    sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("late_by_seconds", sa.Integer, nullable=False, server_default="0"),
    _when("created_at", False),
    _when("acknowledged_at"),
    _fk("acknowledged_by", "users.id", nullable=True),
    _when("closed_at"),
    _fk("closed_by", "users.id", nullable=True),
    _text("outcome", 1000),
    sa.Index("ix_alerts_org_state", "org_id", "state"),
)

alert_events = sa.Table(
    "alert_events", metadata, _id(),
    _fk("alert_id", "alerts.id", ondelete="CASCADE"),
    _when("at", False),
    _text("kind", 40),
    _fk("actor_user_id", "users.id", nullable=True),
    _text("text", 2000),
    sa.Column("data", sa.JSON, nullable=False),
)

follow_ups = sa.Table(
    "follow_ups", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _fk("session_id", "sessions.id", nullable=True, ondelete="CASCADE"),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _fk("alert_id", "alerts.id", nullable=True, ondelete="SET NULL"),
    _fk("task_id", "tasks.id", nullable=True, ondelete="SET NULL"),
    _text("contact_name"),
    _text("method", 20),
    _text("outcome", 20),
    _text("note", 2000),
    _fk("logged_by", "users.id", nullable=True),
    _when("logged_at", False),
    _text("nonce", 100, nullable=True),
    sa.UniqueConstraint("nonce"),
)

tasks = sa.Table(
    "tasks", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("kind", 40),
    _fk("session_id", "sessions.id", nullable=True, ondelete="CASCADE"),
    _fk("person_id", "people.id", nullable=True, ondelete="CASCADE"),
    _fk("alert_id", "alerts.id", nullable=True, ondelete="SET NULL"),
    _text("title", 300),
    _text("assigned_role", 32),
    _fk("assigned_user_id", "users.id", nullable=True),
    sa.Column("facts", sa.JSON, nullable=False),
    _when("due_at"),
    _text("state", 20, default="open"),
    _when("created_at", False),
    _when("done_at"),
    _fk("done_by", "users.id", nullable=True),
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the idempotency key receivers see
    _fk("alert_id", "alerts.id", nullable=True, ondelete="SET NULL"),
    _fk("org_id", "organisations.id"),
    _text("kind", 40),
    _text("channel", 20),
    _text("recipient", 500),
    _text("recipient_kind", 40),
    _text("subject", 300),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    _text("state", 20, default="pending"),  # pending | sent | failed | disabled
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _when("next_attempt_at"),
    _when("lease_until"),
    _when("created_at", False),
    _when("sent_at"),
    _text("last_error", 1000),
    sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
)

delivery_attempts = sa.Table(
    "delivery_attempts", metadata, _id(),
    sa.Column("delivery_id", sa.String(64), sa.ForeignKey("deliveries.id", ondelete="CASCADE"), index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    _when("started_at", False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    _text("outcome", 20),
    _text("error", 1000),
)

webhook_endpoints = sa.Table(
    "webhook_endpoints", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("url", 500),
    _text("secret", 100),
    sa.Column("kinds", sa.JSON, nullable=False),  # alert kinds sent; empty = all
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    _text("disabled_reason", 300),
    _when("created_at", False),
)

deadlines = sa.Table(
    "deadlines", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _fk("session_id", "sessions.id", nullable=True, ondelete="CASCADE"),
    _text("rule_id", 40),
    _fk("person_id", "people.id", nullable=True, ondelete="CASCADE"),
    _fk("alert_id", "alerts.id", nullable=True, ondelete="CASCADE"),
    _fk("task_id", "tasks.id", nullable=True, ondelete="CASCADE"),
    _text("key", 200),  # rule:session:person:alert:step, so re-planning is an upsert
    _when("due_at", False),
    _when("fired_at"),
    _when("claimed_until"),
    sa.Column("result", sa.JSON, nullable=True),
    _when("created_at", False),
    sa.UniqueConstraint("key"),
    sa.Index("ix_deadlines_pending", "fired_at", "due_at"),
)

channels = sa.Table(
    "channels", metadata,
    sa.Column("name", sa.String(100), primary_key=True),  # "session:12", "org:1"
    sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
)

events = sa.Table(
    "events", metadata, _id(),
    _text("channel", 100),
    sa.Column("seq", sa.Integer, nullable=False),
    _text("type", 40),
    sa.Column("payload", sa.JSON, nullable=False),
    _when("created_at", False),
    sa.UniqueConstraint("channel", "seq"),
)

checkin_attempts = sa.Table(
    "checkin_attempts", metadata, _id(),
    _fk("session_id", "sessions.id", nullable=True, ondelete="CASCADE"),
    _fk("person_id", "people.id", nullable=True, ondelete="CASCADE"),
    _text("device", 100),
    _text("ip", 64),
    _text("outcome", 40),
    _when("at", False),
)

catch_ups = sa.Table(
    "catch_ups", metadata, _id(),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _fk("session_id", "sessions.id", ondelete="CASCADE"),
    _fk("alternative_session_id", "sessions.id", nullable=True),
    _text("kind", 20),  # alternative | materials
    _when("form_completed_at"),
    sa.Column("reflective_log", sa.Text, nullable=False, server_default=""),
    _fk("confirmed_by", "users.id", nullable=True),
    _when("created_at", False),
)

escalations = sa.Table(
    "escalations", metadata, _id(),
    _fk("person_id", "people.id", ondelete="CASCADE"),
    _fk("programme_id", "programmes.id"),
    _text("stage", 40),
    _text("note", 2000),
    _fk("recorded_by", "users.id", nullable=True),
    _when("at", False),
)

completion_states = sa.Table(
    "completion_states", metadata,
    sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("programme_id", sa.Integer, sa.ForeignKey("programmes.id"), primary_key=True),
    sa.Column("requirement", sa.String(40), primary_key=True),
    _text("status", 20),
    _when("updated_at", False),
)

leases = sa.Table(
    "leases", metadata,
    sa.Column("name", sa.String(60), primary_key=True),
    _text("holder", 100),
    _when("expires_at", False),
)

audit_log = sa.Table(
    "audit_log", metadata, _id(),
    _fk("org_id", "organisations.id", nullable=True),
    _when("at", False),
    _fk("actor_user_id", "users.id", nullable=True),
    _text("actor", 200),
    _text("action", 60),
    _text("entity", 40),
    _text("entity_id", 64),
    sa.Column("person_id", sa.Integer, nullable=True, index=True),
    sa.Column("session_id", sa.Integer, nullable=True, index=True),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
    _text("ip", 64),
    sa.Index("ix_audit_log_at", "at"),
)

# A hold keeps a person's or a session's records from purge and erasure until released.
# Plain foreign keys (no cascade): the database itself refuses to delete what a row names.
legal_holds = sa.Table(
    "legal_holds", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _fk("person_id", "people.id", nullable=True),
    _fk("session_id", "sessions.id", nullable=True),
    _text("reason", 1000),
    _fk("placed_by", "users.id", nullable=True),
    _when("placed_at", False),
    _when("released_at"),
    _fk("released_by", "users.id", nullable=True),
    _text("release_note", 1000),
)

retention_settings = sa.Table(
    "retention_settings", metadata, _id(),
    _fk("org_id", "organisations.id"),
    _text("record_type", 40),
    sa.Column("keep_days", sa.Integer, nullable=False),
    _when("updated_at", False),
    _fk("updated_by", "users.id", nullable=True),
    sa.UniqueConstraint("org_id", "record_type"),
)
