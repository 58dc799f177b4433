"""Staff accounts: passwords, sign-in sessions and API tokens (only hashes are stored)."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from checkin.domain.errors import DomainError, Invalid
from checkin.domain.model import Role
from checkin.domain.principal import Principal
from checkin.storage.audit import record
from checkin.storage.database import Database, Tx
from checkin.storage.tables import api_tokens, user_sessions, users

_hasher = PasswordHasher()
MAX_FAILED = 5
LOCKOUT = timedelta(minutes=15)
# Verifying against this keeps unknown e-mails as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-timing")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise Invalid("password_too_short", "Passwords need at least 10 characters.", "password")
    if len(password) > 256:
        raise Invalid("too_long", "Passwords may have at most 256 characters.", "password")
    return _hasher.hash(password)


@dataclass(frozen=True)
class SignIn:
    token: str
    principal: Principal
    expires_at: datetime


async def create_user(db: Database, org_id: int, email: str, name: str, role: Role, password: str | None,
                      now: datetime, actor: Principal | None = None, manager_id: int | None = None,
                      phone: str = "") -> int:
    pw_hash = hash_password(password) if password else None

    async def work(tx: Tx) -> int:
        exists = (await tx.conn.execute(sa.select(users.c.id).where(users.c.email == email.lower()))).first()
        if exists:
            raise DomainError("email_taken", "A staff member with that e-mail already exists.", "email",
                              status=409)
        user_id = (await tx.conn.execute(sa.insert(users).values(
            org_id=org_id, email=email.lower(), name=name, role=role.value, password_hash=pw_hash,
            manager_id=manager_id, phone=phone, created_at=now).returning(users.c.id))).scalar_one()
        await record(tx.conn, now, actor, "create", "user", user_id, org_id=org_id,
                     after={"email": email.lower(), "name": name, "role": role.value})
        return int(user_id)

    return await db.write(work)


async def sign_in(db: Database, email: str, password: str, now: datetime, hours: int) -> SignIn:
    """Checks the password; five failures lock the account for 15 minutes."""
    async with db.read() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.email == email.strip().lower()))).first()
    if row is None or not row.active or not row.password_hash:
        _verify(_DUMMY_HASH, password)
        raise DomainError("bad_credentials", "That e-mail and password do not match.", status=401)
    if row.locked_until and row.locked_until > now:
        minutes = max(1, math.ceil((row.locked_until - now).total_seconds() / 60))
        raise DomainError("account_locked", f"Too many failed sign-ins. Try again in {minutes} minutes.",
                          status=429, retry_after_seconds=int((row.locked_until - now).total_seconds()))
    ok = _verify(row.password_hash, password)

    async def work(tx: Tx) -> SignIn | None:
        if not ok:
            failed = row.failed_logins + 1
            locked = now + LOCKOUT if failed >= MAX_FAILED else None
            await tx.conn.execute(sa.update(users).where(users.c.id == row.id).values(
                failed_logins=0 if locked else failed, locked_until=locked))
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = now + timedelta(hours=hours)
        session_id = (await tx.conn.execute(sa.insert(user_sessions).values(
            user_id=row.id, token_hash=hash_token(token), csrf_token=csrf, created_at=now, expires_at=expires,
        ).returning(user_sessions.c.id))).scalar_one()
        await tx.conn.execute(sa.update(users).where(users.c.id == row.id).values(failed_logins=0,
                                                                                 locked_until=None))
        await record(tx.conn, now, None, "sign_in", "user", row.id, org_id=row.org_id, actor_label=row.email)
        principal = Principal(row.id, row.org_id, Role(row.role), row.name, "cookie", csrf, session_id)
        return SignIn(token, principal, expires)

    result = await db.write(work)
    if result is None:
        raise DomainError("bad_credentials", "That e-mail and password do not match.", status=401)
    return result


def _verify(pw_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(pw_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def principal_for_session(db: Database, token: str, now: datetime) -> Principal | None:
    async with db.read() as conn:
        row = (await conn.execute(
            sa.select(user_sessions.c.id, user_sessions.c.csrf_token, users.c.id.label("user_id"), users.c.org_id,
                      users.c.role, users.c.name)
            .join(users, users.c.id == user_sessions.c.user_id)
            .where(user_sessions.c.token_hash == hash_token(token), user_sessions.c.expires_at > now,
                   user_sessions.c.revoked_at.is_(None), users.c.active.is_(True))
        )).first()
    if row is None:
        return None
    return Principal(row.user_id, row.org_id, Role(row.role), row.name, "cookie", row.csrf_token, row.id)


async def principal_for_token(db: Database, token: str, now: datetime) -> Principal | None:
    async with db.read() as conn:
        row = (await conn.execute(
            sa.select(api_tokens.c.id, users.c.id.label("user_id"), users.c.org_id, users.c.role, users.c.name)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None),
                   users.c.active.is_(True))
        )).first()
    if row is None:
        return None
    return Principal(row.user_id, row.org_id, Role(row.role), row.name, "token")


async def sign_out(db: Database, principal: Principal, now: datetime, everywhere: bool = False) -> None:
    async def work(tx: Tx) -> None:
        q = sa.update(user_sessions).where(user_sessions.c.revoked_at.is_(None)).values(revoked_at=now)
        if everywhere:
            q = q.where(user_sessions.c.user_id == principal.user_id)
        else:
            q = q.where(user_sessions.c.id == principal.session_id)
        await tx.conn.execute(q)
        await record(tx.conn, now, principal, "sign_out_everywhere" if everywhere else "sign_out", "user",
                     principal.user_id)

    await db.write(work)


async def create_api_token(db: Database, principal: Principal, name: str, now: datetime) -> dict[str, Any]:
    """A new integration token for the acting user; the secret is shown once, only its hash kept."""
    token = "ck_" + secrets.token_urlsafe(32)

    async def work(tx: Tx) -> int:
        token_id = (await tx.conn.execute(sa.insert(api_tokens).values(
            user_id=principal.user_id, name=name, token_hash=hash_token(token), created_at=now,
        ).returning(api_tokens.c.id))).scalar_one()
        await record(tx.conn, now, principal, "create", "api_token", token_id, after={"name": name})
        return int(token_id)

    token_id = await db.write(work)
    return {"id": token_id, "name": name, "token": token}
