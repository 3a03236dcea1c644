"""Offline speech: the kiosk's voice guidance and the back-office's lobby announcements
(docs/kiosk.md "Voice", docs/web.md "Lobby announcements")."""

from kiosk.speech.synth import SpeechConfig, SpeechError, Synthesizer
from kiosk.speech.voice import OfflineVoice, SilentVoice, Voice

__all__ = ["OfflineVoice", "SilentVoice", "SpeechConfig", "SpeechError", "Synthesizer", "Voice"]
