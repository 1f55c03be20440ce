"""The virtual-camera output through pyvirtualcam's backend seam."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pytest
from live_fakes import FakePipeline, FakeSource

pyvirtualcam = pytest.importorskip("pyvirtualcam")

from eyecontact.live import cli as live_cli  # noqa: E402
from eyecontact.live.loop import LiveLoop, LoopConfig  # noqa: E402
from eyecontact.live.output import (  # noqa: E402
    LINUX_FIX,
    NullSink,
    OutputUnavailable,
    VirtualCameraSink,
    open_output,
)


class RecordingBackend:
    """A pyvirtualcam backend that keeps what it is sent (the documented backend contract)."""

    instances: list[RecordingBackend] = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self._device = device or "/dev/recording0"
        self.frames: list[np.ndarray] = []
        self.close_calls = 0
        RecordingBackend.instances.append(self)

    def send(self, frame):
        if len(self.frames) < 500:
            self.frames.append(frame.copy())

    def close(self):
        self.close_calls += 1

    def device(self):
        return self._device

    def native_fourcc(self):
        return self.fourcc


@pytest.fixture(autouse=True)
def recording_backend():
    RecordingBackend.instances.clear()
    pyvirtualcam.register_backend("recording", RecordingBackend)
    yield
    RecordingBackend.instances.clear()


def test_sink_sends_rgb_frames_and_closes_once():
    sink = open_output("virtual", 64, 48, 30.0, backend="recording")
    assert isinstance(sink, VirtualCameraSink)
    frame = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    sink.send(frame)
    sink.close()
    sink.close()
    (backend,) = RecordingBackend.instances
    assert backend.fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    assert backend.frames[0].shape == (64 * 48 * 3,)
    assert np.array_equal(backend.frames[0].reshape(48, 64, 3), frame)
    assert backend.close_calls == 1
    assert "recording0" in sink.description


def test_wrong_frame_shape_is_rejected_by_the_camera():
    sink = open_output("virtual", 64, 48, 30.0, backend="recording")
    with pytest.raises(ValueError):
        sink.send(np.zeros((10, 10, 3), np.uint8))
    sink.close()


def test_live_loop_feeds_the_virtual_camera():
    def factory(w, h, fps):
        return open_output("virtual", w, h, fps, backend="recording")

    loop = LiveLoop(FakeSource(fps=100), FakePipeline(), factory, LoopConfig(max_frames=30))
    stats = loop.run()
    (backend,) = RecordingBackend.instances
    assert stats.sent == 30 and len(backend.frames) >= 30
    assert all(f.size == 64 * 48 * 3 for f in backend.frames)
    assert backend.fps == pytest.approx(100)
    assert backend.close_calls == 1


def test_none_output():
    assert isinstance(open_output("none", 64, 48, 30), NullSink)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback message")
def test_missing_device_says_how_to_create_one():
    with pytest.raises(OutputUnavailable) as info:
        open_output("/dev/video99", 64, 48, 30)
    assert LINUX_FIX in str(info.value)
    assert "--preview" in str(info.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2loopback message")
def test_run_live_without_a_virtual_camera_exits_with_the_fix(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    parser = argparse.ArgumentParser()
    live_cli.add_live_arguments(parser)
    from live_fakes import make_test_video

    video = make_test_video(tmp_path / "c.mp4", frames=5)
    args = parser.parse_args(["--source", str(video), "--output", "/dev/video99"])
    pipeline = FakePipeline()
    code = live_cli.run_live(args, pipeline_factory=lambda s: pipeline)
    assert code == live_cli.EXIT_NO_OUTPUT
    assert LINUX_FIX in caplog.text
    assert pipeline.closed == 1
