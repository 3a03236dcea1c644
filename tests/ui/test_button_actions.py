"""Every button names its action once: what a button says it does (`action`, which the
tests tap by) is what its release does (`kiosk.ui.widgets.Acts`) — the `.kv` buttons and
the ones Python builds alike: the language picker, the key pads, the maintainer's pad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.standins import StandInCard
from kiosk.domain.session import Step
from kiosk.ui.maintainer import open_exit_dialog
from kiosk.ui.maintainer_gate import MaintainerGate, hash_pin
from kiosk.ui.widgets import Acts, KeyGrid


def buttons(k: Any) -> list[Any]:
    return [w for w in k.h.widgets() if isinstance(getattr(w, "action", None), list)
            and w.action]


def names_its_action_once(k: Any) -> set[str]:
    """The actions on screen; each button's release does the action it names."""
    found = buttons(k)
    assert found
    assert [(type(w).__name__, w.action) for w in found if not isinstance(w, Acts)] == []
    for pad in (w for w in k.h.widgets() if isinstance(w, KeyGrid) and w.keys):
        assert {tuple(b.action) for b in pad.children if isinstance(b, Acts)} == {
            (pad.action, key) for key in pad.keys if key}
    return {w.action[0] for w in found}


def test_every_button_does_the_action_it_names(kiosk: Any, tmp_path: Path,
                                               monkeypatch: Any) -> None:
    k = kiosk
    assert "start" in names_its_action_once(k)
    k.tap("start")
    k.tap("languages")
    assert "set_language" in names_its_action_once(k)
    k.tap("set_language", "en")                     # the picker closes itself
    assert k.s.language == "en"
    assert not any(w.action[0] == "set_language" for w in buttons(k))
    k.tap("languages")
    k.tap("set_language", "ja")
    k.tap("choose_procedure", "juminhyo")
    k.tap("choose_card")
    k.reader.place(StandInCard())
    k.h.settle()
    k.app._tick()
    k.h.settle()
    assert k.s.step is Step.PIN and "pin_press" in names_its_action_once(k)
    k.h.keys("12")
    assert k.s.pin_digits == "12"
    k.tap("cancel")

    stopped: list[str] = []
    monkeypatch.setattr(k.app, "stop", lambda *a: stopped.append("stop"))
    monkeypatch.setattr(k.app, "maintainer", MaintainerGate(hash_pin("7319"),
                                                            tmp_path / "lock.json"))
    view = open_exit_dialog(k.app)
    k.h.settle()                                    # opened (it fades in)
    try:
        assert {"maintainer_key", "maintainer_ok"} <= names_its_action_once(k)
        k.h.keys("7319")
        k.tap("maintainer_ok")
        assert stopped == ["stop"]
    finally:
        assert view is not None
        view.dismiss()
        k.h.settle()
