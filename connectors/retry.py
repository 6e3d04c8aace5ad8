"""One way to retry a call: GA4's Data API, the Admin API, Hotjar and the store's file lock.

`retrying(call, retry_on=..., delays=...)` calls `call()`; each time it raises an error that
`retry_on` accepts, it sleeps the next of `delays` and calls again. When the delays run out
the last error propagates, unchanged, for the caller to turn into a message. Errors that are
not retried propagate at once. The delays say both how many retries there are and how long
each waits:

- `backoff(retries, initial, maximum, multiplier)`: exponential backoff with full jitter,
  uniform(0, min(maximum, initial * multiplier**n)) before retry n (counted from 0), as
  Google's client libraries do;
- `polling(step, seconds)`: every `step` seconds until `seconds` have passed since the call
  (a lock that a short-lived holder will soon release).

`sleep` and `random` are parameters so tests can run without waiting.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def retrying(
    call: Callable[[], T],
    *,
    retry_on: Callable[[Exception], bool] | tuple[type[Exception], ...],
    delays: Iterable[float],
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[Exception, int], None] | None = None,
    wait: Callable[[Exception, float], float] | None = None,
) -> T:
    """`call()`, retried after each error `retry_on` accepts (a predicate or exception types)
    for as long as `delays` lasts; then the last error propagates.

    `on_retry(error, n)` is told before the n-th retry (from 1), e.g. to log it; `wait(error,
    delay)` may change the delay for one error (a server's Retry-After)."""
    accepts: Callable[[Exception], bool]
    if isinstance(retry_on, tuple):
        kinds = retry_on
        accepts = lambda error: isinstance(error, kinds)  # noqa: E731
    else:
        accepts = retry_on
    pending = iter(delays)
    retries = 0
    while True:
        try:
            return call()
        except Exception as error:
            if not accepts(error):
                raise
            delay = next(pending, None)
            if delay is None:
                raise
            retries += 1
            if on_retry is not None:
                on_retry(error, retries)
            sleep(wait(error, delay) if wait is not None else delay)


def backoff(
    retries: int,
    initial: float = 1.0,
    maximum: float = 32.0,
    multiplier: float = 2.0,
    random: Callable[[float, float], float] = _random.uniform,
) -> Iterator[float]:
    """`retries` delays of exponential backoff with full jitter, capped at `maximum`."""
    for n in range(retries):
        yield random(0.0, min(maximum, initial * multiplier**n))


def polling(
    step: float, seconds: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[float]:
    """Delays of `step` for as long as `seconds` have not passed since this was called."""
    deadline = clock() + seconds

    def delays() -> Iterator[float]:
        while clock() <= deadline:
            yield step

    return delays()
