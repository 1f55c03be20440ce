"""The preview window: camera frame (before) and corrected frame (after), side by side.

It polls the loop's one-slot preview mailbox on a timer, so the video threads never wait for
the GUI; frames only flow to the preview while the window is visible.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from eyecontact.gui.tray import TOGGLE_SHORTCUT, LiveActions, load_icon
from eyecontact.live.loop import LiveLoop

REFRESH_MS = 33  # ~30 Hz; the preview is for checking, the virtual camera gets every frame


def to_pixmap(frame: np.ndarray) -> QPixmap:
    """An RGB uint8 frame as a QPixmap (copied, so the array may be reused afterwards)."""
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    image = QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class _FrameView(QWidget):
    def __init__(self, title: str) -> None:
        super().__init__()
        self.caption = QLabel(title)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("font-weight: bold;")
        self.image = QLabel("waiting for the camera...")
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(320, 180)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.setStyleSheet("background: #202428; color: #c8cdd7;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.image, 1)

    def show_frame(self, frame: np.ndarray) -> None:
        pixmap = to_pixmap(frame).scaled(self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(pixmap)


class PreviewWindow(QWidget):
    def __init__(self, loop: LiveLoop, actions: LiveActions) -> None:
        super().__init__()
        self.loop = loop
        self.live_actions = actions
        self.setWindowTitle("Eye Contact - preview")
        self.setWindowIcon(load_icon(True))
        self.before = _FrameView("Before (camera)")
        self.after = _FrameView("After (sent to the virtual camera)")
        self.frames_shown = 0

        views = QHBoxLayout()
        views.addWidget(self.before, 1)
        views.addWidget(self.after, 1)

        self.enabled_box = QCheckBox(f"Eye contact ({TOGGLE_SHORTCUT})")
        self.enabled_box.setChecked(actions.toggle.isChecked())
        self.enabled_box.toggled.connect(self._on_box)
        actions.toggle.toggled.connect(self.enabled_box.setChecked)
        # The toggle's Ctrl+E works while this window has focus.
        self.addAction(actions.toggle)
        self.addAction(actions.quit)

        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(round(actions.controls.settings.strength * 100))
        self.strength.setFixedWidth(160)
        self.strength.valueChanged.connect(lambda v: actions.controls.set_strength(v / 100.0))
        self.status = QLabel("")
        self.status.setStyleSheet("color: #666;")

        bar = QHBoxLayout()
        bar.addWidget(self.enabled_box)
        bar.addSpacing(16)
        bar.addWidget(QLabel("Strength"))
        bar.addWidget(self.strength)
        bar.addStretch(1)
        bar.addWidget(self.status)

        layout = QVBoxLayout(self)
        layout.addLayout(views, 1)
        layout.addLayout(bar)
        self.resize(1000, 420)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._last_status = 0.0

    def _on_box(self, checked: bool) -> None:
        if checked != self.live_actions.toggle.isChecked():
            self.live_actions.toggle.trigger()

    def refresh(self) -> None:
        pair = self.loop.preview.get(timeout=0)
        if pair is not None:
            raw, out = pair
            self.before.show_frame(raw)
            self.after.show_frame(out)
            self.frames_shown += 1
        now = time.monotonic()
        if now - self._last_status > 0.5:
            self._last_status = now
            s = self.loop.stats.snapshot()
            if self.loop.camera_lost:
                state = "camera lost - reconnecting"
            elif self.loop.output_problem:
                state = "preview only: no virtual camera (see docs/live.md)"
            else:
                state = f"{s['recent_fps']:.0f} fps, {s['latency_ms_p50']:.0f} ms"
            self.status.setText(f"{state} | {self.loop.output_description}")

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.loop.preview_enabled = True
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802
        self.loop.preview_enabled = False  # no conversions for a hidden window
        self._timer.stop()
        super().hideEvent(event)
