"""Signed scan codes, device cookies, badge codes and personal codes."""

from __future__ import annotations

import base64
import string
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkin.domain.tokens import (
    PURPOSE_BADGE,
    PURPOSE_DEVICE,
    PURPOSE_PERSONAL,
    PURPOSE_SCAN,
    DeviceIdentity,
    ScanToken,
    TokenCode,
    TokenRejection,
    badge_code,
    check_personal_code,
    derive_key,
    issue_device,
    issue_poster,
    issue_rotating,
    match_personal_code,
    parse_badge,
    personal_code,
    rotation_window,
    verify_device,
    verify_scan_token,
)

SECRET = b"a-test-secret-that-is-not-used-anywhere-else"
SCAN = derive_key(SECRET, PURPOSE_SCAN)
DEVICE = derive_key(SECRET, PURPOSE_DEVICE)
BADGE = derive_key(SECRET, PURPOSE_BADGE)
PERSONAL = derive_key(SECRET, PURPOSE_PERSONAL)
OTHER_BADGE = derive_key(b"another-installation-secret", PURPOSE_BADGE)

ROTATION = 15
DAY = date(2025, 6, 3)
NOW = datetime(2025, 6, 3, 8, 30, 7, tzinfo=UTC)
WINDOW = rotation_window(NOW, ROTATION)
WINDOW_START = datetime(2025, 6, 3, 8, 30, 0, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(seconds=ROTATION)
POSTER_FROM = datetime(2025, 6, 3, 7, 0, tzinfo=UTC)
POSTER_UNTIL = datetime(2025, 6, 3, 17, 0, tzinfo=UTC)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BASE64URL = string.ascii_letters + string.digits + "-_"
BASE64URL_ORDER = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def scan(token: str, now: datetime = NOW, **kwargs: object) -> ScanToken | TokenRejection:
    options: dict[str, object] = {"session_id_expected": 42, "rotation_s": ROTATION, "grace_s": 5}
    options.update(kwargs)
    return verify_scan_token(SCAN, token, now=now, **options)  # type: ignore[arg-type]


def code_of(result: object) -> str:
    assert isinstance(result, TokenRejection), result
    return result.code


def check_symbol(digits: str) -> str:
    value = 0
    for c in digits:
        value = value * 32 + CROCKFORD.index(c)
    return (CROCKFORD + "*~$=U")[value % 37]


@pytest.mark.parametrize(
    ("now", "rotation_s", "expected"),
    [
        (datetime(1970, 1, 1, 0, 0, 14, tzinfo=UTC), 15, 0),
        (datetime(1970, 1, 1, 0, 0, 15, tzinfo=UTC), 15, 1),
        (datetime(1970, 1, 1, 0, 1, 0, tzinfo=UTC), 30, 2),
        (datetime(2025, 6, 3, 8, 30, 7, tzinfo=UTC), 15, 1748939400 // 15),
    ],
)
def test_the_rotation_window_counts_whole_periods_since_1970(now: datetime, rotation_s: int, expected: int) -> None:
    assert rotation_window(now, rotation_s) == expected


def test_a_rotation_window_in_another_zone_is_the_same_window() -> None:
    in_new_york = NOW.astimezone(ZoneInfo("America/New_York"))
    assert rotation_window(in_new_york, ROTATION) == WINDOW


def test_a_rotating_code_scanned_in_its_window_names_the_session_and_day() -> None:
    result = scan(issue_rotating(SCAN, 42, DAY, WINDOW))
    assert result == ScanToken("rotating", 42, DAY, WINDOW, WINDOW_START, WINDOW_END)


def test_a_rotating_code_fits_comfortably_in_a_small_qr_code() -> None:
    token = issue_rotating(SCAN, 4_000_000_000, DAY, WINDOW)
    assert len(token) <= 40
    assert set(token) <= set(BASE64URL)


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        (WINDOW_START - timedelta(seconds=5, microseconds=1), False),
        (WINDOW_START - timedelta(seconds=5), True),
        (WINDOW_END, True),
        (WINDOW_END + timedelta(seconds=4, microseconds=999_999), True),
        (WINDOW_END + timedelta(seconds=5), False),
        (WINDOW_END + timedelta(minutes=10), False),
    ],
)
def test_a_rotating_code_is_valid_for_its_window_plus_grace_only(now: datetime, accepted: bool) -> None:
    result = scan(issue_rotating(SCAN, 42, DAY, WINDOW), now=now)
    assert isinstance(result, ScanToken) is accepted


