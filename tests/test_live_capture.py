"""Frame sources: a video file standing in for the camera, and camera error paths."""

from __future__ import annotations

import time

import numpy as np
import pytest
from live_fakes import make_test_video

from eyecontact.live.capture import (
    CameraSource,
    FileSource,
    FrameSource,
    SourceError,
    list_cameras,
    resolve_camera,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return str(make_test_video(tmp_path_factory.mktemp("cap") / "clip.mp4", frames=12, fps=30))


def test_file_source_reads_rgb_frames_at_the_file_rate(clip):
    src = FileSource(clip, loop=False)
    assert isinstance(src, FrameSource)
    src.open()
    assert (src.width, src.height) == (320, 240) and src.fps == pytest.approx(30, abs=0.1)
    start = time.monotonic()
    frames = []
    while (frame := src.read()) is not None:
        frames.append(frame)
    elapsed = time.monotonic() - start
    src.close()
    assert src.finished and len(frames) == 12
    assert frames[0].shape == (240, 320, 3) and frames[0].dtype == np.uint8
    assert frames[0][100, 100, 0] > 200 and frames[0][100, 100, 2] < 60  # the red square is red
    assert frames[-1][200, 300].mean() > frames[0][200, 300].mean()  # brightening ramp
    assert elapsed > 0.25  # paced: 12 frames at 30 fps take ~0.37 s, not a few ms


def test_file_source_loops_and_resizes(clip):
    src = FileSource(clip, loop=True, width=160, height=120, paced=False)
    src.open()
    frames = [src.read() for _ in range(30)]  # more than the 12 in the file
    src.close()
    assert all(f is not None and f.shape == (120, 160, 3) for f in frames)
    assert not src.finished
    assert frames[12][60, 150].mean() < frames[11][60, 150].mean()  # started over


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="Cannot open video file"):
        FileSource(tmp_path / "nope.mp4").open()


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="not connected|another program|No camera"):
        CameraSource(97).open()


def test_camera_spec_resolution():
    assert resolve_camera("2") == 2
    assert resolve_camera(3) == 3
    assert resolve_camera("/dev/video4") == 4
    with pytest.raises(SourceError, match="No camera matches"):
        resolve_camera("Definitely Not A Camera 9000")


def test_list_cameras_does_not_fail():
    cams = list_cameras()
    assert all(c.name for c in cams)


def test_live_doctor_checks_say_what_to_do():
    from eyecontact.doctor import Check
    from eyecontact.live.doctor import live_checks

    checks = live_checks()
    names = [c.name for c in checks]
    assert {"cameras", "virtual camera library", "virtual camera device", "GUI toolkit"} <= set(
        names)
    assert all(isinstance(c, Check) for c in checks)
    assert all(c.fix for c in checks if not c.ok)  # every missing piece comes with a fix
