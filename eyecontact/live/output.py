"""Where live frames go: a virtual webcam (pyvirtualcam) or nowhere (preview only).

``--output virtual`` picks the platform's virtual camera, ``--output none`` sends nothing,
and anything else is a device (``/dev/video10`` on Linux).
"""

from __future__ import annotations

import sys
from typing import Protocol, runtime_checkable

import numpy as np

LINUX_FIX = 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="Eye Contact"'
LINUX_INSTALL = "sudo apt install v4l2loopback-dkms  (Fedora: sudo dnf install v4l2loopback)"
OTHER_FIX = (
    "Install OBS Studio (https://obsproject.com), start it once and click "
    '"Start Virtual Camera", then stop it again; the OBS Virtual Camera stays registered.'
)


class OutputUnavailable(RuntimeError):
    """No virtual camera could be opened; the message says how to get one."""


@runtime_checkable
class FrameSink(Protocol):
    @property
    def description(self) -> str: ...

    def send(self, frame_rgb: np.ndarray) -> None: ...

    def close(self) -> None: ...


class NullSink:
    """``--output none``: frames are dropped (preview and stats still work)."""

    description = "no output"

    def send(self, frame_rgb: np.ndarray) -> None:
        pass

    def close(self) -> None:
        pass


class VirtualCameraSink:
    """A pyvirtualcam camera fed RGB frames (the backend converts to its native format,
    I420 for v4l2loopback, NV12/UYVY for OBS)."""

    def __init__(
        self,
        width: int,
        height: int,
        fps: float,
        device: str | None = None,
        backend: str | None = None,
    ) -> None:
        try:
            import pyvirtualcam
        except ImportError as exc:
            raise OutputUnavailable(
                "pyvirtualcam is not installed: pip install pyvirtualcam"
            ) from exc
        try:
            self._cam = pyvirtualcam.Camera(
                width,
                height,
                fps,
                fmt=pyvirtualcam.PixelFormat.RGB,
                device=device,
                backend=backend,
            )
        except Exception as exc:  # pyvirtualcam raises RuntimeError/ValueError per backend
            raise OutputUnavailable(missing_camera_message(str(exc))) from exc
        self._closed = False
        cam = self._cam
        self.device = str(cam.device)
        # Read once: pyvirtualcam forgets its device after close().
        self.description = f"virtual camera {self.device} ({width}x{height} @ {fps:g} fps)"

    def send(self, frame_rgb: np.ndarray) -> None:
        self._cam.send(frame_rgb)

    def close(self) -> None:
        if not self._closed:  # the backend contract: close exactly once
            self._closed = True
            self._cam.close()


def missing_camera_message(reason: str = "") -> str:
    """What to tell a user who has no virtual camera, with the exact fix for the platform."""
    lines = ["No virtual camera is available" + (f" ({reason.strip()})" if reason else "") + "."]
    if sys.platform.startswith("linux"):
        lines += [
            "Create one with:",
            f"    {LINUX_FIX}",
            f"(if the module is missing: {LINUX_INSTALL})",
        ]
    else:
        lines.append(OTHER_FIX)
    lines.append("The preview (--preview) works without a virtual camera; see docs/live.md.")
    return "\n".join(lines)


def open_output(
    spec: str, width: int, height: int, fps: float, backend: str | None = None
) -> FrameSink:
    """Open ``--output virtual|none|DEVICE``; raises :class:`OutputUnavailable`."""
    if spec == "none":
        return NullSink()
    device = None if spec == "virtual" else spec
    if device is not None and backend is None and sys.platform.startswith("linux"):
        backend = "v4l2loopback"  # a device path only means something to that backend
    return VirtualCameraSink(width, height, fps, device=device, backend=backend)
