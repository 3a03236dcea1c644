"""axe-core in the test browser: the pinned `axe.min.js` shipped inside the PyPI package
axe-playwright-python (constraints.txt; axe-core 4.12, MPL-2.0), injected through the
DevTools protocol — so the pages' Content-Security-Policy stays as served and nothing is
fetched from the network at test time."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

AXE_SCRIPT = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
AXE_VERSION = AXE_SCRIPT[AXE_SCRIPT.index("axe v") + 5:].split(None, 1)[0]
BLOCKING = ("serious", "critical")
RUN_JS = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(
  v => ({id: v.id, impact: v.impact, help: v.help,
         nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary)})))"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation of the page as it is now (all rules axe runs by default:
    WCAG 2.0/2.1/2.2 A and AA and best practices), each with its impact and nodes."""
    page.wait_for_load_state()  # a click's navigation done: axe reads the page it leads to
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return list(page.evaluate(RUN_JS))


def assert_no_serious(page: Any, where: str) -> list[dict[str, Any]]:
    """No serious or critical violation; returns the minor/moderate ones (for a report)."""
    found = axe_violations(page)
    bad = [v for v in found if v["impact"] in BLOCKING]
    assert not bad, f"{where}: axe-core {AXE_VERSION} — " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}): {v['nodes'][:3]}" for v in bad)
    return found
