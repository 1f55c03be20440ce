"""Live-mode choices that survive a restart: eye contact on/off, strength, blinks, camera.

Stored as JSON in the user's config directory (no extra dependency):
Linux ``$XDG_CONFIG_HOME/eyecontact/live.json`` (default ``~/.config``), macOS
``~/Library/Application Support/eyecontact``, Windows ``%APPDATA%\\eyecontact``.
A missing or damaged file gives the defaults; it is never a reason not to start.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

BLINK_MODES = ("off", "auto", "always")


@dataclass
class UserSettings:
    enabled: bool = True  # eye contact on/off
    strength: float = 1.0  # 0..1
    blinks: str = "auto"  # off | auto | always
    camera: str | None = None  # index, device path or part of the name; None = first camera
    look_away: bool = False

    def validated(self) -> UserSettings:
        """A copy with out-of-range values replaced by defaults (hand-edited files)."""
        default = UserSettings()
        return UserSettings(
            enabled=self.enabled if isinstance(self.enabled, bool) else default.enabled,
            strength=min(1.0, max(0.0, float(self.strength)))
            if isinstance(self.strength, (int, float)) and not isinstance(self.strength, bool)
            else default.strength,
            blinks=self.blinks if self.blinks in BLINK_MODES else default.blinks,
            camera=str(self.camera) if self.camera not in (None, "") else None,
            look_away=self.look_away if isinstance(self.look_away, bool) else default.look_away,
        )


def config_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "eyecontact"


def settings_path() -> Path:
    return config_dir() / "live.json"


def load_settings(path: Path | None = None) -> UserSettings:
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UserSettings()
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable settings file %s: %s", path, exc)
        return UserSettings()
    if not isinstance(data, dict):
        return UserSettings()
    known = {f.name for f in fields(UserSettings)}
    return UserSettings(**{k: v for k, v in data.items() if k in known}).validated()


def save_settings(settings: UserSettings, path: Path | None = None) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".live-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(settings), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
