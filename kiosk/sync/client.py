"""HTTP client for the back-office (requests): timeouts, retries with exponential
backoff and full jitter, idempotency keys, TLS verification against a configurable CA
bundle, and the kiosk's device token.

Errors come in two kinds, because the outbox treats them differently:
- `Unreachable`: the request may or may not have arrived (network, timeout, 5xx, 429);
  retry later with the same idempotency key.
- `Rejected`: the back-office understood and refused (4xx); retrying will not help.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from kiosk import __version__
from kiosk.sync.settings import BackofficeSettings

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class Unreachable(Exception):
    """The back-office did not answer usefully.

    `maybe_sent` is False only when no attempt can have reached the back-office
    (connection refused or connect timeout): then a request is known not to have landed.
    """

    def __init__(self, message: str, maybe_sent: bool = True, status: int | None = None
                 ) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent
        self.status = status     # the HTTP status when the back-office did answer (5xx, 429)


class Unauthorized(Unreachable):
    """The device token was refused (revoked, rotated, mistyped): a maintainer must act.
    Everything is kept and retried, as if the back-office were unreachable."""


def _not_sent(exc: requests.RequestException) -> bool:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = str(exc)
    return isinstance(exc, requests.exceptions.ConnectionError) and (
        "NewConnectionError" in text or "Failed to establish" in text)


@dataclass
class Rejected(Exception):
    """The back-office refused the request (4xx)."""

    status: int
    code: str
    message: str
    details: Any = None     # the error body's "details" (e.g. which fields failed validation)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base·2^attempt)] (AWS architecture blog)."""
    r = rng or random
    return r.uniform(0, min(cap, base * (2 ** attempt)))


def _error_of(resp: requests.Response) -> tuple[str, str]:
    """(code, message) from the back-office's error body {"error", "message", "details"}."""
    try:
        body = resp.json()
    except ValueError:
        return f"http_{resp.status_code}", resp.text[:200]
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"], str(body.get("message", ""))[:500]
    if isinstance(body, dict) and "detail" in body:   # a bare FastAPI error
        return f"http_{resp.status_code}", str(body["detail"])[:500]
    return f"http_{resp.status_code}", str(body)[:500]


def _details_of(resp: requests.Response) -> Any:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("details") if isinstance(body, dict) else None


class BackofficeClient:
    def __init__(self, settings: BackofficeSettings, token: str | None = None) -> None:
        settings.check_transport()   # also for settings not read from a file
        self.settings = settings
        self.base = settings.url
        self._token = token if token is not None else settings.device_token()
        self._local = threading.local()   # one Session per thread: Session is not thread-safe
        # Weak: a thread's session goes with the thread (the kiosk app may issue from
        # short-lived worker threads), this only lets close() reach the live ones.
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._sessions_lock = threading.Lock()

    def _session(self) -> requests.Session:
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.mount("http://", HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0))
            s.mount("https://", HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0))
            s.headers["Authorization"] = f"Bearer {self._token}"
            s.headers["User-Agent"] = f"ward-kiosk/{__version__}"
            s.verify = self.settings.verify
            s.trust_env = False   # a ward network's proxy variables must not reroute us
            self._local.session = s
            with self._sessions_lock:
                self._sessions.add(s)
        return s

    @property
    def token(self) -> str:
        return self._token

    def reset(self) -> None:
        """Forget pooled connections (after a failure they may be half-dead)."""
        s = getattr(self._local, "session", None)
        if s is not None:
            s.close()
            self._local.session = None
            with self._sessions_lock:
                self._sessions.discard(s)

    def close(self) -> None:
        """Close every thread's connections (when the link stops)."""
        with self._sessions_lock:
            sessions = list(self._sessions)
            self._sessions.clear()
        for s in sessions:
            s.close()

    def request(self, method: str, path: str, *, json: Any = None,
                idempotency_key: str | None = None, attempts: int = 1,
                timeout: tuple[float, float] | None = None, deadline: float | None = None,
                params: dict[str, Any] | None = None) -> Any:
        """One call with up to `attempts` tries; returns the decoded JSON body (or None).

        `deadline` (time.monotonic()) bounds the whole call including backoff sleeps.
        Only idempotent calls (GET, or any call with an idempotency key) are retried.
        """
        retryable = method == "GET" or idempotency_key is not None
        tries = attempts if retryable else 1
        connect, read = timeout or (self.settings.connect_timeout, self.settings.read_timeout)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        last: Unreachable | None = None
        maybe_sent = False
        status: int | None = None
        for attempt in range(tries):
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0.01:
                    break
                connect, read = min(connect, left), min(read, left)
            try:
                resp = self._session().request(method, self.base + path, json=json,
                                               params=params, headers=headers,
                                               timeout=(connect, read))
            except requests.exceptions.SSLError as exc:
                # A certificate problem does not heal by retrying; still "unreachable"
                # for the outbox (it must keep the data), but say it loudly.
                log.error("TLS verification failed for %s: %s", self.base, exc)
                self.reset()
                raise Unreachable(f"TLS: {exc}", maybe_sent=False) from None
            except requests.RequestException as exc:
                maybe_sent = maybe_sent or not _not_sent(exc)
                last = Unreachable(f"{method} {path}: {type(exc).__name__}", maybe_sent)
                status = None
                self.reset()
            else:
                if resp.status_code < 400:
                    if resp.status_code == 204 or not resp.content:
                        return None
                    try:
                        return resp.json()
                    except ValueError:
                        maybe_sent = True
                        last = Unreachable(f"{method} {path}: answer is not JSON")
                elif resp.status_code in RETRY_STATUS:
                    code, message = _error_of(resp)
                    maybe_sent = True
                    status = resp.status_code
                    last = Unreachable(f"{method} {path}: {resp.status_code} {code} {message}")
                    retry_after = resp.headers.get("Retry-After", "")
                    if retry_after.isdigit() and attempt + 1 < tries:
                        time.sleep(min(float(retry_after), self.settings.backoff_max))
                        continue
                elif resp.status_code == 401:
                    code, message = _error_of(resp)
                    log.error("the back-office refused this kiosk's device token (%s): "
                              "provision a new one", message)
                    raise Unauthorized(f"{method} {path}: 401 {code}", maybe_sent=False)
                else:
                    code, message = _error_of(resp)
                    raise Rejected(resp.status_code, code, message, _details_of(resp))
            if attempt + 1 < tries:
                pause = backoff_delay(attempt, self.settings.backoff_base,
                                      self.settings.backoff_max)
                if deadline is not None:
                    pause = min(pause, max(deadline - time.monotonic(), 0))
                time.sleep(pause)
        if last is None:
            raise Unreachable(f"{method} {path}: no time left", maybe_sent)
        last.maybe_sent = maybe_sent
        last.status = status
        raise last

    def get(self, path: str, **kw: Any) -> Any:
        kw.setdefault("attempts", self.settings.retries)
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, json=body, **kw)

    def stream(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        """A streamed GET of `url` (a path on the back-office, or any https:// address):
        the device token goes to the back-office only, never to another server. The
        caller reads and closes the answer; a failure to connect raises Unreachable."""
        ours = not url.startswith(("http://", "https://")) or url.startswith(self.base)
        target = self.base + url if not url.startswith(("http://", "https://")) else url
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            if ours:
                return self._session().get(target, headers=headers or {}, stream=True,
                                           timeout=timeout)
            return requests.get(target, headers=headers or {}, stream=True, timeout=timeout)
        except requests.RequestException as exc:
            self.reset()
            raise Unreachable(f"GET {url}: {type(exc).__name__}", maybe_sent=False) from None
