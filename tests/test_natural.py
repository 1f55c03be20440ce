"""Natural eye contact on generated video with a real face (the astronaut photograph never
blinks, so every blink in the output is synthesised)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from eyecontact.config import ControlSettings, PipelineSettings
from eyecontact.eyecrop import EYE_LANDMARKS
from eyecontact.pipeline import Pipeline
from eyecontact.synthetic import moving_face_frames

FPS = 30


def run_minute(blinks: str, seconds: float = 60.0, seed: int = 3):
    settings = PipelineSettings(redirector="analytic", aim_offset_deg=(0.0, 0.0),
                                control=ControlSettings(blinks=blinks, seed=seed))
    pipe = Pipeline(settings)
    states, dark = [], []
    frames = moving_face_frames(480, 360, int(seconds * FPS))
    for i, frame in enumerate(frames):
        out, result = pipe.process(frame, i / FPS)
        face = result.faces[0] if result.faces else None
        states.append(face.blink_state if face else "none")
        if face is not None:  # iris pixels inside the eye boxes of the output
            total = 0
            for side in ("right", "left"):
                pts = face.landmarks.points[EYE_LANDMARKS[side]["upper"] + EYE_LANDMARKS[side]["lower"]]
                (x0, y0), (x1, y1) = pts.min(axis=0).astype(int), pts.max(axis=0).astype(int)
                dark_px = (out[y0:y1 + 1, x0:x1 + 1].mean(axis=2) < 70).astype(np.uint8)
                # Dark areas at least 2x2 px: the iris, not the thin line of a shut eye's lashes.
                total += int(cv2.morphologyEx(dark_px, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8)).sum())
            dark.append(total)
        else:
            dark.append(-1)
    pipe.close()
    return states, np.array(dark)


def onsets(states, name):
    return [i for i in range(1, len(states)) if states[i] == name and states[i - 1] != name]


@pytest.fixture(scope="module")
def auto_minute():
    return run_minute("auto")


def test_auto_blinks_at_a_natural_rate(auto_minute):
    states, dark = auto_minute
    starts = onsets(states, "synthetic_blink")
    # auto waits ~7 s for a real blink first; over the remaining ~53 s expect 15-20 per minute.
    per_minute = len(starts) / (53.0 / 60.0)
    assert 10 <= per_minute <= 24, (len(starts), per_minute)
    assert "real_blink" not in states  # a photograph never blinks
    # Each synthesised blink really closes the eyes: the iris disappears from the output.
    open_level = np.median(dark[dark > 0])
    closed = [dark[s:s + 8].min() for s in starts]
    assert np.median(closed) < 0.35 * open_level
    # ...and lasts a natural time: closing + shut + reopening, about 0.25-0.45 s.
    lengths = []
    for s in starts:
        e = s
        while e < len(states) and states[e] == "synthetic_blink":
            e += 1
        lengths.append((e - s) / FPS)
    assert 0.2 <= float(np.median(lengths)) <= 0.5


def test_blinks_off_never_synthesises():
    states, _ = run_minute("off", seconds=20.0)
    assert "synthetic_blink" not in states


def test_turning_eye_contact_off_and_on_ramps_smoothly(astronaut_frames):
    """The tray's on/off: the output changes within a few frames, without a one-frame jump."""
    pipe = Pipeline(PipelineSettings(redirector="analytic", aim_offset_deg=(-12.0, 0.0),
                                     control=ControlSettings(blinks="off")))
    change = []
    frames = list(astronaut_frames) + list(astronaut_frames)
    for i, frame in enumerate(frames[:70]):
        if i == 25:
            pipe.set_enabled(False)
        if i == 45:
            pipe.set_enabled(True)
        out, _ = pipe.process(frame, i / FPS)
        change.append(float(np.abs(out.astype(np.int16) - frame).sum()))
    pipe.close()
    change = np.array(change)
    full = np.median(change[15:25])
    assert full > 0
    assert change[25 + 8] == 0  # off within a few frames (a 200 ms ramp)
    assert change[45 + 12] > 0.8 * full  # and back on
    # No single frame takes the whole step: the ramp passes through intermediate strengths.
    off_ramp = change[25:25 + 8] / full
    assert ((off_ramp > 0.1) & (off_ramp < 0.9)).sum() >= 2
