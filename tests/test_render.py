"""The training renderer: deterministic, in the runtime's crop frame, and physically sensible."""

from __future__ import annotations

import numpy as np
import pytest

from eyecontact.eyecrop import CORNER_X0, CORNER_X1, CORNER_Y, CROP_H, CROP_W

render = pytest.importorskip("eyecontact_train.render")
clean_appearance = render.tidy_appearance
dark_centroid = render.dark_centroid


def test_pair_is_deterministic_and_in_crop_frame() -> None:
    a, b = render.render_pair(123), render.render_pair(123)
    assert a.source.shape == (CROP_H, CROP_W, 3) and a.source.dtype == np.uint8
    assert a.target.shape == (CROP_H, CROP_W, 3)
    assert np.array_equal(a.source, b.source) and np.array_equal(a.target, b.target)
    assert np.array_equal(a.condition, b.condition)
    assert not np.array_equal(render.render_pair(124).source, a.source)


def test_condition_matches_states() -> None:
    for seed in range(20):
        p = render.render_pair(seed)
        assert p.condition[0] == pytest.approx(p.target_state.pitch - p.source_state.pitch, abs=1e-4)
        assert p.condition[1] == pytest.approx(p.target_state.yaw - p.source_state.yaw, abs=1e-4)
        assert 0.0 <= p.condition[2] <= 1.0 + 1e-6


def test_lid_contour_starts_and_ends_at_the_crop_corners() -> None:
    app = clean_appearance(3)
    contour = render.lid_contour(app, render.EyeState(0, 0, 1))
    assert contour.shape == (16, 2)
    assert contour[0] == pytest.approx([CORNER_X0, CORNER_Y], abs=1e-4)
    assert contour[15] == pytest.approx([CORNER_X1, CORNER_Y], abs=1e-4)
    assert np.all(contour[1:8, 1] < CORNER_Y) and np.all(contour[8:15, 1] > CORNER_Y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_yaw_moves_the_iris_right_and_pitch_up(seed: int) -> None:
    app = clean_appearance(seed)
    left = dark_centroid(render.render_eye(app, render.EyeState(0, -15, 1)))
    right = dark_centroid(render.render_eye(app, render.EyeState(0, 15, 1)))
    expected = app.radius * 2 * np.sin(np.radians(15))
    assert right[0] - left[0] > 0.5 * expected
    down = dark_centroid(render.render_eye(app, render.EyeState(-12, 0, 1)))
    up = dark_centroid(render.render_eye(app, render.EyeState(12, 0, 1)))
    assert up[1] < down[1]


@pytest.mark.parametrize("seed", [0, 5])
def test_closed_eye_shows_no_iris(seed: int) -> None:
    app = clean_appearance(seed)
    a = render.render_eye(app, render.EyeState(0, -20, 0.0))
    b = render.render_eye(app, render.EyeState(0, 20, 0.0))
    # With the lids shut the gaze cannot change a single pixel.
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    opened = render.render_eye(app, render.EyeState(0, 0, 1.0))
    assert np.abs(opened.astype(int) - a.astype(int)).max() > 50


def test_skin_tones_span_light_to_dark() -> None:
    tones = np.array([render.sample_appearance(np.random.default_rng(s)).skin.mean() for s in range(300)])
    assert tones.min() < 0.25 and tones.max() > 0.75
