"""Desktop front end for live mode (PySide6): tray icon and before/after preview.

Only imported when ``eyecontact live --tray/--preview`` asks for it, so the core package
works without PySide6 (``pip install "eyecontact[gui]"`` adds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eyecontact.live.controls import LiveControls
    from eyecontact.live.loop import LiveLoop


def run_gui(loop: LiveLoop, controls: LiveControls, *, tray: bool, preview: bool) -> int:
    """Show the tray and/or preview for a started loop; returns when the user quits or the
    loop ends by itself. The caller stops the loop afterwards."""
    from eyecontact.gui.app import run_gui as _run

    return _run(loop, controls, tray=tray, preview=preview)
