"""Helpers for the account and sign-in tests: accounts in a ward, sign-ins from a chosen
loopback address (the kernel routes all of 127.0.0.0/8 to us, so the server sees a real
other client address), bearer sessions."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any

import requests

from tests.backoffice.conftest import ok
from tests.support.backoffice import BackofficeServer


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def login_from(server: BackofficeServer, username: str, password: str,
               address: str = "127.0.0.1") -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60,
                                      source_address=(address, 0))
    try:
        conn.request("POST", "/api/v1/auth/login",
                     json.dumps({"username": username, "password": password}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        raw = r.read()
        return Answer(r.status, json.loads(raw) if raw else None,
                      {k.lower(): v for k, v in r.getheaders()})
    finally:
        conn.close()


def bearer(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def sign_in(server: BackofficeServer, username: str, password: str) -> requests.Session:
    r = requests.post(server.api("/auth/login"), timeout=30,
                      json={"username": username, "password": password})
    return bearer(ok(r)["token"])


def create_account(server: BackofficeServer, username: str, role: str, ward: str | None,
                   by: str = "admin") -> str:
    """A new account made by the city-wide admin (or `by`); returns its password."""
    r = server.session(by).post(server.api("/admin/staff"), timeout=30,
                                json={"username": username, "role": role, "ward": ward})
    return str(ok(r, 201)["password"])


def device_id(server: BackofficeServer, name: str) -> int:
    devices = ok(server.session("admin").get(server.api("/devices"), timeout=30))
    return int(next(d["id"] for d in devices if d["name"] == name))
