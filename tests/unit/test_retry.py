"""The one retry helper: how many attempts, which errors, how long between them."""

import pytest

from connectors.retry import backoff, polling, retrying


class Flaky:
    """Fails with `errors` in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def test_retries_the_errors_it_is_told_to_then_answers():
    slept: list[float] = []
    call = Flaky(TimeoutError("slow"), ConnectionError("dropped"))
    answer = retrying(call, retry_on=(OSError,), delays=[0.5, 1.0, 2.0], sleep=slept.append)
    assert answer == "answer" and call.calls == 3 and slept == [0.5, 1.0]


def test_the_last_error_propagates_when_the_delays_run_out():
    slept: list[float] = []
    call = Flaky(*(TimeoutError(f"slow {n}") for n in range(5)))
    with pytest.raises(TimeoutError, match="slow 2"):
        retrying(call, retry_on=(TimeoutError,), delays=[0.1, 0.2], sleep=slept.append)
    assert call.calls == 3 and slept == [0.1, 0.2]  # two retries: three attempts


def test_other_errors_propagate_at_once():
    call = Flaky(KeyError("a bug"))
    with pytest.raises(KeyError):
        retrying(call, retry_on=(OSError,), delays=[0.1], sleep=pytest.fail)
    assert call.calls == 1


def test_a_predicate_chooses_what_is_retried():
    call = Flaky(ValueError("retry me"), ValueError("not me"))
    with pytest.raises(ValueError, match="not me"):
        retrying(call, retry_on=lambda e: "retry" in str(e), delays=[0, 0, 0], sleep=lambda s: None)
    assert call.calls == 2


def test_no_delays_means_one_attempt():
    call = Flaky(OSError("down"))
    with pytest.raises(OSError):
        retrying(call, retry_on=(OSError,), delays=[], sleep=pytest.fail)
    assert call.calls == 1


def test_on_retry_counts_from_one_and_wait_can_change_a_delay():
    told: list[tuple[str, int]] = []
    slept: list[float] = []
    call = Flaky(OSError("first"), OSError("Retry-After 7"))
    retrying(
        call,
        retry_on=(OSError,),
        delays=[1.0, 2.0],
        sleep=slept.append,
        on_retry=lambda error, n: told.append((str(error), n)),
        wait=lambda error, delay: 7.0 if "Retry-After" in str(error) else delay,
    )
    assert told == [("first", 1), ("Retry-After 7", 2)] and slept == [1.0, 7.0]


def test_backoff_is_full_jitter_under_an_exponential_cap():
    ceilings = list(backoff(6, initial=1.0, maximum=10.0, random=lambda low, high: high))
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    floors = list(backoff(3, initial=1.0, maximum=10.0, random=lambda low, high: low))
    assert floors == [0.0, 0.0, 0.0]
    assert list(backoff(3, 0.5, 8.0, multiplier=3.0, random=lambda low, high: high)) == [
        0.5,
        1.5,
        4.5,
    ]
    assert all(0.0 <= d <= 32.0 for d in backoff(10))
    assert list(backoff(0)) == []


def test_polling_lasts_as_long_as_its_seconds():
    now = [100.0]
    delays = polling(0.1, 0.3, clock=lambda: now[0])
    now[0] = 200.0  # the deadline was set when polling was called, not at the first delay
    assert list(delays) == []
    now[0] = 100.0
    delays = polling(0.1, 0.3, clock=lambda: now[0])
    seen = []
    for delay in delays:
        seen.append(delay)
        now[0] += delay
    assert len(seen) == 4 and seen[0] == 0.1  # at 100.0, 100.1, 100.2 and 100.3 (not after)
