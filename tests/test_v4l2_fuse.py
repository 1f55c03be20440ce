"""pyvirtualcam's real native v4l2loopback backend, writing into a FUSE stand-in device.

No kernel module is needed: tests/fake_v4l2loopback.py answers the loopback ioctls from
userspace. Skipped unless the machine allows FUSE mounts (Linux, root, /dev/fuse, libfuse2,
mfusepy).
"""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from live_fakes import FakePipeline, FakeSource

HERE = Path(__file__).resolve().parent


def _fuse_unusable() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Linux only"
    if os.geteuid() != 0:
        return "mounting FUSE here needs root"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse missing"
    if ctypes.util.find_library("fuse") is None:
        return "libfuse2 missing (apt-get install libfuse2)"
    try:
        import mfusepy  # noqa: F401
        import pyvirtualcam
    except ImportError as exc:
        return f"{exc.name} not installed"
    if "v4l2loopback" not in pyvirtualcam.camera.BACKENDS:
        return "pyvirtualcam has no v4l2loopback backend"
    return None


pytestmark = pytest.mark.skipif(_fuse_unusable() is not None, reason=str(_fuse_unusable()))

W, H = 64, 48
I420_SIZE = W * H * 3 // 2


@pytest.fixture
def fake_device(tmp_path):
    mount = tmp_path / "dev"
    mount.mkdir()
    record = tmp_path / "written.bin"
    proc = subprocess.Popen([sys.executable, str(HERE / "fake_v4l2loopback.py"), str(mount),
                             str(record)], stderr=subprocess.PIPE)
    device = mount / "video0"
    deadline = time.monotonic() + 10
    while not device.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.skip(f"FUSE mount failed here: {proc.stderr.read().decode()[-300:]}")
        time.sleep(0.05)
    yield device, record
    subprocess.run(["umount", str(mount)], check=False)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _frames(record: Path) -> np.ndarray:
    data = np.fromfile(record, np.uint8)
    assert data.size % I420_SIZE == 0
    return data.reshape(-1, I420_SIZE)


def test_native_backend_writes_i420_frames(fake_device):
    from eyecontact.live.output import open_output

    device, record = fake_device
    sink = open_output(str(device), W, H, 30.0)
    assert sink.description.startswith(f"virtual camera {device}")
    red = np.zeros((H, W, 3), np.uint8)
    red[..., 0] = 255
    for _ in range(3):
        sink.send(red)
    sink.close()
    frames = _frames(record)
    assert len(frames) == 3
    y, u, v = frames[0][: W * H], frames[0][W * H: W * H * 5 // 4], frames[0][W * H * 5 // 4:]
    # BT.601 limited range red: Y ~ 82, U ~ 90, V ~ 240.
    assert abs(y.mean() - 82) < 3 and abs(u.mean() - 90) < 3 and abs(v.mean() - 240) < 3
    width, height, fourcc = map(int, Path(f"{record}.fmt").read_text().split())
    assert (width, height) == (W, H)
    assert fourcc.to_bytes(4, "little") == b"YU12"  # I420


def test_live_loop_into_the_fake_device(fake_device):
    from eyecontact.live.loop import LiveLoop, LoopConfig
    from eyecontact.live.output import open_output

    device, record = fake_device
    loop = LiveLoop(FakeSource(fps=60), FakePipeline(),
                    lambda w, h, fps: open_output(str(device), w, h, fps),
                    LoopConfig(max_frames=30))
    stats = loop.run()
    frames = _frames(record)
    assert stats.sent == 30 and stats.output_errors == 0
    assert len(frames) >= 30  # plus any repeats/placeholders
