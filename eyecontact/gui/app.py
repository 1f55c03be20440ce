"""Puts the tray and the preview together around a running live loop."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from eyecontact.gui.preview import PreviewWindow
from eyecontact.gui.tray import LiveActions, Tray, load_icon
from eyecontact.live.capture import CameraInfo, list_cameras
from eyecontact.live.controls import LiveControls
from eyecontact.live.loop import LiveLoop

log = logging.getLogger(__name__)

WATCH_MS = 200  # how often Qt hands control back to Python (signals, loop end)


def _undo_opencv_qt_paths() -> None:
    """OpenCV's GUI build (pulled in by mediapipe) points Qt at its bundled Qt5 plugins and
    fonts when cv2 is imported; Qt6 cannot load those, so the app would fail to start."""
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        if f"{os.sep}cv2{os.sep}" in os.environ.get(var, ""):
            del os.environ[var]


@dataclass
class LiveGui:
    app: QApplication
    actions: LiveActions
    tray: Tray | None
    window: PreviewWindow | None
    watchdog: QTimer

    def show_preview(self) -> None:
        if self.window is not None:
            self.window.show()
            self.window.raise_()
            self.window.activateWindow()


def build_gui(
    loop: LiveLoop,
    controls: LiveControls,
    *,
    tray: bool,
    preview: bool,
    cameras: list[CameraInfo] | None = None,
) -> LiveGui:
    _undo_opencv_qt_paths()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setApplicationName("Eye Contact")
    app.setWindowIcon(load_icon(True))
    if tray and not QSystemTrayIcon.isSystemTrayAvailable():
        log.warning("No system tray here; showing the preview window instead.")
        tray, preview = False, True
    # With a tray, closing the preview keeps the camera running; without one it quits.
    app.setQuitOnLastWindowClosed(not tray)

    actions = LiveActions(
        controls,
        list_cameras() if cameras is None else cameras,
        on_show_preview=lambda: gui.show_preview(),
        on_quit=app.quit,
    )
    window = PreviewWindow(loop, actions)
    tray_widget = Tray(actions) if tray else None

    # Qt's event loop would otherwise keep Python from running signal handlers, and the
    # GUI must close when the loop ends by itself (--frames, end of file, SIGTERM).
    watchdog = QTimer()
    watchdog.setInterval(WATCH_MS)
    watchdog.timeout.connect(lambda: None if loop.running else app.quit())
    app.aboutToQuit.connect(loop.request_stop)

    gui = LiveGui(app, actions, tray_widget, window, watchdog)
    if tray_widget is not None:
        tray_widget.show()
    if preview:
        window.show()
    watchdog.start()
    return gui


def run_gui(loop: LiveLoop, controls: LiveControls, *, tray: bool, preview: bool) -> int:
    gui = build_gui(loop, controls, tray=tray, preview=preview)
    try:
        return gui.app.exec()
    finally:
        gui.watchdog.stop()
        if gui.tray is not None:
            gui.tray.hide()
        if gui.window is not None:
            gui.window.close()
