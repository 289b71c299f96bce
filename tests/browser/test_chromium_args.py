"""The project's Chromium (benchmarks/chromium.py) keeps every feature Playwright turns off
and builds no address-bar popup. Chromium reads only the last ``--disable-features`` of its
command line, so the project's one repeats Playwright's list: these tests fail when a
Playwright release changes that list, or a Chromium release renames the popup's features."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentnb_testing import patient

from benchmarks.chromium import CHROMIUM


def disabled_features(browser: Any) -> list[set[str]]:
    """The features of each ``--disable-features`` on ``browser``'s command line, in order."""
    session = browser.new_browser_cdp_session()
    try:
        processes = session.send("SystemInfo.getProcessInfo")["processInfo"]
    finally:
        session.detach()
    [pid] = [p["id"] for p in processes if p["type"] == "browser"]
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    prefix = "--disable-features="
    return [set(a.removeprefix(prefix).split(",")) for a in arguments if a.startswith(prefix)]


def test_the_features_playwright_turns_off_stay_off(browser: Any) -> None:
    plain = browser.browser_type.launch(executable_path=str(CHROMIUM), headless=True)
    try:
        playwrights = set().union(*disabled_features(plain))
    finally:
        plain.close()
    *_, effective = disabled_features(browser)
    assert playwrights, "Playwright no longer turns features off: drop the copy of its list"
    assert playwrights <= effective, (
        f"add to PLAYWRIGHTS_DISABLED_FEATURES: {sorted(playwrights - effective)}"
    )


def test_a_page_builds_no_address_bar_popup(browser: Any) -> None:
    context = patient(browser.new_context())
    try:
        page = patient(context.new_page())
        page.goto("data:text/html,<p>a page</p>")
        session = browser.new_browser_cdp_session()
        try:
            targets = session.send("Target.getTargets")["targetInfos"]
        finally:
            session.detach()
    finally:
        context.close()
    assert "data:text/html,<p>a page</p>" in [t["url"] for t in targets if t["type"] == "page"]
    assert [t["url"] for t in targets if "omnibox" in t["url"]] == []