def test_a_code_just_past_its_window_and_grace_is_refused_as_expired_with_its_session() -> None:
    result = scan(issue_rotating(SCAN, 42, DAY, WINDOW), now=WINDOW_END + timedelta(seconds=5))
    assert result == TokenRejection(TokenCode.EXPIRED, 42)


def test_a_code_from_a_later_window_than_now_is_not_yet_valid() -> None:
    result = scan(issue_rotating(SCAN, 42, DAY, WINDOW + 2))
    assert code_of(result) == "token_not_yet_valid"


def test_a_code_with_any_one_character_changed_is_refused() -> None:
    token = issue_rotating(SCAN, 42, DAY, WINDOW)
    codes = set()
    for i, c in enumerate(token):
        for replacement in ("A" if c != "A" else "B", "_" if c != "_" else "-"):
            codes.add(code_of(scan(token[:i] + replacement + token[i + 1 :])))
    assert codes <= {"token_forged", "token_malformed"}
    assert "token_forged" in codes


def test_a_poster_code_spelt_with_its_spare_bits_set_is_refused() -> None:
    token = issue_poster(SCAN, 42, DAY, POSTER_FROM, POSTER_UNTIL)
    last = BASE64URL_ORDER.index(token[-1])
    respelt = token[:-1] + BASE64URL_ORDER[last ^ 1]
    assert base64.urlsafe_b64decode(respelt + "==") == base64.urlsafe_b64decode(token + "==")
    assert code_of(scan(respelt)) == "token_malformed"


def test_a_code_whose_session_field_was_rewritten_is_refused_as_forged() -> None:
    raw = bytearray(base64.urlsafe_b64decode(issue_rotating(SCAN, 42, DAY, WINDOW) + "="))
    raw[4] = 43
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert code_of(scan(tampered, session_id_expected=43)) == "token_forged"


def test_a_code_signed_with_another_secret_is_refused_as_forged() -> None:
    other = derive_key(b"someone-elses-secret", PURPOSE_SCAN)
    assert code_of(scan(issue_rotating(other, 42, DAY, WINDOW))) == "token_forged"


@pytest.mark.parametrize(
    "token",
    ["", "not a token", "é" * 30, "A" * 200, "AAAA", issue_rotating(SCAN, 42, DAY, WINDOW) + "A", "====="],
)
def test_text_that_is_not_a_code_is_refused_as_malformed(token: str) -> None:
    assert code_of(scan(token)) == "token_malformed"


def test_a_code_for_another_session_is_refused_with_that_sessions_id() -> None:
    result = scan(issue_rotating(SCAN, 41, DAY, WINDOW))
    assert result == TokenRejection(TokenCode.WRONG_SESSION, 41)


def test_any_session_is_accepted_when_the_scan_does_not_name_one() -> None:
    result = scan(issue_rotating(SCAN, 41, DAY, WINDOW), session_id_expected=None)
    assert isinstance(result, ScanToken)
    assert result.session_id == 41


def test_yesterdays_code_at_a_multi_day_residential_is_refused_as_the_wrong_day() -> None:
    yesterday = DAY - timedelta(days=1)
    token = issue_rotating(SCAN, 42, yesterday, rotation_window(NOW - timedelta(days=1), ROTATION))
    assert code_of(scan(token, day_expected=DAY)) == "token_wrong_day"


def test_todays_code_at_a_multi_day_residential_is_accepted() -> None:
    assert isinstance(scan(issue_rotating(SCAN, 42, DAY, WINDOW), day_expected=DAY), ScanToken)


