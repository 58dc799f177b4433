"""Signed tokens for QR check-in: rotating and poster scan codes, device cookies, badge and personal codes.

Every token is a few packed binary fields followed by an HMAC-SHA256 tag truncated to
16 bytes (128 bits: far beyond online guessing, and short enough for a small QR code),
then base64url without padding. Each purpose has its own key from `derive_key`, and the
first byte names the token's kind, so a token of one purpose never verifies as another.
Times are whole seconds since 1970 (UTC) and days are days since 1970-01-01.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from checkin.domain.model import StrEnum

PURPOSE_SCAN = "scan-token"
PURPOSE_DEVICE = "device-cookie"
PURPOSE_BADGE = "badge-code"
PURPOSE_PERSONAL = "personal-code"

MAC_BYTES = 16
_MAX_TOKEN_CHARS = 64
_EPOCH_DAY = date(1970, 1, 1)
_U32 = 2**32

_KIND_ROTATING = 0x11
_KIND_POSTER = 0x12
_KIND_DEVICE = 0x21
# kind, session id, day, then the window (rotating) or valid-from and valid-until (poster)
_ROTATING = struct.Struct(">BIHI")
_POSTER = struct.Struct(">BIHII")
# kind, person id, organisation id, issued at
_DEVICE = struct.Struct(">BIII")
_SCAN_LAYOUTS = {_KIND_ROTATING: _ROTATING, _KIND_POSTER: _POSTER}

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CHECK_SYMBOLS = _CROCKFORD + "*~$=U"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
_BADGE_MAC_BITS = 25
_BADGE_MAX_CHARS = 16
_PERSONAL_CHARS = 8


class TokenCode(StrEnum):
    """Why a token or code was refused; stable codes for the API and the failed-attempt log."""

    MALFORMED = "token_malformed"
    FORGED = "token_forged"
    EXPIRED = "token_expired"
    NOT_YET_VALID = "token_not_yet_valid"
    WRONG_SESSION = "token_wrong_session"
    WRONG_DAY = "token_wrong_day"
    BADGE_INVALID = "badge_invalid"


@dataclass(frozen=True, slots=True)
class TokenRejection:
    """A refused token; `session_id` is set only when the signature was genuine (for the attempt log)."""

    code: TokenCode
    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class ScanToken:
    """A verified scan code; for a rotating code the validity is its window, without grace."""

    kind: Literal["rotating", "poster"]
    session_id: int
    day: date
    window_index: int
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who a remembered device belongs to, from its signed cookie."""

    person_id: int
    org_id: int
    issued_at: datetime


@functools.lru_cache(maxsize=1024)  # every scan derives two keys; a device's ticket key, one per phone
def derive_key(secret: bytes, purpose: str) -> bytes:
    """Derive the key for one purpose from the application secret."""
    if not secret:
        raise ValueError("the application secret is empty")
    if not purpose:
        raise ValueError("a key needs a purpose")
    return hmac.new(secret, b"checkin/key/v1/" + purpose.encode(), hashlib.sha256).digest()


def rotation_window(now: datetime, rotation_s: int) -> int:
    """The index of the rotation window that contains `now`."""
    if rotation_s < 1:
        raise ValueError("rotation_s must be at least 1 second")
    return _seconds(now) // rotation_s


def issue_rotating(key: bytes, session_id: int, day: date, window_index: int) -> str:
    """A scan code for one session and day, valid during one rotation window."""
    payload = _ROTATING.pack(_KIND_ROTATING, _u32(session_id), _day_number(day), _u32(window_index))
    return _seal(key, payload)


def issue_poster(key: bytes, session_id: int, day: date, valid_from: datetime, valid_until: datetime) -> str:
    """A longer-lived printed scan code for one session and day, carrying its own validity."""
    start, end = _seconds(valid_from), _seconds(valid_until)
    if end <= start:
        raise ValueError("a poster must be valid for some time")
    payload = _POSTER.pack(_KIND_POSTER, _u32(session_id), _day_number(day), _u32(start), _u32(end))
    return _seal(key, payload)


