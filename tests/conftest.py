"""Shared fixtures: generated media with a real face, and the real clips when ../shared exists."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO.parent / "shared" / "data" / "clips"


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    if not CLIPS.is_dir():
        pytest.skip("real clips (../shared/data/clips) not present")
    return CLIPS


@pytest.fixture(scope="session")
def astronaut_frames() -> list[np.ndarray]:
    from eyecontact.synthetic import moving_face_frames

    return list(moving_face_frames(640, 480, 45))


@pytest.fixture(scope="session")
def astronaut_clip(tmp_path_factory, astronaut_frames) -> Path:
    """A 1.5 s 640x480 30 fps clip of the astronaut photograph with an AAC audio track."""
    from eyecontact.synthetic import write_clip

    path = tmp_path_factory.mktemp("media") / "astronaut.mp4"
    write_clip(path, astronaut_frames, fps=30, audio_seconds=1.5)
    return path