def test_a_poster_code_carries_the_validity_printed_on_it() -> None:
    result = scan(issue_poster(SCAN, 42, DAY, POSTER_FROM, POSTER_UNTIL))
    assert result == ScanToken("poster", 42, DAY, 0, POSTER_FROM, POSTER_UNTIL)


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (POSTER_FROM - timedelta(seconds=1), "token_not_yet_valid"),
        (POSTER_FROM, None),
        (POSTER_UNTIL - timedelta(seconds=1), None),
        (POSTER_UNTIL, "token_expired"),
    ],
)
def test_a_poster_code_is_valid_from_and_until_the_times_it_carries(now: datetime, code: str | None) -> None:
    result = scan(issue_poster(SCAN, 42, DAY, POSTER_FROM, POSTER_UNTIL), now=now)
    assert (result.code if isinstance(result, TokenRejection) else None) == code


def test_a_poster_withdrawn_by_the_server_is_refused_before_its_printed_end() -> None:
    token = issue_poster(SCAN, 42, DAY, POSTER_FROM, POSTER_UNTIL)
    assert code_of(scan(token, poster_valid_until=NOW)) == "token_expired"
    assert isinstance(scan(token, poster_valid_until=NOW + timedelta(seconds=1)), ScanToken)


def test_a_poster_for_another_day_is_refused_as_the_wrong_day() -> None:
    token = issue_poster(SCAN, 42, DAY, POSTER_FROM, POSTER_UNTIL)
    assert code_of(scan(token, day_expected=DAY + timedelta(days=1))) == "token_wrong_day"


def test_a_poster_that_ends_before_it_starts_cannot_be_issued() -> None:
    with pytest.raises(ValueError):
        issue_poster(SCAN, 42, DAY, POSTER_UNTIL, POSTER_FROM)


@pytest.mark.parametrize(
    ("session_id", "day"), [(-1, DAY), (2**32, DAY), (1, date(1969, 12, 31)), (1, date(2150, 1, 1))]
)
def test_values_that_do_not_fit_a_code_are_refused_when_issuing(session_id: int, day: date) -> None:
    with pytest.raises(ValueError):
        issue_rotating(SCAN, session_id, day, 1)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        rotation_window(datetime(2025, 6, 3, 9, 0), ROTATION)


ISSUED = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def test_a_device_cookie_names_the_person_and_organisation() -> None:
    result = verify_device(DEVICE, issue_device(DEVICE, 7, 3, ISSUED), ISSUED + timedelta(days=30))
    assert result == DeviceIdentity(7, 3, ISSUED)


@pytest.mark.parametrize(
    ("age", "code"),
    [
        (timedelta(days=180) - timedelta(seconds=1), None),
        (timedelta(days=180), "token_expired"),
        (timedelta(days=400), "token_expired"),
        (-timedelta(minutes=1), None),
        (-timedelta(minutes=1, seconds=1), "token_not_yet_valid"),
    ],
)
def test_a_device_cookie_lasts_180_days(age: timedelta, code: str | None) -> None:
    result = verify_device(DEVICE, issue_device(DEVICE, 7, 3, ISSUED), ISSUED + age)
    assert (result.code if isinstance(result, TokenRejection) else None) == code


def test_a_shorter_device_lifetime_can_be_set() -> None:
    result = verify_device(DEVICE, issue_device(DEVICE, 7, 3, ISSUED), ISSUED + timedelta(days=31), 30)
    assert code_of(result) == "token_expired"


def test_a_device_cookie_naming_another_person_is_refused_as_forged() -> None:
    raw = bytearray(base64.urlsafe_b64decode(issue_device(DEVICE, 7, 3, ISSUED) + "==="))
    raw[4] = 8
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert code_of(verify_device(DEVICE, tampered, ISSUED)) == "token_forged"


def test_keys_for_different_purposes_differ() -> None:
    keys = {derive_key(SECRET, p) for p in (PURPOSE_SCAN, PURPOSE_DEVICE, PURPOSE_BADGE, PURPOSE_PERSONAL)}
    assert len(keys) == 4


def test_a_key_cannot_be_derived_from_an_empty_secret() -> None:
    with pytest.raises(ValueError):
        derive_key(b"", PURPOSE_SCAN)


def test_a_scan_code_is_not_a_device_cookie() -> None:
    token = issue_rotating(SCAN, 7, DAY, WINDOW)
    assert isinstance(verify_device(DEVICE, token, NOW), TokenRejection)
    assert code_of(verify_device(SCAN, token, NOW)) == "token_malformed"


