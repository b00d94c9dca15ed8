"""A bounded HTTP load loop against a service published on 127.0.0.1, for tests and benchmarks.

    with LoadLoop(url, threads=4, duration=30) as load:
        ...                                  # go live
        load.wait_for_body("v2", timeout=10)  # when the new version first answered
    assert load.failed == 0, load.describe()

Each thread GETs the URL on a new connection (as a curl loop does, so a closed listener shows
as refused connections), pausing between requests. The loop stops by itself after
``duration`` seconds or ``max_requests`` requests, whichever comes first, or on ``stop()``.
A non-200 answer or a connection error is a failed request. Every answer is kept with its
time, so a test can tell when the new version started answering and the old one stopped.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

BODY_CHARS = 200  # enough to recognise a version; a long page is cut


@dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic() when the answer (or the error) came
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    body: str  # the body, or the error for status None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def outcome(self) -> str:
        return f"HTTP {self.status}: {self.body}" if self.status else f"error: {self.body}"


@dataclass(frozen=True)
class Span:
    """Consecutive answers by time: 200s with the same body, or failed requests of any kind."""

    outcome: str  # "HTTP 200: BODY", or "failed" (then ``kinds`` counts each outcome)
    first: float
    last: float
    count: int
    kinds: tuple[tuple[str, int], ...] = ()


def loopback_address(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an http:// URL on 127.0.0.1; anything else is refused."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname != "127.0.0.1" or parts.port is None:
        raise ValueError(f"load goes only to http://127.0.0.1:PORT/, not {url!r}")
    return parts.hostname, parts.port, parts.path or "/"


class LoadLoop:
    def __init__(
        self,
        url: str,
        threads: int = 4,
        duration: float = 30.0,
        max_requests: int = 20_000,
        timeout: float = 5.0,
        pause: float = 0.01,
    ) -> None:
        self.host, self.port, self.path = loopback_address(url)
        self.threads, self.duration, self.max_requests = threads, duration, max_requests
        self.timeout, self.pause = timeout, pause
        self.started = 0.0
        self._answers: list[Answer] = []
        self._first_seen: dict[str, float] = {}
        self._issued = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    # ---------------------------------------------------------------- running

    def start(self) -> LoadLoop:
        self.started = time.monotonic()
        self._workers = [
            threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> None:
        """Stop now and wait for the requests in flight (at most ``timeout``)."""
        self._stop.set()
        self.join()

    def join(self) -> None:
        for worker in self._workers:
            worker.join()

    def __enter__(self) -> LoadLoop:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        deadline = self.started + self.duration
        while not self._stop.is_set() and time.monotonic() < deadline and self._claim():
            self._record(self._get())
            self._stop.wait(self.pause)

    def _claim(self) -> bool:
        with self._changed:
            if self._issued >= self.max_requests:
                return False
            self._issued += 1
            return True

    def _get(self) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            response = conn.getresponse()
            body = response.read(BODY_CHARS).decode("utf-8", "replace")
            return Answer(time.monotonic(), response.status, body)
        except (OSError, http.client.HTTPException) as exc:
            return Answer(time.monotonic(), None, type(exc).__name__)
        finally:
            conn.close()

    def _record(self, answer: Answer) -> None:
        with self._changed:
            self._answers.append(answer)
            if answer.ok and answer.body not in self._first_seen:
                self._first_seen[answer.body] = answer.at
                self._changed.notify_all()

    # ---------------------------------------------------------------- results

    @property
    def answers(self) -> list[Answer]:
        """Every answer so far, in time order."""
        with self._changed:
            return sorted(self._answers, key=lambda a: a.at)

    @property
    def total(self) -> int:
        with self._changed:
            return len(self._answers)

    @property
    def failed(self) -> int:
        with self._changed:
            return sum(not a.ok for a in self._answers)

    def failed_since(self, moment: float) -> int:
        """Failed answers from ``moment`` (monotonic) on: e.g. once the service first answered."""
        with self._changed:
            return sum(not a.ok for a in self._answers if a.at >= moment)

    def failures(self) -> list[Answer]:
        return [a for a in self.answers if not a.ok]

    def wait_for_body(self, text: str, timeout: float) -> float | None:
        """When a 200 answer whose body contains TEXT first came (monotonic), waiting for it
        up to TIMEOUT seconds; None if it did not come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = self._first_seen_with(text)
                remaining = deadline - time.monotonic()
                if seen is not None or remaining <= 0:
                    return seen
                self._changed.wait(min(remaining, 0.05))

    def first_seen(self, text: str) -> float | None:
        with self._changed:
            return self._first_seen_with(text)

    def _first_seen_with(self, text: str) -> float | None:
        times = [at for body, at in self._first_seen.items() if text in body]
        return min(times) if times else None

    def last_seen(self, text: str) -> float | None:
        """When a 200 answer containing TEXT last came (old workers may answer for a while)."""
        times = [a.at for a in self.answers if a.ok and text in a.body]
        return max(times) if times else None

    def spans(self) -> list[Span]:
        return list(_spans(self.answers))

    def describe(self) -> str:
        """One line per span of equal outcomes, times relative to the start: for messages."""
        lines = [f"{self.total} requests, {self.failed} failed"]
        for s in self.spans():
            where = f"{s.first - self.started:7.3f}-{s.last - self.started:7.3f} s"
            kinds = ", ".join(f"{kind} ×{n}" for kind, n in s.kinds)
            shown = f"failed ({kinds})" if s.kinds else repr(s.outcome.strip()[:80])
            lines.append(f"  {where} ×{s.count:<5} {shown}")
        return "\n".join(lines)


def _spans(answers: list[Answer]) -> Iterator[Span]:
    run: list[Answer] = []
    for a in answers:
        if run and _span_key(run[0]) != _span_key(a):
            yield _span(run)
            run = []
        run.append(a)
    if run:
        yield _span(run)


def _span_key(answer: Answer) -> str:
    return answer.outcome if answer.ok else "failed"


def _span(run: list[Answer]) -> Span:
    kinds = Counter(a.outcome for a in run) if not run[0].ok else Counter[str]()
    return Span(_span_key(run[0]), run[0].at, run[-1].at, len(run), tuple(kinds.most_common()))
