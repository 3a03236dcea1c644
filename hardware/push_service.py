"""A Web Push service on this machine (RFC 8030), standing in for a browser's push service
(FCM, Mozilla autopush, Apple) in tests and demos: no outside service.

* `subscribe(application_server_key)` does what a browser's `PushManager.subscribe` does:
  a fresh P-256 key pair and a 16-byte auth secret kept on "the browser's" side, and an
  endpoint on this server; `.to_json()` is what `PushSubscription.toJSON()` gives a page.
* A POST to the endpoint is checked the way a push service and a browser do: `TTL` present,
  `Content-Encoding: aes128gcm`, the VAPID `Authorization` (RFC 8292: an ES256 JWT whose
  `aud` is this origin, `exp` within 24 h, `sub` a mailto:/https: contact, signed by the key
  `k` — which must be the key the subscription was made with); then the body is decrypted
  (RFC 8291) with the subscription's private key. The decrypted message is kept in
  `received`; 201 Created.
* Faults on demand: `fail_next(status, times)` answers e.g. 500 to the next POSTs;
  `expire(sub)` makes an endpoint answer 410 Gone (the browser unsubscribed).

The decryption is written from the RFCs here (HKDF by HMAC), apart from the server's
encryption (kiosk/backoffice/webpush.py), so one checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)


@dataclass
class BrowserSubscription:
    """One subscription as the browser holds it (the private half never leaves it)."""
    id: str
    endpoint: str
    application_server_key: str
    private: ec.EllipticCurvePrivateKey
    auth: bytes
    gone: bool = False

    @property
    def p256dh(self) -> str:
        return _b64(_point(self.private))

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": _b64(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 / RFC 8188 §2, one record."""
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        keyid, record = body[21:21 + idlen], body[21 + idlen:]
        if idlen != 65 or rs < 18 or len(record) > rs:
            raise ValueError("bad aes128gcm header")
        sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)
        shared = self.private.exchange(ec.ECDH(), sender)
        prk_key = _hmac(self.auth, shared)
        ikm = _hmac(prk_key, b"WebPush: info\x00" + _point(self.private) + keyid + b"\x01")
        prk = _hmac(salt, ikm)
        cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        padded = AESGCM(cek).decrypt(nonce, record, None).rstrip(b"\x00")
        if not padded.endswith(b"\x02"):
            raise ValueError("not the last record (no 0x02 delimiter)")
        return padded[:-1]


@dataclass
class Delivery:
    subscription: str
    message: dict[str, Any]
    ttl: int
    urgency: str | None
    at: float = field(default_factory=time.time)


class PushService:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.subscriptions: dict[str, BrowserSubscription] = {}
        self.received: list[Delivery] = []
        self.refused: list[tuple[int, str]] = []   # (status, why) of every refused POST
        self.posts = 0
        self._faults: list[int] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, why = service._accept(self.path, dict(self.headers.items()), body)
                if status != 201:
                    with service._lock:
                        service.refused.append((status, why))
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"/message/{secrets.token_hex(8)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.origin = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- the browser's side ---------------------------------------------------------
    def subscribe(self, application_server_key: str) -> BrowserSubscription:
        sid = secrets.token_urlsafe(16)
        sub = BrowserSubscription(sid, f"{self.origin}/push/{sid}", application_server_key,
                                  ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        with self._lock:
            self.subscriptions[sid] = sub
        return sub

    def expire(self, sub: BrowserSubscription) -> None:
        sub.gone = True

    # --- faults and waiting ---------------------------------------------------------
    def fail_next(self, status: int, times: int) -> None:
        with self._lock:
            self._faults = [status] * times

    def messages(self, sub: BrowserSubscription) -> list[dict[str, Any]]:
        with self._lock:
            return [d.message for d in self.received if d.subscription == sub.id]

    def wait_for(self, sub: BrowserSubscription, count: int, timeout: float = 15.0
                 ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [d.message for d in self.received if d.subscription == sub.id]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self._changed.wait(left)

    # --- the push service's side ----------------------------------------------------
    def _accept(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        h = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.posts += 1
            if self._faults:
                return self._faults.pop(0), "fault on demand"
            sub = self.subscriptions.get(path.rsplit("/", 1)[-1]) if path.startswith(
                "/push/") else None
        if sub is None:
            return 404, "no such subscription"
        if sub.gone:
            return 410, "unsubscribed"
        if not h.get("ttl", "").isdigit():
            return 400, "TTL missing"
        if h.get("content-encoding") != "aes128gcm":
            return 415, "not aes128gcm"
        why = self._check_vapid(h.get("authorization", ""), sub)
        if why:
            return 403, why
        try:
            message = json.loads(sub.decrypt(body))
        except (ValueError, InvalidTag) as exc:
            return 400, f"cannot decrypt: {type(exc).__name__}"
        with self._changed:
            self.received.append(Delivery(sub.id, message, int(h["ttl"]), h.get("urgency")))
            self._changed.notify_all()
        return 201, ""

    def _check_vapid(self, header: str, sub: BrowserSubscription) -> str:
        """RFC 8292: "" when the header is good, else why not."""
        if not header.startswith("vapid "):
            return "no vapid authorization"
        params = dict(p.strip().split("=", 1) for p in header[6:].split(",") if "=" in p)
        token, key = params.get("t", ""), params.get("k", "")
        if key != sub.application_server_key:
            return "k is not the key the subscription was made with"
        try:
            head, claims, sig = (_unb64(p) for p in token.split("."))
            if json.loads(head).get("alg") != "ES256" or len(sig) != 64:
                return "not ES256"
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            public.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                               int.from_bytes(sig[32:], "big")),
                          token.rsplit(".", 1)[0].encode(), ec.ECDSA(hashes.SHA256()))
            c = json.loads(claims)
        except (ValueError, InvalidSignature):
            return "bad JWT"
        if c.get("aud") != self.origin:
            return f"aud {c.get('aud')!r} is not {self.origin}"
        now = time.time()
        if not isinstance(c.get("exp"), int) or not now < c["exp"] <= now + 24 * 3600:
            return "exp not within 24 h"
        if not str(c.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub is not a contact"
        return ""

    def start(self) -> PushService:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:  # python -m hardware.push_service: a stand-in for a demo
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8720)
    args = ap.parse_args()
    service = PushService(port=args.port).start()
    print(f"push service stand-in on {service.origin}/push/…; Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        service.close()


if __name__ == "__main__":
    main()