def test_a_device_cookie_is_not_a_scan_code() -> None:
    token = issue_device(DEVICE, 42, 1, NOW)
    assert isinstance(scan(token, session_id_expected=None), TokenRejection)
    assert code_of(verify_scan_token(DEVICE, token, None, NOW, ROTATION)) == "token_malformed"


def test_a_scan_code_made_with_the_device_key_is_refused_as_forged() -> None:
    assert code_of(scan(issue_rotating(DEVICE, 42, DAY, WINDOW))) == "token_forged"


def test_a_badge_code_is_ten_crockford_characters_that_give_back_the_person() -> None:
    code = badge_code(BADGE, 1234)
    assert len(code) == 10
    assert set(code[:-1]) <= set(CROCKFORD)
    assert parse_badge(BADGE, code) == 1234


def test_a_badge_for_a_large_id_is_longer_and_still_gives_back_the_person() -> None:
    code = badge_code(BADGE, 2**32 - 1)
    assert len(code) > 10
    assert parse_badge(BADGE, code) == 2**32 - 1


def test_badge_codes_differ_between_people() -> None:
    assert len({badge_code(BADGE, n) for n in range(500)}) == 500


def _code_with(symbol: str) -> tuple[int, str]:
    return next((n, badge_code(BADGE, n)) for n in range(1, 10_000) if symbol in badge_code(BADGE, n)[:-1])


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c.lower(),
        lambda c: f"{c[:5]}-{c[5:]}",
        lambda c: f"  {c[:3]} {c[3:6]} {c[6:]} ",
        lambda c: c.replace("0", "O"),
        lambda c: c.replace("0", "o").lower(),
        lambda c: "-".join(c),
    ],
)
def test_a_badge_code_is_read_despite_case_spaces_hyphens_and_o_for_zero(typed: Callable[[str], str]) -> None:
    person, code = _code_with("0")
    assert parse_badge(BADGE, typed(code)) == person


@pytest.mark.parametrize("letter", ["I", "i", "L", "l"])
def test_a_badge_code_is_read_with_i_or_l_typed_for_one(letter: str) -> None:
    person, code = _code_with("1")
    assert parse_badge(BADGE, code[:-1].replace("1", letter) + code[-1]) == person


def test_a_badge_code_with_one_character_changed_is_refused() -> None:
    code = badge_code(BADGE, 1234)
    for i in range(len(code) - 1):
        for replacement in CROCKFORD:
            if replacement != code[i]:
                typo = code[:i] + replacement + code[i + 1 :]
                assert code_of(parse_badge(BADGE, typo)) == "badge_invalid"


def test_a_badge_code_with_a_valid_check_symbol_but_no_genuine_tag_is_refused() -> None:
    digits = badge_code(BADGE, 1234)[:-1]
    flipped = digits[:-1] + ("1" if digits[-1] != "1" else "2")
    assert code_of(parse_badge(BADGE, flipped + check_symbol(flipped))) == "badge_invalid"


@pytest.mark.parametrize("text", ["ABCDE-FGHJK", "0000000000", "", "12345", "UUUUUUUUUU", "Z" * 17])
def test_a_made_up_badge_code_is_refused(text: str) -> None:
    assert code_of(parse_badge(BADGE, text)) == "badge_invalid"


def test_a_badge_from_another_installation_is_refused() -> None:
    assert code_of(parse_badge(BADGE, badge_code(OTHER_BADGE, 1234))) == "badge_invalid"


def test_a_personal_code_is_eight_characters_and_checks_only_for_its_person() -> None:
    code = personal_code(PERSONAL, 55)
    assert len(code) == 8
    assert check_personal_code(PERSONAL, 55, code)
    assert not check_personal_code(PERSONAL, 56, code)


def test_a_personal_code_is_accepted_in_lower_case_with_a_hyphen() -> None:
    code = personal_code(PERSONAL, 55)
    assert check_personal_code(PERSONAL, 55, f"{code[:4]}-{code[4:]}".lower())


@pytest.mark.parametrize("typed", ["", "x", "ABCDEFGH", "A" * 5000])
def test_a_wrong_personal_code_is_refused(typed: str) -> None:
    assert not check_personal_code(PERSONAL, 55, typed)


