"""A routed (life-event) ticket on the wire: online, offline from a number block, and
from the outbox (one by one and in a batch) — the same fields each time, the personal
part sealed while it waits. The back-office here is a recording HTTP server: what is
tested is exactly the body the kiosk sends (the real back-office's side is life-backoffice's)."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kiosk.domain.application import Application, Identity
from kiosk.sync import KioskLink, PrivacyError, RoutedVisit, blocks
from kiosk.sync.store import outbox
from tests.sync.helpers import CARD, CATALOG, juminhyo, kokuho, send_json, serving, settings

GUIDE = [{"name": "小中学校の転入学", "place": "other", "office": "教育委員会",
          "bring": ["在学証明書"], "url": None},
         {"name": "国民健康保険の加入", "place": "here", "office": None,
          "bring": ["本人確認書類"], "url": None}]


def tennyu() -> Application:
    return Application.build(CATALOG.procedure("tennyu"), {
        **CARD, "sex": "2", "new_address": "東京都千代田区千代田１－１",
        "move_date": "2026-11-20", "householder": "山田　太郎", "relationship": "本人"},
        Identity.CARD)


def visit() -> RoutedVisit:
    return RoutedVisit(life_event="tennyu",
                       route=[("moving", ["tennyu"]), ("insurance", ["kokuho_kanyu"]),
                              ("certificates", ["juminhyo"])],
                       applications=[tennyu(), kokuho(), juminhyo()], guide=GUIDE)


class _Recorder(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    down: ClassVar[bool] = False
    batch: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        cls = type(self)
        if cls.down:
            send_json(self, 503, {"error": "unavailable", "message": "down"})
            return
        cls.bodies.append((self.path, body))
        if self.path.endswith("/batch"):
            if not cls.batch:
                send_json(self, 404, {"error": "not_found", "message": "no batch"})
                return
            send_json(self, 200, {"results": [{"status": 201, "ticket": _ticket(b)}
                                              for b in body["items"]]})
            return
        send_json(self, 201, _ticket(body))

    def do_GET(self) -> None:
        send_json(self, 404, {"error": "not_found", "message": "-"})

    def log_message(self, *args: object) -> None:
        pass


def _ticket(body: dict[str, Any]) -> dict[str, Any]:
    number = (body.get("offline") or {}).get("number", 1)
    return {"id": 7, "number": f"B-{number:03d}", "service": body["service"],
            "status_url": "http://x/status/t", "people_ahead": 2,
            "estimated_wait_seconds": 600,
            "route": [{"seq": i, "service": s["service"], "service_name": s["service"],
                       "procedures": s["procedures"], "status": "waiting", "counter": None}
                      for i, s in enumerate(body.get("route") or [], 1)] or None,
            "stage": 1 if body.get("route") else None}


@pytest.fixture()
def recorder() -> Iterator[type[_Recorder]]:
    handler = type("Handler", (_Recorder,), {"bodies": [], "down": False, "batch": False})
    with serving(handler) as url:
        handler.url = url  # type: ignore[attr-defined]
        yield handler


def _check_routed(body: dict[str, Any]) -> None:
    assert body["life_event"] == "tennyu"
    assert (body["service"], body["procedure"]) == ("moving", "tennyu")    # the first stage
    assert body["route"] == [{"service": "moving", "procedures": ["tennyu"]},
                             {"service": "insurance", "procedures": ["kokuho_kanyu"]},
                             {"service": "certificates", "procedures": ["juminhyo"]}]
    assert body["guide"] == GUIDE
    assert "application" not in body
    apps = body["applications"]
    assert [a["procedure"] for a in apps] == ["tennyu", "kokuho_kanyu", "juminhyo"]
    assert apps[1]["values"]["my_number"]["masked"] == "********9018"


def _link(tmp_path: Path, url: str, prefix: str = "B", service: str = "moving") -> KioskLink:
    link = KioskLink(settings(tmp_path, url))
    with link.store.write() as conn:
        blocks.add_block(conn, {"block_id": 5, "service": service, "prefix": prefix,
                                "day": link.now().date().isoformat(), "first": 901,
                                "last": 903, "numbers": [f"{prefix}-901", f"{prefix}-903"]})
    return link


def test_online_routed_ticket_sends_route_guide_and_every_application(
        tmp_path: Path, recorder: type[_Recorder]) -> None:
    link = _link(tmp_path, recorder.url)  # type: ignore[attr-defined]
    ticket = link.issue_ticket("ignored", routed=visit())
    assert not ticket.offline and ticket.number == "B-001"
    assert ticket.route is not None and [s["service"] for s in ticket.route] == [
        "moving", "insurance", "certificates"]
    ((path, body),) = recorder.bodies
    assert path == "/api/v1/tickets"
    _check_routed(body)
    assert link.pending() == 0
    link.stop()


@pytest.mark.parametrize("batch", [False, True])
def test_offline_routed_ticket_waits_sealed_and_is_sent_whole(
        tmp_path: Path, recorder: type[_Recorder], batch: bool) -> None:
    recorder.down, recorder.batch = True, batch
    link = _link(tmp_path, recorder.url)  # type: ignore[attr-defined]
    n = 2 if batch else 1                 # a batch is for two tickets or more
    issued = [link.issue_ticket("ignored", routed=visit()) for _ in range(n)]
    assert [t.number for t in issued] == ["B-901", "B-902"][:n]   # the first stage's letter
    assert all(t.offline and (t.service, t.procedure) == ("moving", "tennyu") for t in issued)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("kiosk.db*"))
    for secret in ("山田", "堺市", "1985-03-07", "千代田"):
        assert secret.encode() not in raw                    # every application sealed
    assert "小中学校の転入学".encode() in raw                 # the guide is not personal
    recorder.down = False
    assert link.sync_now() == n
    if batch:
        ((_, batch_body),) = [(p, b) for p, b in recorder.bodies if p.endswith("/batch")]
        sent = batch_body["items"]
    else:
        sent = [b for p, b in recorder.bodies if p == "/api/v1/tickets"]
    assert sorted(b["offline"]["number"] for b in sent) == [901, 902][:n]
    for body in sent:
        _check_routed(body)
    with link.store.read() as conn:       # left: at most the void of the lost online try
        assert {r.kind for r in conn.execute(outbox.select())} <= {"void"}
    link.stop()


def test_a_my_number_in_the_guide_or_an_application_issues_nothing(tmp_path: Path) -> None:
    link = _link(tmp_path, "http://127.0.0.1:9")
    leaky = RoutedVisit("tennyu", [("moving", ["tennyu"])], [tennyu()],
                        [{"name": "123456789018", "place": "other", "office": "x",
                          "bring": [], "url": None}])
    with pytest.raises(PrivacyError):
        link.issue_ticket("moving", routed=leaky)
    assert link.pending() == 0
    link.stop()
