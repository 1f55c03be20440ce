"""Live-mode checks for `eyecontact doctor`: cameras, virtual camera, GUI."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from eyecontact.doctor import Check
from eyecontact.live.capture import list_cameras
from eyecontact.live.output import LINUX_FIX, LINUX_INSTALL, OTHER_FIX


def _check_cameras() -> Check:
    try:
        cams = list_cameras()
    except Exception as exc:  # a doctor reports, it does not crash
        return Check("cameras", False, f"could not list cameras: {exc}",
                     "Connect a webcam, or use --source FILE to test with a video.")
    if not cams:
        return Check("cameras", False, "no webcam found",
                     "Connect a webcam (and close apps using it), or test with --source FILE.")
    names = ", ".join(f"{c.index}: {c.name}" for c in cams)
    return Check("cameras", True, names)


def _check_pyvirtualcam() -> Check:
    if importlib.util.find_spec("pyvirtualcam") is None:
        return Check("virtual camera library", False, "pyvirtualcam is not installed",
                     "pip install pyvirtualcam")
    import pyvirtualcam

    return Check("virtual camera library", True, f"pyvirtualcam {pyvirtualcam.__version__}")


def loopback_devices() -> list[tuple[str, str]]:
    """(device path, card label) of the v4l2loopback devices on Linux."""
    found = []
    for entry in sorted(Path("/sys/devices/virtual/video4linux").glob("video*")):
        name_file = entry / "name"
        label = name_file.read_text().strip() if name_file.exists() else ""
        found.append((f"/dev/{entry.name}", label))
    return found


def _check_virtual_device() -> Check:
    if sys.platform.startswith("linux"):
        devices = loopback_devices()
        if not devices:
            return Check("virtual camera device", False, "no v4l2loopback device",
                         f"{LINUX_FIX}   (module missing? {LINUX_INSTALL})")
        listed = ", ".join(f"{path} ({label})" for path, label in devices)
        return Check("virtual camera device", True, listed)
    # Windows/macOS: the OBS Virtual Camera can only be found by opening it.
    try:
        import pyvirtualcam

        with pyvirtualcam.Camera(64, 48, 30) as cam:
            return Check("virtual camera device", True, f"{cam.device} ({cam.backend})")
    except Exception as exc:
        return Check("virtual camera device", False, str(exc).splitlines()[0], OTHER_FIX)


def _check_gui() -> list[Check]:
    checks = []
    if importlib.util.find_spec("PySide6") is None:
        checks.append(Check("GUI toolkit", False, "PySide6 is not installed (needed for "
                            "--tray/--preview)", 'pip install "eyecontact[gui]"'))
    else:
        checks.append(Check("GUI toolkit", True, "PySide6 importable"))
    if sys.platform.startswith("linux"):
        display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
        if display:
            checks.append(Check("display", True, display))
        else:
            checks.append(Check("display", False, "no DISPLAY/WAYLAND_DISPLAY: tray and "
                                "preview cannot open", "Run from a desktop session; live "
                                "mode itself works headless (omit --tray/--preview)."))
    return checks


def live_checks() -> list[Check]:
    return [_check_cameras(), _check_pyvirtualcam(), _check_virtual_device(), *_check_gui()]
