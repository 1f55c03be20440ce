"""The tray icon and the actions it shares with the preview window.

:class:`LiveActions` owns one QAction per control (eye contact on/off with Ctrl+E, strength,
blinks, camera, preview, quit) and keeps them in sync with :class:`LiveControls`, so the tray
menu, the preview window and the keyboard shortcut can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPointF, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QIcon,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from eyecontact.live.capture import CameraInfo
from eyecontact.live.controls import LiveControls
from eyecontact.live.settings import UserSettings

ICON_DIR = Path(__file__).resolve().parents[2] / "assets" / "icons"
STRENGTHS = (0.25, 0.5, 0.75, 1.0)
BLINKS = (("off", "Off"), ("auto", "Natural (auto)"), ("always", "Always"))
TOGGLE_SHORTCUT = "Ctrl+E"


def load_icon(on: bool) -> QIcon:
    """The committed PNGs when present (a source checkout), else the same eye painted here."""
    name = "eyecontact-on" if on else "eyecontact-off"
    icon = QIcon()
    for suffix in ("-32", "", "-256"):
        path = ICON_DIR / f"{name}{suffix}.png"
        if path.exists():
            icon.addFile(str(path))
    if not icon.isNull():
        return icon
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(40, 120, 220) if on else QColor(120, 120, 120), 4))
    painter.setBrush(QColor("white"))
    painter.drawEllipse(QPointF(32, 32), 28, 16)
    painter.setBrush(QColor(30, 140, 230) if on else QColor(150, 150, 150))
    painter.drawEllipse(QPointF(32, 32), 11, 11)
    if not on:
        painter.setPen(QPen(QColor(200, 50, 50), 6))
        painter.drawLine(12, 52, 52, 12)
    painter.end()
    return QIcon(pixmap)


class LiveActions(QObject):
    def __init__(
        self,
        controls: LiveControls,
        cameras: list[CameraInfo],
        *,
        on_show_preview: Callable[[], None] | None,
        on_quit: Callable[[], None],
    ) -> None:
        super().__init__()
        self.controls = controls
        s = controls.settings

        self.toggle = QAction("Eye contact", self, checkable=True, checked=controls.enabled)
        self.toggle.setShortcut(QKeySequence(TOGGLE_SHORTCUT))
        self.toggle.setToolTip(f"Turn eye contact on or off ({TOGGLE_SHORTCUT})")
        self.toggle.toggled.connect(self._on_toggled)

        self.strength_group = QActionGroup(self)
        self.strength: dict[float, QAction] = {}
        for value in STRENGTHS:
            action = QAction(f"{int(value * 100)} %", self, checkable=True)
            action.setChecked(abs(value - s.strength) < 0.01)
            action.triggered.connect(lambda _=False, v=value: controls.set_strength(v))
            self.strength_group.addAction(action)
            self.strength[value] = action

        self.blinks_group = QActionGroup(self)
        self.blinks: dict[str, QAction] = {}
        for mode, label in BLINKS:
            action = QAction(label, self, checkable=True, checked=mode == s.blinks)
            action.triggered.connect(lambda _=False, m=mode: controls.set_blinks(m))
            self.blinks_group.addAction(action)
            self.blinks[mode] = action

        self.camera_group = QActionGroup(self)
        self.cameras: dict[str, QAction] = {}
        for cam in cameras:
            key = str(cam.index)
            action = QAction(f"{cam.name} ({cam.index})", self, checkable=True)
            action.setChecked(s.camera in (key, cam.path, cam.name))
            action.triggered.connect(lambda _=False, k=key: controls.set_camera(k))
            self.camera_group.addAction(action)
            self.cameras[key] = action

        self.show_preview = QAction("Show preview", self)
        self.show_preview.setEnabled(on_show_preview is not None)
        if on_show_preview is not None:
            self.show_preview.triggered.connect(on_show_preview)
        self.quit = QAction("Quit", self)
        self.quit.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit.triggered.connect(on_quit)

        controls.on_change(self._sync)

    def _on_toggled(self, checked: bool) -> None:
        if checked != self.controls.enabled:
            self.controls.set_enabled(checked)

    def _sync(self, settings: UserSettings) -> None:
        """Reflect changes made anywhere (tray, preview, shortcut) in every widget."""
        self.toggle.setChecked(self.controls.enabled)
        for value, action in self.strength.items():
            action.setChecked(abs(value - settings.strength) < 0.01)

    def build_menu(self) -> QMenu:
        menu = QMenu()
        menu.addAction(self.toggle)
        strength = menu.addMenu("Strength")
        for action in self.strength.values():
            strength.addAction(action)
        blinks = menu.addMenu("Blinks")
        for action in self.blinks.values():
            blinks.addAction(action)
        cameras = menu.addMenu("Camera")
        cameras.setEnabled(bool(self.cameras))
        for action in self.cameras.values():
            cameras.addAction(action)
        menu.addSeparator()
        menu.addAction(self.show_preview)
        menu.addAction(self.quit)
        return menu


class Tray(QObject):
    """The system-tray icon: the menu on right click, eye contact on/off on left click."""

    def __init__(self, actions: LiveActions) -> None:
        super().__init__()
        self.live_actions = actions
        self.menu = actions.build_menu()
        self._icons = {True: load_icon(True), False: load_icon(False)}
        self.icon = QSystemTrayIcon(self._icons[actions.controls.enabled])
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        actions.controls.on_change(lambda _settings: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        on = self.live_actions.controls.enabled
        self.icon.setIcon(self._icons[on])
        self.icon.setToolTip(f"Eye Contact: {'on' if on else 'off'} ({TOGGLE_SHORTCUT} in preview)")

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.live_actions.toggle.trigger()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()