def verify_scan_token(
    key: bytes,
    token: str,
    session_id_expected: int | None,
    now: datetime,
    rotation_s: int,
    grace_s: int = 5,
    poster_valid_until: datetime | None = None,
    day_expected: date | None = None,
) -> ScanToken | TokenRejection:
    """Check a scanned code against the session, the day and the time.

    A rotating code is accepted from `grace_s` before its window opens (clock skew between
    instances) until `grace_s` after it closes; `rotation_s` must be the one the display used.
    A poster is accepted within its own printed validity, cut short by `poster_valid_until`
    when the server withdraws it. The session is checked before the day and the day before the
    time, so a stale code from another day of a residential is reported as the wrong day
    rather than merely expired.
    """
    opened = _open_scan(key, token) if isinstance(token, str) else TokenRejection(TokenCode.MALFORMED)
    if isinstance(opened, TokenRejection):
        return opened
    kind, fields = opened
    session_id, day = fields[0], _EPOCH_DAY + timedelta(days=fields[1])
    if session_id_expected is not None and session_id != session_id_expected:
        return TokenRejection(TokenCode.WRONG_SESSION, session_id)
    if day_expected is not None and day != day_expected:
        return TokenRejection(TokenCode.WRONG_DAY, session_id)
    if kind == _KIND_ROTATING:
        window = fields[2]
        scan = ScanToken(
            "rotating", session_id, day, window, _at(window * rotation_s), _at((window + 1) * rotation_s)
        )
        grace = timedelta(seconds=grace_s)
        opens, closes = scan.valid_from - grace, scan.valid_until + grace
    else:
        scan = ScanToken("poster", session_id, day, 0, _at(fields[2]), _at(fields[3]))
        opens, closes = scan.valid_from, scan.valid_until
        if poster_valid_until is not None:
            closes = min(closes, poster_valid_until)
    if now < opens:
        return TokenRejection(TokenCode.NOT_YET_VALID, session_id)
    if now >= closes:
        return TokenRejection(TokenCode.EXPIRED, session_id)
    return scan


def issue_device(key: bytes, person_id: int, session_scope_org_id: int, issued_at: datetime) -> str:
    """The value of the signed cookie that remembers a participant's device."""
    issued = _u32(_seconds(issued_at))
    payload = _DEVICE.pack(_KIND_DEVICE, _u32(person_id), _u32(session_scope_org_id), issued)
    return _seal(key, payload)


def verify_device(
    key: bytes, token: str, now: datetime, max_age_days: int = 180
) -> DeviceIdentity | TokenRejection:
    """Read a device cookie; refused when forged, older than `max_age_days` or issued in the future."""
    opened = _open(key, token, {_KIND_DEVICE: _DEVICE})
    if isinstance(opened, TokenRejection):
        return opened
    person_id, org_id, issued = opened[1]
    identity = DeviceIdentity(person_id, org_id, _at(issued))
    # a minute of slack for clocks that differ between instances
    if identity.issued_at > now + timedelta(minutes=1):
        return TokenRejection(TokenCode.NOT_YET_VALID)
    if now >= identity.issued_at + timedelta(days=max_age_days):
        return TokenRejection(TokenCode.EXPIRED)
    return identity


def badge_code(key: bytes, person_id: int) -> str:
    """A person's badge code: Crockford base32 of the id and a 25-bit tag, then a mod-37 check symbol.

    Ten characters for ids below 2**20, longer beyond. The check symbol lets a page catch a
    typo without the key; the tag makes a code for an id that was never issued a one in 33
    million guess, so the badge-typing endpoint must still be rate-limited.
    """
    value = (_u32(person_id) << _BADGE_MAC_BITS) | _badge_tag(key, person_id)
    digits = ""
    while value or len(digits) < 9:
        digits = _CROCKFORD[value % 32] + digits
        value //= 32
    return digits + _CHECK_SYMBOLS[_crockford_value(digits) % 37]


