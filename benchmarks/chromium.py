"""How the project runs Chromium: Debian's (``/usr/bin/chromium``, no browser download),
headless, through Playwright, with one set of arguments. The one definition: the benchmarks
import it as ``chromium`` (their folder is their scripts' path), the test suite as
``benchmarks.chromium``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ARGS", "CHROMIUM", "PLAYWRIGHTS_DISABLED_FEATURES", "launch"]

CHROMIUM = Path("/usr/bin/chromium")

PLAYWRIGHTS_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,"
    "OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,"
    "msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion"
)
"""The features Playwright's own ``--disable-features`` turns off. Chromium reads only the
last ``--disable-features`` of its command line, so ours repeats Playwright's list
(tests/browser/test_chromium_args.py fails when a Playwright release changes it)."""

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Headless Chromium builds the address bar's WebUI popup for every window: two renderer
    # processes for each page, and nothing ever shows them. Without them the browser tests'
    # Chromium used about a tenth less CPU (docs/development.md).
    f"--disable-features={PLAYWRIGHTS_DISABLED_FEATURES},WebUIOmniboxPopup,WebUIOmniboxAimPopup",
]


def launch(playwright: Any) -> Any:
    """Headless Chromium with :data:`ARGS`, from Playwright's sync or async API (``await``
    what it returns there)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
