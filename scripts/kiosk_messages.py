#!/usr/bin/env python3
"""Collect every resident-facing string of the kiosk (msgid = the Japanese text) and
update assets/locale/<lang>/LC_MESSAGES/kiosk.po for every language: new msgids are
added untranslated, translations already there are kept, unused ones are dropped.

Sources: app.tr('…') / app.tr("…") in kiosk/ui (.py and .kv), `title`/`message` of the
screens, Notice("…") and CardError("…") texts (also of devtools/standins.py), the card
package's error messages and the printed slips' texts (kiosk.printing.slip, .guide), from
config/catalog.toml every procedure name, service name, field label and choice, and from
config/life_events.toml every event name, question, answer, item, place, bring and note
(with the step indicator's labels, kiosk.domain.progress).

    .venv/bin/python scripts/kiosk_messages.py [--check]   (--check: fail if out of date)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.configfile import load_catalog, load_life_events  # noqa: E402
from kiosk.domain import life_events, progress  # noqa: E402
from kiosk.domain.session import SEX_CHOICES  # noqa: E402
from kiosk.i18n import LANGUAGE_CODES  # noqa: E402

PATTERNS = [
    re.compile(r"""\btr\(\s*(['"])(.+?)\1"""),
    re.compile(r"""^\s*(?:title|message)\s*=\s*(['"])(.+?)\1""", re.M),
    re.compile(r"""\b(?:Notice|CardError|card_problem|Refusal)\(\s*(['"])(.+?)\1""", re.S),
    re.compile(r"""\bhint\s*=\s*\(?(['"])(.+?)\1"""),
    re.compile(r"""\belse\s*(['"])(年を.+?)\1"""),
    re.compile(r"""\bproblem\s*=\s*(['"])(.+?)\1"""),
    re.compile(r"""return\s+(['"])(用紙.+?)\1"""),
]
# Python implicit concatenation of two literals inside one call.
CONCAT = re.compile(r"""(['"])([^'"\n]+)\1\s*\n\s*(['"])([^'"\n]+)\3""")


def source_strings() -> set[str]:
    found: set[str] = set()
    # devtools/standins.py: the in-process stand-in card speaks to the resident in demos
    files = [*ROOT.glob("kiosk/ui/**/*.py"), *ROOT.glob("kiosk/ui/**/*.kv"),
             ROOT / "kiosk/domain/session.py", ROOT / "kiosk/domain/code_b.py",
             ROOT / "kiosk/domain/checkin.py",
             ROOT / "devtools/standins.py"]
    for path in files:
        text = CONCAT.sub(lambda m: m.group(1) + m.group(2) + m.group(4) + m.group(1),
                          path.read_text(encoding="utf-8"))
        for pattern in PATTERNS:
            for m in pattern.finditer(text):
                found.add(m.group(2))
    from kiosk.ui.labels import GROUP_NAMES
    found.update(GROUP_NAMES.values())
    found.update(label for _, label in SEX_CHOICES)
    return {s for s in found if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", s)}


def shared_strings() -> set[str]:
    """Texts other packages show in the kiosk domain: card errors, the printed ticket."""
    found: set[str] = set()
    from kiosk.card import errors
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.CardError):
            for name in ("message_ja", "MSGID_AGAIN", "MSGID_LAST"):
                text = getattr(value, name, None)
                if isinstance(text, str):
                    found.add(text)
    from kiosk.printing import guide, slip
    for module in (slip, guide):
        for k, v in vars(module).items():
            if k.isupper():
                found.update([v] if isinstance(v, str) else
                             v.values() if isinstance(v, dict) else ())
    # the printed slips also have msgids of punctuation only: （）、■
    return {s for s in found if re.search(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef\u25a0]", s)}


def catalog_strings() -> set[str]:
    cat = load_catalog()
    found = {s.name for s in cat.services.values()}
    for p in cat.procedures.values():
        found.add(p.name)
        if p.description:
            found.add(p.description)
        for f in p.fields:
            found.add(f.label)
            found.update(f.choices)
    return found


def life_event_strings() -> set[str]:
    found = {label for _, label in life_events.YESNO_LABELS}
    found |= {life_events.NOT_OFFERED_OFFICE, *progress.LABELS}
    for e in load_life_events().events.values():
        found |= {e.name, e.description}
        for q in e.questions:
            found |= {q.text, q.hint, *q.choices}
        for i in e.items:
            found |= {i.name, i.note, i.office or "", *i.bring}
            if i.portal:
                found.add(i.portal)
    return {s for s in found if s}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    msgids = sorted(source_strings() | shared_strings() | catalog_strings()
                    | life_event_strings())
    stale = []
    for lang in LANGUAGE_CODES:
        path = ROOT / "assets" / "locale" / lang / "LC_MESSAGES" / "kiosk.po"
        old: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as fh:
                for m in read_po(fh):
                    if m.id and isinstance(m.string, str):
                        old[str(m.id)] = m.string
        if set(old) != set(msgids):
            stale.append(lang)
        if check or lang not in stale:
            continue  # up to date: leave the file (and its dates) alone
        catalog = Catalog(locale=None, domain="kiosk", project="ward-kiosk",
                          charset="utf-8")
        catalog.language_team = lang
        for msgid in msgids:
            catalog.add(msgid, old.get(msgid, ""))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, sort_output=True)
        filled = sum(1 for m in msgids if old.get(m))
        print(f"{lang}: {filled}/{len(msgids)} translated")
    if check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
