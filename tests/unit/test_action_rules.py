"""Two rules of the kiosk's structure, read from its source: only the domain session
assigns its step, and a .kv button doing a resident action states that action once."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kiosk.domain.actions import Action

KIOSK = Path(__file__).resolve().parents[2] / "kiosk"
SESSION = KIOSK / "domain" / "session.py"


def test_only_the_session_assigns_its_step() -> None:
    offenders = []
    for path in KIOSK.rglob("*.py"):
        if path == SESSION:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign)
                       else [])
            offenders += [f"{path.relative_to(KIOSK)}:{node.lineno}" for t in targets
                          if isinstance(t, ast.Attribute) and t.attr == "step"]
    assert offenders == []


def _widgets(kv: str) -> list[tuple[str, list[str]]]:
    """(class, its own property lines) of every widget in a .kv text."""
    out: list[tuple[str, list[str]]] = []
    stack: list[tuple[int, int]] = []  # (indent, index in out)
    for line in kv.splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if re.fullmatch(r"[A-Z]\w*:", text):
            out.append((text[:-1], []))
            stack.append((indent, len(out) - 1))
        elif stack:
            out[stack[-1][1]][1].append(text)
    return out


def test_every_kv_button_names_its_resident_action_once() -> None:
    names = {a.value for a in Action}
    checked = 0
    files = [KIOSK / "ui" / "kiosk.kv", *sorted((KIOSK / "ui" / "screens").glob("*.kv"))]
    # a .kv may name its own kind of action button (<CodeBPart@ActButton>)
    acting = {"ActButton", "ActIconButton"} | {
        name for path in files for name in re.findall(
            r"^<(\w+)@(?:ActButton|ActIconButton)\b", path.read_text(encoding="utf-8"), re.M)}
    for path in files:
        for cls, props in _widgets(path.read_text(encoding="utf-8")):
            action = next((p for p in props if p.startswith("action:")), None)
            where = f"{path.name}: {cls} {action}"
            assert not any(p.startswith("on_release: app.act(") for p in props), where
            if cls in acting:
                assert action is not None, where
            named = re.search(r"\[\s*'(\w+)'", action or "")  # a key grid's is a bare name
            if named is not None and named[1] in names:
                assert cls in acting, where
                checked += 1
    assert checked >= 20  # the parse found the buttons
