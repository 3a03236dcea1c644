"""The stand-in voice (`[voice] device = "standin"`): records what the kiosk would say,
in order, instead of saying it — the tests read `spoken`; nothing is synthesized.

Like the real voice it forgets everything said when the visit ends (`end_session`), and
keeps only the count of finished visits and, for the tests, the last visit's cues in
`last_visit` until the next one starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StandInVoice:
    spoken: list[tuple[str, str]] = field(default_factory=list)   # (language, text)
    last_visit: list[tuple[str, str]] = field(default_factory=list)
    visits_ended: int = 0
    closed: bool = False

    def speak(self, text: str, language: str) -> None:
        if text.strip():
            self.spoken.append((language, text))

    def end_session(self) -> None:
        if self.spoken:
            self.last_visit = self.spoken
        self.spoken = []
        self.visits_ended += 1

    def close(self) -> None:
        self.end_session()
        self.closed = True

    def texts(self) -> list[str]:
        return [text for _lang, text in self.spoken]


def open_standin_voice(config: Any = None, **_: Any) -> StandInVoice:
    """The registry's factory (entry point `voice.standin`)."""
    return StandInVoice()
