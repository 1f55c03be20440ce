"""Frame sources for live mode: a webcam (OpenCV) or a video file standing in for one.

Every source hands out RGB uint8 frames of a fixed size. The contract is small so that the
loop can be tested with fakes:

- ``open()`` raises :class:`SourceError` with a message a user can act on;
- ``read()`` returns a frame, or ``None`` when no frame came (camera hiccup, unplugged);
  it may also raise :class:`SourceError`; ``finished`` turns True at the end of a file;
- ``close()`` may be called any number of times.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_CAMERA_SIZE = (1280, 720)  # what video-call apps usually ask a webcam for
DEFAULT_CAMERA_FPS = 30.0


class SourceError(RuntimeError):
    """The source cannot deliver frames (missing, busy, unplugged, unreadable file)."""


@runtime_checkable
class FrameSource(Protocol):
    width: int
    height: int
    fps: float
    finished: bool

    @property
    def description(self) -> str: ...

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str
    path: str  # /dev/videoN on Linux, "" where the OS gives no path


def _is_loopback(sys_dir: Path) -> bool:
    # v4l2loopback devices live under /sys/devices/virtual; real webcams under a bus (usb, pci).
    try:
        return "/virtual/" in str(sys_dir.resolve())
    except OSError:
        return False


def list_cameras(include_virtual: bool = False) -> list[CameraInfo]:
    """Cameras the OS reports, without opening them.

    Linux reads /sys/class/video4linux (names included). Other systems have no cheap way to
    list names through OpenCV, so indices 0..3 are probed and named "Camera N".
    """
    if sys.platform.startswith("linux"):
        root = Path("/sys/class/video4linux")
        cams: list[CameraInfo] = []
        for entry in sorted(root.glob("video*"), key=lambda p: int(p.name[5:] or 0)):
            if not include_virtual and _is_loopback(entry):
                continue
            # UVC cameras expose a second "metadata" node per camera with index 1.
            index_file = entry / "index"
            if index_file.exists() and index_file.read_text().strip() not in ("", "0"):
                continue
            name_file = entry / "name"
            name = name_file.read_text().strip() if name_file.exists() else entry.name
            cams.append(CameraInfo(int(entry.name[5:]), name, f"/dev/{entry.name}"))
        return cams
    return _probe_cameras(4)


def _probe_cameras(count: int) -> list[CameraInfo]:
    import cv2

    found = []
    for i in range(count):
        cap = cv2.VideoCapture(i)
        if cap.isOpened():
            found.append(CameraInfo(i, f"Camera {i}", ""))
        cap.release()
    return found


def resolve_camera(spec: int | str) -> int | str:
    """Turn ``--camera`` (an index, a device path or part of a camera's name) into what
    ``cv2.VideoCapture`` accepts."""
    if isinstance(spec, int):
        return spec
    text = spec.strip()
    if text.isdigit():
        return int(text)
    node = re.fullmatch(r"/dev/video(\d+)", text)
    if node:  # OpenCV's V4L2 backend opens indices reliably; paths may go to FFmpeg instead
        return int(node.group(1))
    if os.path.exists(text):
        return text
    cams = list_cameras()
    matches = [c for c in cams if text.lower() in c.name.lower()]
    if matches:
        return matches[0].index
    known = ", ".join(f"{c.index}: {c.name}" for c in cams) or "none found"
    raise SourceError(f"No camera matches {spec!r} (cameras: {known}). Use --camera INDEX.")


class CameraSource:
    """A webcam through OpenCV; the requested size/fps are hints, the actual ones are read back."""

    def __init__(
        self,
        camera: int | str = 0,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
    ) -> None:
        self.camera = camera
        self.requested = (
            width or DEFAULT_CAMERA_SIZE[0],
            height or DEFAULT_CAMERA_SIZE[1],
            fps or DEFAULT_CAMERA_FPS,
        )
        self.width, self.height, self.fps = self.requested
        self.finished = False  # a camera never ends on its own
        self._cap = None

    @property
    def description(self) -> str:
        return f"camera {self.camera} ({self.width}x{self.height} @ {self.fps:g} fps)"

    def open(self) -> None:
        import cv2

        self.close()
        target = resolve_camera(self.camera)
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"Cannot open camera {self.camera!r}: it is not connected, or another program "
                "(a video-call app, the browser) is using it."
            )
        w, h, fps = self.requested
        # MJPG lets USB webcams deliver 720p/1080p at 30 fps; raw YUYV is often limited to 5-10.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver from queueing stale frames
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise SourceError(f"Camera {self.camera!r} opened but gives no frames (busy?).")
        self.height, self.width = frame.shape[:2]
        actual_fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(actual_fps) if 1.0 <= actual_fps <= 240.0 else fps
        self._cap = cap

    def read(self) -> np.ndarray | None:
        import cv2

        if self._cap is None:
            raise SourceError("camera is not open")
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FileSource:
    """A video file played as if it were a camera: paced at the file's own frame rate.

    ``loop=True`` starts over at the end; otherwise ``read()`` returns None and ``finished``
    turns True. ``paced=False`` hands frames out as fast as they decode (tests, benchmarks).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        loop: bool = True,
        width: int | None = None,
        height: int | None = None,
        paced: bool = True,
    ) -> None:
        self.path = Path(path)
        self.loop = loop
        self.paced = paced
        self._size = (width, height)
        self.width, self.height, self.fps = width or 0, height or 0, 30.0
        self.finished = False
        self._container = None
        self._frames = None
        self._next_due: float | None = None

    @property
    def description(self) -> str:
        return f"file {self.path.name} ({self.width}x{self.height} @ {self.fps:g} fps)"

    def open(self) -> None:
        self.close()
        self._open_container()
        self.finished = False
        self._next_due = None

    def _open_container(self) -> None:
        import av

        try:
            container = av.open(str(self.path))
        except (OSError, av.FFmpegError) as exc:
            raise SourceError(f"Cannot open video file {self.path}: {exc}") from exc
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 30.0
        w, h = self._size
        src_w, src_h = stream.codec_context.width, stream.codec_context.height
        if w and not h:  # one side given: keep the aspect ratio (even sizes for YUV)
            h = 2 * round(w * src_h / src_w / 2)
        elif h and not w:
            w = 2 * round(h * src_w / src_h / 2)
        self.width, self.height = w or src_w, h or src_h
        self._container = container
        self._frames = container.decode(stream)

    def _next_frame(self):
        assert self._frames is not None
        try:
            return next(self._frames)
        except StopIteration:
            if not self.loop:
                self.finished = True
                return None
        # Reopening is simpler and more robust across containers than seeking to 0.
        self._close_container()
        self._open_container()
        return next(self._frames, None)

    def read(self) -> np.ndarray | None:
        if self._frames is None:
            raise SourceError("video file is not open")
        import av

        try:
            frame = self._next_frame()
        except av.FFmpegError as exc:
            raise SourceError(f"Cannot decode {self.path}: {exc}") from exc
        if frame is None:
            return None
        rgb = frame.to_ndarray(format="rgb24", width=self.width, height=self.height)
        if self.paced:
            self._wait_for_due_time()
        return rgb

    def _wait_for_due_time(self) -> None:
        now = time.monotonic()
        period = 1.0 / self.fps
        if self._next_due is None or self._next_due < now - period:
            self._next_due = now  # first frame, or we fell behind: never burst to catch up
        delay = self._next_due - now
        if delay > 0:
            time.sleep(delay)
        self._next_due += period

    def _close_container(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = None
        self._frames = None

    def close(self) -> None:
        self._close_container()
