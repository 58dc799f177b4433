"""The token-bucket rate limiter the check-in (and sign-in) endpoints use, on a hand-driven clock."""

from __future__ import annotations

import json

import pytest

from checkin.web.ratelimit import RateLimiter, Verdict, limited_response, take_all


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Seconds:
    return Seconds()


def test_a_new_key_may_spend_its_whole_capacity_and_is_then_refused(clock: Seconds) -> None:
    limiter = RateLimiter(3, 0.5, clock)
    assert [limiter.take("ip:1").allowed for _ in range(4)] == [True, True, True, False]


def test_a_refusal_says_how_long_until_one_token_is_back(clock: Seconds) -> None:
    limiter = RateLimiter(2, 0.25, clock)
    limiter.take("k")
    limiter.take("k")
    clock.now += 1
    verdict = limiter.take("k")
    assert (verdict.allowed, verdict.retry_after, verdict.retry_after_seconds) == (False, 3.0, 3)


def test_tokens_come_back_at_the_refill_rate_up_to_the_capacity(clock: Seconds) -> None:
    limiter = RateLimiter(5, 2, clock)
    for _ in range(5):
        limiter.take("k")
    clock.now += 1
    assert limiter.tokens("k") == 2
    clock.now += 100
    assert limiter.tokens("k") == 5


def test_only_the_first_refusal_of_a_run_is_marked_first(clock: Seconds) -> None:
    limiter = RateLimiter(1, 1, clock)
    limiter.take("k")
    assert [limiter.take("k").first_refusal for _ in range(3)] == [True, False, False]
    clock.now += 1
    assert limiter.take("k").allowed
    assert limiter.take("k").first_refusal is True


def test_a_clock_stepping_back_mints_no_tokens(clock: Seconds) -> None:
    limiter = RateLimiter(2, 1, clock)
    limiter.take("k")
    limiter.take("k")
    clock.now -= 50
    assert limiter.take("k").allowed is False


def test_keys_have_their_own_buckets(clock: Seconds) -> None:
    limiter = RateLimiter(1, 0.1, clock)
    assert limiter.take("device:a").allowed
    assert limiter.take("device:b").allowed
    assert not limiter.take("device:a").allowed


def test_checking_does_not_spend(clock: Seconds) -> None:
    limiter = RateLimiter(1, 0.1, clock)
    assert limiter.check("k").allowed
    assert limiter.check("k").allowed
    assert limiter.tokens("k") == 1


def test_an_exhausted_device_does_not_drain_the_shared_address(clock: Seconds) -> None:
    by_ip, by_device = RateLimiter(10, 1, clock), RateLimiter(2, 0.01, clock)
    checks = [(by_ip, "198.51.100.7"), (by_device, "phone-1")]
    verdicts = [take_all(checks) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, False, False, False]
    assert by_ip.tokens("198.51.100.7") == 8
    assert take_all([(by_ip, "198.51.100.7"), (by_device, "phone-2")]).allowed


def test_a_refusal_from_several_buckets_waits_for_the_slowest(clock: Seconds) -> None:
    fast, slow = RateLimiter(1, 1, clock), RateLimiter(1, 0.1, clock)
    take_all([(fast, "a"), (slow, "b")])
    verdict = take_all([(fast, "a"), (slow, "b")])
    assert (verdict.allowed, verdict.retry_after, verdict.first_refusal) == (False, 10.0, True)
    assert take_all([(fast, "a"), (slow, "b")]).first_refusal is False


def test_the_least_recently_used_keys_are_forgotten_past_the_limit(clock: Seconds) -> None:
    limiter = RateLimiter(1, 0.001, clock, max_keys=3)
    for key in ("a", "b", "c"):
        limiter.take(key)
    limiter.take("a")  # used again: now the most recent
    limiter.take("d")
    assert len(limiter) == 3
    assert limiter.tokens("b") == 1  # forgotten, so full again
    assert limiter.tokens("a") < 1


def test_a_bucket_needs_room_for_one_request_and_a_refill() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    with pytest.raises(ValueError):
        RateLimiter(5, 0)


def test_the_429_answer_has_the_code_a_retry_after_header_and_the_seconds() -> None:
    response = limited_response(Verdict(False, 2.2, True))
    body = json.loads(bytes(response.body))
    assert (response.status_code, response.headers["retry-after"]) == (429, "3")
    assert (body["error"]["code"], body["error"]["retry_after_seconds"]) == ("rate_limited", 3)