def parse_badge(key: bytes, text: str) -> int | TokenRejection:
    """The person id in a typed or scanned badge code, tolerant of case, spaces, hyphens and I/L/O."""
    code = _normalise(text)
    if not 10 <= len(code) <= _BADGE_MAX_CHARS:
        return TokenRejection(TokenCode.BADGE_INVALID)
    digits, check = code[:-1], code[-1]
    if any(c not in _CROCKFORD for c in digits) or check not in _CHECK_SYMBOLS:
        return TokenRejection(TokenCode.BADGE_INVALID)
    value = _crockford_value(digits)
    person_id = value >> _BADGE_MAC_BITS
    if person_id >= _U32 or not hmac.compare_digest(badge_code(key, person_id), code):
        return TokenRejection(TokenCode.BADGE_INVALID)
    return person_id


def personal_code(key: bytes, person_id: int, generation: int = 0) -> str:
    """An 8-character invitation code (40 bits) a participant types to confirm who they are.

    Raising `generation` replaces a code that has leaked.
    """
    digest = hmac.new(key, b"personal" + struct.pack(">IH", _u32(person_id), generation), hashlib.sha256)
    value = int.from_bytes(digest.digest()[:5], "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(35, -1, -5))


def check_personal_code(key: bytes, person_id: int, text: str, generation: int = 0) -> bool:
    """Whether `text` is this person's personal code, compared in constant time."""
    typed = _normalise(text)[: _PERSONAL_CHARS + 1]
    return hmac.compare_digest(personal_code(key, person_id, generation).encode(), typed.encode())


def match_personal_code(key: bytes, candidates: Mapping[int, int], text: str) -> int | None:
    """Whose code `text` is among `candidates` (person id to generation), checking every one alike."""
    found: int | None = None
    for person_id, generation in candidates.items():
        # no early exit: the time taken says nothing about which roster entry matched
        if check_personal_code(key, person_id, text, generation):
            found = person_id
    return found


@functools.lru_cache(maxsize=4096)  # a display's code is scanned by a whole room while it is shown
def _open_scan(key: bytes, token: str) -> tuple[int, tuple[int, ...]] | TokenRejection:
    return _open(key, token, _SCAN_LAYOUTS)


def _seal(key: bytes, payload: bytes) -> str:
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.urlsafe_b64encode(payload + mac).rstrip(b"=").decode("ascii")


def _open(
    key: bytes, token: str, layouts: Mapping[int, struct.Struct]
) -> tuple[int, tuple[int, ...]] | TokenRejection:
    """Decode, check the kind and length, then the tag; returns the kind and fields after it."""
    malformed = TokenRejection(TokenCode.MALFORMED)
    if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN_CHARS or not token.isascii():
        return malformed
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return malformed
    # a second spelling of the same bytes (spare low bits set) would let a changed token verify
    if _seal_text(raw) != token:
        return malformed
    layout = layouts.get(raw[0])
    if layout is None or len(raw) != layout.size + MAC_BYTES:
        return malformed
    payload, mac = raw[: layout.size], raw[layout.size :]
    if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES], mac):
        return TokenRejection(TokenCode.FORGED)
    kind, *fields = layout.unpack(payload)
    return kind, tuple(fields)


def _seal_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _badge_tag(key: bytes, person_id: int) -> int:
    digest = hmac.new(key, b"badge" + struct.pack(">I", person_id), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") >> (32 - _BADGE_MAC_BITS)


def _normalise(text: str) -> str:
    if not isinstance(text, str):
        return ""
    kept = "".join(c for c in text[:_MAX_TOKEN_CHARS] if c not in " -\t\u2010\u2011\u2013")
    return kept.upper().translate(_READ_AS)


def _crockford_value(digits: str) -> int:
    value = 0
    for c in digits:
        value = value * 32 + _CROCKFORD.index(c)
    return value


def _u32(n: int) -> int:
    if not 0 <= n < _U32:
        raise ValueError(f"{n} does not fit in 32 bits")
    return n


def _day_number(day: date) -> int:
    n = (day - _EPOCH_DAY).days
    if not 0 <= n < 2**16:
        raise ValueError(f"{day} is outside 1970-2149")
    return n


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1))


def _at(seconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
