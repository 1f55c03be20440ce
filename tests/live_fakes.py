"""Stand-ins for the live-mode devices and pipeline, shared by the tests/test_live_*.py files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np


def make_test_video(path: Path, frames: int = 30, size: tuple[int, int] = (320, 240),
                    fps: int = 30) -> Path:
    """A tiny H.264 clip whose frame i has mean brightness ~ 4*i (so order can be checked)."""
    import av

    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        for i in range(frames):
            img = np.full((h, w, 3), (4 * i) % 256, np.uint8)
            img[h // 4: h // 2, w // 4: w // 2] = (255, 0, 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


class FakeSource:
    """A paced synthetic camera. During ``outage`` = (start_s, end_s), seconds after the first
    read, reads return None and open() fails, as when a camera is unplugged and plugged back."""

    def __init__(self, frames: int | None = None, size: tuple[int, int] = (64, 48),
                 fps: float = 200.0, outage: tuple[int, int] | None = None,
                 fail_open: int = 0) -> None:
        self.width, self.height = size
        self.fps = fps
        self.finished = False
        self.frames = frames
        self.outage = outage
        self._t0: float | None = None
        self.reads = 0
        self.delivered = 0
        self.opens = 0
        self.closes = 0
        self._next: float | None = None
        self._buf = np.zeros((self.height, self.width, 3), np.uint8)

    @property
    def description(self) -> str:
        return f"fake {self.width}x{self.height}"

    def open(self) -> None:
        from eyecontact.live.capture import SourceError

        self.opens += 1
        if self.unplugged():
            raise SourceError("fake camera is unplugged")

    def unplugged(self) -> bool:
        if self.outage is None or self._t0 is None:
            return False
        t = time.monotonic() - self._t0
        return self.outage[0] <= t < self.outage[1]

    def read(self) -> np.ndarray | None:
        if self.frames is not None and self.delivered >= self.frames:
            self.finished = True
            return None
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        if self._next is None or self._next < now - 1.0 / self.fps:
            self._next = now
        if self._next > now:
            time.sleep(self._next - now)
        self._next += 1.0 / self.fps
        self.reads += 1
        if self.unplugged():
            return None
        self.delivered += 1
        frame = self._buf.copy()
        frame[0, 0, 0] = self.delivered % 256  # frame number, for order checks
        frame[0, 0, 1] = (self.delivered // 256) % 256
        return frame

    def close(self) -> None:
        self.closes += 1


class FakePipeline:
    """Implements the Pipeline API: inverts colours when enabled; can fail or be slow."""

    def __init__(self, fail_every: int = 0, delay_s: float = 0.0) -> None:
        self.enabled = True
        self.strength = 1.0
        self.redirector_provider = "fake"
        self.fail_every = fail_every
        self.delay_s = delay_s
        self.calls = 0
        self.enabled_calls: list[bool] = []
        self.timestamps: list[float] = []
        self.closed = 0
        self._lock = threading.Lock()

    def process(self, frame: np.ndarray, timestamp_s: float):
        with self._lock:
            self.calls += 1
            n = self.calls
        if len(self.timestamps) < 10_000:
            self.timestamps.append(timestamp_s)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_every and n % self.fail_every == 0:
            raise RuntimeError("landmarker exploded")
        out = frame.copy()
        if self.enabled:
            out[1:] = 255 - frame[1:]  # keep row 0 (the frame number) readable
        return out, None

    def set_enabled(self, on: bool) -> None:
        self.enabled_calls.append(on)
        self.enabled = on

    def set_strength(self, strength: float) -> None:
        self.strength = strength

    def close(self) -> None:
        self.closed += 1


class RecordingSink:
    """A FrameSink that keeps counts and the last frame; can fail for a while."""

    description = "recording sink"

    def __init__(self, fail_sends: tuple[int, int] | None = None) -> None:
        self.sent = 0
        self.attempts = 0
        self.closed = 0
        self.last: np.ndarray | None = None
        self.numbers: list[int] = []
        self.fail_sends = fail_sends

    def send(self, frame: np.ndarray) -> None:
        self.attempts += 1
        if self.fail_sends and self.fail_sends[0] <= self.attempts <= self.fail_sends[1]:
            raise OSError("reader went away")
        self.sent += 1
        self.last = frame.copy()
        if len(self.numbers) < 20_000:
            self.numbers.append(int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1]))

    def close(self) -> None:
        self.closed += 1
