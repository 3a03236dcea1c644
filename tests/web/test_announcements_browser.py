"""Lobby announcements in headless Chromium: a call makes the display fetch the call's
audio from the back-office (Open JTalk + espeak-ng, Ogg Vorbis) and play it through its
<audio> element — no speech synthesis in the browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import issue
from tests.web.test_pages_browser import wait_js

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_display_plays_the_calls_audio_through_its_audio_element(backoffice: Any,
                                                                 browser: Any) -> None:
    server = backoffice
    ticket = issue(server)
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    display = ctx.new_page()
    audio_answers: list[Any] = []
    display.on("response", lambda r: audio_answers.append(r) if "/announcements/" in r.url
               else None)
    display.goto(f"{server.url}/display?ward=kita#token={server.display_token}")
    display.wait_for_selector("body[data-rendered]")
    assert display.evaluate("typeof window.speechSynthesis === 'undefined' || "
                            "!window.speechSynthesis.speaking")

    r = server.session("staff").post(f"{server.url}/api/v1/wards/kita/counters/2/call-next")
    assert r.status_code == 200, r.text
    display.wait_for_selector(f"#now-calling li[data-number='{ticket['number']}']")
    wait_js(display, "window.Announcer.log.some(e => e.kind === 'speech')", timeout=30_000)
    log = display.evaluate("window.Announcer.log")
    speech = next(e for e in log if e["kind"] == "speech")
    assert speech["result"] == "played", log
    assert speech["duration"] > 3.0, log          # Japanese, then English: several seconds
    assert speech["src"].endswith(f"/announcements/{ticket['number']}?counter=2")
    assert [e["kind"] for e in log][:3] == ["call", "chime", "speech"]

    # The element played what the back-office made for this call, with the display's token.
    assert len(audio_answers) == 1 and audio_answers[0].status == 200
    assert audio_answers[0].headers["content-type"] == "audio/ogg"
    assert audio_answers[0].request.headers.get("authorization", "").startswith("Bearer ")
    element = display.evaluate("""(() => { const a = document.getElementById('announcement');
        return { tag: a.tagName, src: a.src, ended: a.ended, duration: a.duration }; })()""")
    assert element["tag"] == "AUDIO" and element["src"].startswith("blob:")
    assert element["ended"] and element["duration"] == pytest.approx(speech["duration"])

    # A recall is announced again (same audio: the browser and the server cache it).
    r = server.session("staff").post(f"{server.url}/api/v1/tickets/{ticket['id']}/recall",
                                     json={"counter": 2})
    assert r.status_code == 200, r.text
    wait_js(display, "window.Announcer.log.filter(e => e.kind === 'speech').length === 2",
            timeout=30_000)
    ctx.close()
