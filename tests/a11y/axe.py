"""The automated WCAG 2.1 A/AA check of the browser tests: axe-core (tests/a11y/package.json, an exact
version with its lock file) injected into a Playwright page and run with the WCAG 2.1 A and AA rules
(tags wcag2a, wcag2aa, wcag21a, wcag21aa) and axe's best-practice rules.

axe-core is only ever loaded by these tests, from tests/a11y/node_modules (`npm ci --prefix tests/a11y`,
which `make test` runs, and this module runs itself when node_modules is missing and npm is there); the
app never serves it. The tests skip (with the reason) only when node/npm are absent.

The script goes in through the DevTools protocol (page.evaluate), not as a <script> tag, so the page is
checked under its own strict Content-Security-Policy, exactly as served.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Also axe's best practices: one main landmark, all content in landmarks, one h1, named table headers.
RULE_TAGS = [*WCAG_21_AA, "best-practice"]


def axe_source() -> str:
    """axe.min.js's text, installing tests/a11y's locked packages first when they are missing."""
    if not AXE_JS.is_file():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("axe-core checks need node and npm (`apt-get install -y npm`): not found on PATH")
        done = subprocess.run(
            ["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        # npm is there, so a failure is a real one (no registry, a bad lock file): fail, do not skip.
        assert done.returncode == 0 and AXE_JS.is_file(), f"npm ci --prefix tests/a11y failed:\n{done.stderr}"
    return AXE_JS.read_text(encoding="utf-8")


def _describe(violations: list[dict]) -> str:
    """One readable block per violated rule: its id, impact, help text and link, and each element."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(node['target'])}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


class Axe:
    """Runs axe-core on pages: `axe.check(page, "what")` for each page or state, then `axe.assert_clean()`
    fails with every violation of every page checked (so one run lists them all)."""

    def __init__(self, source: str):
        self.source = source
        self.failures: list[str] = []

    def violations(self, page, include: str | None = None) -> list[dict]:
        """axe-core's WCAG 2.1 A/AA violations on the page as it is now (or in the `include` selector)."""
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.source)
        return page.evaluate(
            """async ([tags, include]) => {
                const result = await axe.run(include ? {include: [include]} : document,
                    {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
                return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    helpUrl: v.helpUrl, nodes: v.nodes.map(n => ({target: n.target.map(String),
                    html: n.html, failureSummary: n.failureSummary}))}));
            }""",
            [RULE_TAGS, include],
        )

    def check(self, page, what: str, include: str | None = None) -> None:
        """Check `page` in its current state (named `what` in the failure); violations are collected."""
        found = self.violations(page, include)
        if found:
            self.failures.append(f"{what} ({page.url}):\n{_describe(found)}")

    def assert_clean(self) -> None:
        failures, self.failures = self.failures, []
        assert not failures, "WCAG 2.1 AA violations on\n" + "\n".join(failures)


@pytest.fixture(scope="session")
def axe_script() -> str:
    return axe_source()


@pytest.fixture()
def axe(axe_script) -> Axe:
    """The axe-core checker (skips the test when node/npm are absent); call axe.assert_clean() at the end."""
    return Axe(axe_script)
