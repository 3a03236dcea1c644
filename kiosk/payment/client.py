"""The kiosk's calls to the back-office payment API (docs/payment.md, "API")."""

from __future__ import annotations

from typing import Any

import requests


class BackofficeError(RuntimeError):
    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PaymentClient:
    def __init__(self, base_url: str, token: str, *, timeout_s: float = 5.0,
                 verify: bool | str = True) -> None:
        self.api = base_url.rstrip("/") + "/api/v1"
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.verify = verify

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            r = self.session.request(method, self.api + path, json=body, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise BackofficeError(f"back-office unreachable: {exc.__class__.__name__}") from None
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code >= 400:
            code = data.get("error", "") if isinstance(data, dict) else ""
            message = data.get("message", "") if isinstance(data, dict) else ""
            raise BackofficeError(f"{r.status_code} {code}: {message}", status=r.status_code,
                                  code=code)
        return data

    def start(self, ticket_id: int, method: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/tickets/{ticket_id}/payments",
                                            {"method": method})
        return result

    def get(self, payment_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/payments/{payment_id}")
        return result

    def cancel(self, payment_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/payments/{payment_id}/cancel")
        return result

    def terminal_result(self, payment_id: int, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/payments/{payment_id}/terminal-result",
                                            body)
        return result

    def reconcile_terminal(self, journal: dict[str, Any], day: str | None = None,
                           ward: str | None = None) -> dict[str, Any]:
        """Upload the terminal's journal (supervisor token): the day's report with the
        terminal payments compared transaction by transaction."""
        query = "&".join(f"{k}={v}" for k, v in (("day", day), ("ward", ward)) if v)
        result: dict[str, Any] = self._call(
            "POST", "/payments/reconciliation/terminal-journal" + (f"?{query}" if query else ""),
            journal)
        return result
