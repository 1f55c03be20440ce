"""One-Euro filter: a still noisy signal comes out still, fast motion is followed closely."""

from __future__ import annotations

import numpy as np
import pytest

from eyecontact.smoothing import AnchoredPointFilter, OneEuroFilter, angle_filter, landmark_filter


def _jitter(x: np.ndarray) -> float:
    """Mean frame-to-frame movement."""
    return float(np.mean(np.abs(np.diff(x, axis=0))))


def test_still_noisy_landmarks_are_steadied() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(100, 400, size=(478, 2))
    frames = truth + rng.normal(0.0, 1.0, size=(300, 478, 2))  # 1 px landmark noise, 10 s
    f = landmark_filter(face_width_px=200.0)
    out = np.stack([f(x, i / 30.0) for i, x in enumerate(frames)])
    assert out.shape == frames.shape
    # Jitter after settling: at least 5x less frame-to-frame movement than the raw input.
    assert _jitter(out[60:]) < _jitter(frames[60:]) / 5.0
    # And no bias: the filtered points stay on the true positions.
    assert np.abs(out[60:].mean(axis=0) - truth).max() < 0.5


def test_fast_motion_is_followed_with_little_lag() -> None:
    # A face moving 300 px/s (fast head motion) for one second, with 0.5 px noise.
    f = OneEuroFilter(min_cutoff=1.5, beta=0.02, speed_axis=-1)
    rng = np.random.default_rng(1)
    lags = []
    for i in range(60):
        t = i / 60.0
        pos = np.array([[100.0 + 300.0 * t, 200.0]])
        out = f(pos + rng.normal(0, 0.5, size=pos.shape), t)
        lags.append(pos[0, 0] - out[0, 0])
    # A plain low-pass at 1.5 Hz would trail by ~30 px; One-Euro stays within a few pixels.
    assert np.mean(lags[20:]) < 8.0
    fixed = OneEuroFilter(min_cutoff=1.5, beta=0.0)
    fixed_lags = []
    for i in range(60):
        t = i / 60.0
        fixed_lags.append(100.0 + 300.0 * t - fixed(np.array([100.0 + 300.0 * t]), t)[0])
    assert np.mean(lags[20:]) < np.mean(fixed_lags[20:]) / 3.0


def test_frame_rate_independent() -> None:
    """The same motion sampled at 15 and 60 fps gives about the same filtered curve."""
    def run(fps: float) -> tuple[np.ndarray, np.ndarray]:
        f = angle_filter()
        ts = np.arange(0.0, 2.0, 1.0 / fps)
        sig = np.where(ts < 0.5, 0.0, 10.0)  # a 10 degree step
        return np.array([f(np.array([s]), t)[0] for s, t in zip(sig, ts)]), ts

    a, ta = run(15.0)
    b, tb = run(60.0)
    # Compare at common times (every 4th 60-fps sample is a 15-fps sample), once settled.
    assert np.abs(a - np.interp(ta, tb, b))[ta > 0.5].max() < 1.0


def test_first_sample_passes_and_reset() -> None:
    f = OneEuroFilter()
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.array_equal(f(x, 0.0), x)
    f(x + 10, 0.1)
    f.reset()
    assert np.array_equal(f(x, 0.2), x)


def test_duplicate_and_backward_timestamps() -> None:
    f = OneEuroFilter()
    f(np.array([0.0]), 1.0)
    y = f(np.array([5.0]), 1.1)
    assert np.array_equal(f(np.array([100.0]), 1.1), y)  # same time: output unchanged
    assert np.array_equal(f(np.array([7.0]), 0.5), np.array([7.0]))  # time went back: restart


def test_shape_change_restarts_and_bad_params() -> None:
    f = OneEuroFilter()
    f(np.zeros(3), 0.0)
    assert f(np.ones(4), 0.1).shape == (4,)
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)
    with pytest.raises(ValueError):
        OneEuroFilter(beta=-1.0)


def test_still_cutoff_is_an_exact_exponential_filter() -> None:
    """With beta 0 a step settles as 1 - exp(-2 pi f t), at any frame rate."""
    for fps in (15.0, 30.0, 60.0):
        f = OneEuroFilter(min_cutoff=2.0, beta=0.0)
        f(np.zeros(3), 0.0)
        for k in range(1, int(fps) + 1):  # one second of a unit step
            out = f(np.ones(3), k / fps)
            want = 1.0 - np.exp(-2.0 * np.pi * 2.0 * k / fps)
            assert np.allclose(out, want, atol=1e-9)


def test_a_point_has_one_cutoff_whatever_its_direction() -> None:
    """speed_axis=-1: the cutoff follows a point's 2-D speed, so the same motion sideways or
    diagonally is filtered alike; per-value speeds (None) treat them differently."""
    moves = np.array([[1.0, 0.0], [np.sqrt(0.5), np.sqrt(0.5)]])  # unit steps, two directions
    for axis, alike in ((-1, True), (None, False)):
        f = OneEuroFilter(min_cutoff=1.0, beta=0.5, speed_axis=axis)
        f(np.zeros((2, 2)), 0.0)
        out = f(moves * 10.0, 1 / 30)
        progress = np.einsum("ij,ij->i", out, moves) / 10.0  # share of the step taken
        assert np.isclose(progress[0], progress[1], rtol=1e-9) == alike


def test_other_speed_axes_are_refused() -> None:
    with pytest.raises(ValueError):
        OneEuroFilter(speed_axis=0)


def test_anchored_points_follow_a_moving_face_and_keep_a_steady_shape() -> None:
    """A face swaying (25 px at 1 Hz sideways, 10 px at 0.7 Hz up and down; 1 px noise per
    point): the eye outline stays on the eye (a plain landmark filter trails it by several
    pixels, enough to cut the iris from the wrong place), and the iris against the eye corners
    is steadier than detected."""
    from eyecontact.pipeline import SMOOTHED_POINTS, SMOOTHING_GROUPS

    rng = np.random.default_rng(2)
    shape = rng.uniform(-80.0, 80.0, size=(len(SMOOTHED_POINTS), 2))
    groups, anchors = SMOOTHING_GROUPS
    iris = [k for k, p in enumerate(SMOOTHED_POINTS) if p == 468][0]
    corners = anchors[0]
    anchored, plain = AnchoredPointFilter(groups, anchors, face_width_px=200.0), landmark_filter(200.0)
    lag_anchored, lag_plain, rel_raw, rel_out = [], [], [], []
    for i in range(90):
        t = i / 30.0
        truth = shape + np.array([300.0 + 25.0 * np.sin(2.0 * np.pi * t), 240.0 + 10.0 * np.sin(1.4 * np.pi * t)])
        seen = truth + rng.normal(0.0, 1.0, size=truth.shape)
        a, p = anchored(seen, t), plain(seen, t)
        if i >= 30:
            lag_anchored.append(np.linalg.norm(a - truth, axis=1).mean())
            lag_plain.append(np.linalg.norm(p - truth, axis=1).mean())
            rel_raw.append(seen[iris] - seen[corners].mean(axis=0))
            rel_out.append(a[iris] - a[corners].mean(axis=0))
    # Measured: 3.0 px off with the plain filter, 1.0 anchored (the detected points: 1.25);
    # the iris against the corners moves 1.3 px per frame as detected, 0.23 filtered.
    assert np.mean(lag_plain) > 2.5  # what the plain filter did
    assert np.mean(lag_anchored) < 1.2
    assert _jitter(np.array(rel_out)) < _jitter(np.array(rel_raw)) / 3.0
