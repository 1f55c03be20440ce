"""The user's live controls (tray, preview, shortcuts) in one place, GUI-free.

Every change goes to the running pipeline/loop and is saved to the settings file, so the
GUI only wires widgets to these methods and listens for changes to stay in sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from eyecontact.live.capture import FrameSource
from eyecontact.live.settings import BLINK_MODES, UserSettings, save_settings

log = logging.getLogger(__name__)


class ControllablePipeline(Protocol):
    enabled: bool

    def set_enabled(self, on: bool) -> None: ...

    def set_strength(self, strength: float) -> None: ...


class LiveControls:
    def __init__(
        self,
        pipeline: ControllablePipeline,
        settings: UserSettings,
        *,
        loop: Any = None,  # LiveLoop; Any avoids an import cycle for a single method
        source_factory: Callable[[str], FrameSource] | None = None,
        save: Callable[[UserSettings], None] | None = save_settings,
    ) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.loop = loop
        self._source_factory = source_factory
        self._save = save
        self._listeners: list[Callable[[UserSettings], None]] = []

    def on_change(self, callback: Callable[[UserSettings], None]) -> None:
        self._listeners.append(callback)

    def _changed(self) -> None:
        if self._save is not None:
            try:
                self._save(self.settings)
            except OSError as exc:  # a read-only home must not break the live video
                log.warning("Could not save settings: %s", exc)
        for callback in self._listeners:
            callback(self.settings)

    @property
    def enabled(self) -> bool:
        return bool(self.pipeline.enabled)

    def set_enabled(self, on: bool) -> None:
        self.pipeline.set_enabled(on)  # the pipeline ramps the effect over ~200 ms
        self.settings.enabled = on
        self._changed()

    def toggle(self) -> None:
        self.set_enabled(not self.enabled)

    def set_strength(self, strength: float) -> None:
        strength = min(1.0, max(0.0, float(strength)))
        self.pipeline.set_strength(strength)
        self.settings.strength = strength
        self._changed()

    def set_blinks(self, mode: str) -> None:
        if mode not in BLINK_MODES:
            raise ValueError(f"blinks must be one of {BLINK_MODES}, not {mode!r}")
        # Optional in the pipeline API: without it the choice applies from the next start.
        setter = getattr(self.pipeline, "set_blinks", None)
        if callable(setter):
            setter(mode)
        self.settings.blinks = mode
        self._changed()

    def set_camera(self, camera: str) -> None:
        if self.loop is not None and self._source_factory is not None:
            self.loop.switch_source(self._source_factory(camera))
        self.settings.camera = camera
        self._changed()
