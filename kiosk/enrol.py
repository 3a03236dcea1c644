"""A kiosk's first contact: trade the provisioning file's one-time enrolment code for the
device token (`POST /api/v1/device/enrol`), trusting only the ward CA, like all its
traffic. Used by `kiosk.provision` at the first boot of a file that carries a code."""

from __future__ import annotations

import tempfile
from pathlib import Path

import requests

from kiosk.domain.errors import ConfigError

KEY = "backoffice.enrolment_code"


def redeem(url: str, code: str, ca_pem: str, file: str, *, timeout: float = 15.0) -> str:
    """The device token for `code`; ConfigError (naming `file`) saying why not."""
    with tempfile.TemporaryDirectory() as folder:
        ca = Path(folder) / "ca.pem"
        ca.write_text(ca_pem)
        try:
            answer = requests.post(f"{url.rstrip('/')}/api/v1/device/enrol", timeout=timeout,
                                   json={"code": code}, verify=str(ca))
        except requests.RequestException as exc:
            raise ConfigError(file, KEY, f"could not reach the back-office to enrol "
                              f"({type(exc).__name__}); the next boot tries again") from None
    if answer.status_code != 200:
        raise ConfigError(file, KEY, f"the back-office refused it ({answer.status_code}: "
                          f"{answer.text[:300]}); ask the administrator for a new code")
    body = answer.json()
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token.startswith("dv_"):
        raise ConfigError(file, KEY, "the back-office's answer has no device token")
    return token