def test_a_personal_code_with_extra_characters_is_refused() -> None:
    assert not check_personal_code(PERSONAL, 55, personal_code(PERSONAL, 55) + "0")


def test_a_new_generation_replaces_a_leaked_personal_code() -> None:
    old = personal_code(PERSONAL, 55)
    assert not check_personal_code(PERSONAL, 55, old, generation=1)
    assert check_personal_code(PERSONAL, 55, personal_code(PERSONAL, 55, 1), generation=1)


def test_a_personal_code_is_matched_to_its_owner_among_the_roster() -> None:
    roster = {n: 0 for n in range(1, 40)} | {17: 2}
    assert match_personal_code(PERSONAL, roster, personal_code(PERSONAL, 17, 2)) == 17
    assert match_personal_code(PERSONAL, roster, personal_code(PERSONAL, 17, 0)) is None
    assert match_personal_code(PERSONAL, roster, personal_code(PERSONAL, 99)) is None


ids = st.integers(min_value=0, max_value=2**32 - 1)
days = st.dates(min_value=date(1970, 1, 1), max_value=date(2149, 6, 6))
seconds = st.integers(min_value=0, max_value=2**32 - 2)


def _at(s: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=s)


@given(ids, days, st.integers(min_value=1, max_value=3600), st.integers(min_value=0, max_value=10**9))
def test_any_rotating_code_verifies_to_what_was_issued(session_id: int, day: date, rotation_s: int, at: int) -> None:
    now = _at(at)
    window = rotation_window(now, rotation_s)
    result = verify_scan_token(SCAN, issue_rotating(SCAN, session_id, day, window), session_id, now, rotation_s)
    assert isinstance(result, ScanToken)
    assert (result.kind, result.session_id, result.day, result.window_index) == (
        "rotating",
        session_id,
        day,
        window,
    )
    assert result.valid_from <= now < result.valid_until


@given(ids, days, seconds, st.integers(min_value=1, max_value=10**6))
def test_any_poster_code_verifies_to_what_was_issued(session_id: int, day: date, start: int, length: int) -> None:
    end = min(start + length, 2**32 - 1)
    token = issue_poster(SCAN, session_id, day, _at(start), _at(end))
    result = verify_scan_token(SCAN, token, None, _at(start), ROTATION)
    assert result == ScanToken("poster", session_id, day, 0, _at(start), _at(end))


@given(ids, ids, seconds)
def test_any_device_cookie_verifies_to_what_was_issued(person_id: int, org_id: int, at: int) -> None:
    result = verify_device(DEVICE, issue_device(DEVICE, person_id, org_id, _at(at)), _at(at))
    assert result == DeviceIdentity(person_id, org_id, _at(at))


@given(ids)
def test_any_badge_code_gives_back_its_person(person_id: int) -> None:
    assert parse_badge(BADGE, badge_code(BADGE, person_id)) == person_id


@given(ids, st.integers(min_value=0, max_value=2**16 - 1))
def test_any_personal_code_checks_for_its_person(person_id: int, generation: int) -> None:
    assert check_personal_code(PERSONAL, person_id, personal_code(PERSONAL, person_id, generation), generation)


@given(st.text(max_size=120))
def test_random_text_is_only_ever_refused(text: str) -> None:
    assert isinstance(scan(text, session_id_expected=None), TokenRejection)
    assert isinstance(verify_device(DEVICE, text, NOW), TokenRejection)
    assert isinstance(parse_badge(BADGE, text), TokenRejection)
    assert not check_personal_code(PERSONAL, 1, text)


@given(st.binary(max_size=48))
def test_random_bytes_in_token_form_are_only_ever_refused(raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert isinstance(scan(token, session_id_expected=None), TokenRejection)
    assert isinstance(verify_device(DEVICE, token, NOW), TokenRejection)


@given(st.integers(min_value=0, max_value=35), st.sampled_from(BASE64URL))
def test_a_valid_code_changed_anywhere_is_only_ever_refused(position: int, replacement: str) -> None:
    token = issue_rotating(SCAN, 42, DAY, WINDOW)
    changed = token[:position] + replacement + token[position + 1 :]
    result = scan(changed)
    assert isinstance(result, TokenRejection) or changed == token
