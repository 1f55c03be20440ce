"""Real-blink detection (generated traces and a real clip) and the blink synthesiser."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from eyecontact.blinks import (BlinkDetector, BlinkProfile, BlinkSynthesizer, BlinkSynthParams,
                               blink_stats)

CLIPS = Path(__file__).resolve().parents[2] / "shared/data/clips"
from blink_shapes import OPEN, blink_shape


def trace(fps: float, seconds: float, blinks: list[float], noise: float = 0.01, seed: int = 0,
          base: Callable[[float], float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (t, aperture) with blinks starting at the given times and sensor noise."""
    rng = np.random.default_rng(seed)
    ts = np.arange(int(seconds * fps)) / fps
    top = np.array([base(t) if base else OPEN for t in ts])
    ap = np.array([min([blink_shape(t - b, top=tp) for b in blinks] + [tp])
                   for t, tp in zip(ts, top)])
    return ts, ap + rng.normal(0.0, noise, size=ap.shape)


def detect(ts: np.ndarray, right: np.ndarray, left: np.ndarray | None = None) -> BlinkDetector:
    d = BlinkDetector()
    left = right if left is None else left
    for t, r, l in zip(ts, right, left):
        d.update(float(t), {"right": float(r) if np.isfinite(r) else None,
                            "left": float(l) if np.isfinite(l) else None})
    return d


# -- detector on generated traces --------------------------------------------------------------


@pytest.mark.parametrize("fps", [15.0, 30.0, 60.0])
def test_blinks_found_at_the_right_times(fps: float) -> None:
    blinks = [1.5, 4.0, 4.9, 8.2, 11.0]  # includes two blinks 0.9 s apart
    ts, ap = trace(fps, 13.0, blinks, seed=1)
    ts2, ap2 = trace(fps, 13.0, blinks, seed=2)  # the other eye: same lids, own noise
    d = detect(ts, ap, ap2)
    starts = [e.start_s for e in d.events]
    assert len(starts) == len(blinks)
    for b, s, e in zip(blinks, starts, d.events):
        assert b <= s <= b + 0.12  # onset found while the lids close
        assert e.end_s - e.start_s <= 0.4  # and the reopening shortly after


def test_slow_lid_lowering_and_looking_down_are_not_blinks() -> None:
    # Looks down over 0.8 s (lids from open to 30% of open), stays 3 s, looks back up.
    def lids(t: float) -> float:
        k = np.clip((t - 2.0) / 0.8, 0, 1) - np.clip((t - 5.8) / 0.8, 0, 1)
        return OPEN - 0.7 * OPEN * k

    ts, ap = trace(30.0, 9.0, [], base=lids, seed=3)
    d = detect(ts, ap)
    assert d.events == []


def test_blink_while_looking_down_after_baseline_adapts() -> None:
    # Lowered lids for a long time (reading): the baseline adapts and blinks are seen again.
    ts, ap = trace(30.0, 40.0, [35.0], base=lambda t: 0.2, seed=4)
    d = detect(ts, ap)
    assert [round(e.start_s) for e in d.events] == [35]


def test_wink_and_long_closure_are_not_blinks() -> None:
    ts, ap = trace(30.0, 8.0, [2.0], seed=5)
    _, other = trace(30.0, 8.0, [], seed=6)
    assert detect(ts, ap, other).events == []  # one eye only: a wink
    # Eyes closed fast but kept shut for 1.5 s: not a blink (and the phase says "closed").
    shut = np.where((ts >= 3.0) & (ts < 4.5), 0.03, OPEN)
    d = BlinkDetector()
    phases = [d.update(float(t), {"right": a, "left": a}).phase for t, a in zip(ts, shut)]
    assert d.events == []
    assert phases[int(4.2 * 30)] == "closed"
    assert phases[-1] == "open"


def test_one_eye_hidden_still_detects_with_the_other() -> None:
    ts, ap = trace(30.0, 6.0, [3.0], seed=7)
    hidden = np.full_like(ap, np.nan)
    d = detect(ts, ap, hidden)
    assert len(d.events) == 1


def test_no_decision_before_a_baseline_exists() -> None:
    d = BlinkDetector()
    obs = d.update(0.0, {"right": 0.03, "left": 0.03})
    assert obs.phase == "open" and obs.openness is None


# -- detector on the real clip -----------------------------------------------------------------


def _clip_apertures(path: Path) -> tuple[np.ndarray, np.ndarray, float]:
    cv2 = pytest.importorskip("cv2")
    mp = pytest.importorskip("mediapipe")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    rows = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                         refine_landmarks=True) as mesh:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            res = mesh.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if not res.multi_face_landmarks:
                rows.append((np.nan, np.nan))
                continue
            p = np.array([(q.x * w, q.y * h) for q in res.multi_face_landmarks[0].landmark])

            def ratio(up: int, lo: int, c0: int, c1: int) -> float:
                return float(np.linalg.norm(p[up] - p[lo]) / np.linalg.norm(p[c0] - p[c1]))

            rows.append((ratio(159, 145, 33, 133), ratio(386, 374, 362, 263)))
    cap.release()
    a = np.array(rows)
    return a[:, 0], a[:, 1], float(fps)


# Blinks counted by eye, frame by frame, in the clips (first frame with both eyes shut).
# d3: a wink that ends in a short blink (both eyes shut at 48-52), a clear blink at 56-61, and
# two long looks down with lids almost shut (frames ~100-160 and ~211-256) that are not blinks.
# d13: four clear blinks; the person also looks down now and then.
REAL_BLINKS = {"liveportrait_d3.mp4": [48, 56], "liveportrait_d13.mp4": [42, 79, 102, 314]}


@pytest.mark.parametrize("name", sorted(REAL_BLINKS))
def test_real_clip_blinks(name: str) -> None:
    path = CLIPS / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    right, left, fps = _clip_apertures(path)
    ts = np.arange(len(right)) / fps
    d = detect(ts, right, left)
    found = [int(round(e.start_s * fps)) for e in d.events]
    expected = REAL_BLINKS[name]
    assert len(found) == len(expected), found
    for f, e in zip(found, expected):
        assert e - 1 <= f <= e + 2, (found, expected)
    for ev in d.events:
        assert ev.end_s - ev.start_s <= 0.4


# -- synthesiser -------------------------------------------------------------------------------


def simulate(mode: str, seed: int, seconds: float, fps: float = 30.0,
             real: list[float] | None = None) -> tuple[BlinkSynthesizer, np.ndarray, np.ndarray]:
    s = BlinkSynthesizer(mode, np.random.default_rng(seed), fps)
    ts = np.arange(int(seconds * fps)) / fps
    real = sorted(real or [])
    out = []
    for t in ts:
        while real and real[0] <= t:
            s.note_real_blink(real.pop(0))
        out.append(s.update(float(t)))
    return s, ts, np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_rate_and_gaps(seed: int) -> None:
    s, _, _ = simulate("always", seed, 1800.0, fps=20.0)  # 30 simulated minutes
    st = blink_stats([b.start_s for b in s.history], 1800.0)
    assert 15.0 <= st.rate_per_min <= 20.0
    assert st.min_interval_s >= BlinkSynthParams().min_gap_s - 1e-9
    iv = np.array(st.intervals)
    assert 0.3 <= iv.std() / iv.mean() <= 0.8  # irregular, like real blinking, not a metronome


def test_synthetic_profiles_are_natural() -> None:
    s, ts, op = simulate("always", 4, 300.0, fps=60.0)
    assert s.history
    for b in s.history:
        assert 0.08 <= b.close_s <= 0.12
        assert 0.03 <= b.closed_s <= 0.06
        assert 0.15 <= b.open_s <= 0.25
    assert op.min() == 0.0 and op.max() == 1.0
    # Openness is continuous at 60 fps: no frame-to-frame jump of more than a third.
    assert np.abs(np.diff(op)).max() < 0.34


def test_profile_shape() -> None:
    p = BlinkProfile(start_s=1.0, close_s=0.1, closed_s=0.05, open_s=0.2)
    ts = np.linspace(0.9, 1.45, 1101)
    v = np.array([p.openness(float(t)) for t in ts])
    assert v[0] == 1.0 and v[-1] == 1.0 and v.min() == 0.0
    bottom = np.flatnonzero(v == 0.0)
    assert ts[bottom[0]] == pytest.approx(1.1, abs=1e-3)
    assert ts[bottom[-1]] == pytest.approx(1.15, abs=1e-3)
    down, up = v[: bottom[0] + 1], v[bottom[-1]:]
    assert np.all(np.diff(down) <= 1e-12) and np.all(np.diff(up) >= -1e-12)


def test_every_blink_is_seen_at_low_frame_rates() -> None:
    s, ts, op = simulate("always", 8, 120.0, fps=15.0)
    for b in s.history:
        during = op[(ts >= b.start_s) & (ts < b.end_s)]
        assert during.min() <= 0.05  # a frame lands in the closed phase


def test_off_auto_and_determinism() -> None:
    _, _, op = simulate("off", 0, 60.0)
    assert np.all(op == 1.0)
    # auto: real blinks every 3 s until 12 s, then none.
    s, ts, op = simulate("auto", 0, 40.0, real=[3.0, 6.0, 9.0, 12.0])
    starts = [b.start_s for b in s.history]
    assert starts and starts[0] >= 12.0 + 7.0 and starts[0] <= 12.0 + 8.5
    a, _, opa = simulate("always", 21, 60.0)
    b, _, opb = simulate("always", 21, 60.0)
    assert np.array_equal(opa, opb)
    with pytest.raises(ValueError):
        BlinkSynthesizer("sometimes", np.random.default_rng(0))


def test_always_keeps_distance_from_real_blinks() -> None:
    real = list(np.arange(1.0, 60.0, 2.5))
    s, _, _ = simulate("always", 3, 60.0, real=list(real))
    for b in s.history:
        assert all(not (r <= b.start_s < r + BlinkSynthParams().min_gap_s - 1e-9) for r in real)


def test_open_eye_going_out_of_view_is_not_a_blink() -> None:
    # Left eye half shut (squint), right eye open; then the right eye gets occluded: what
    # remains is low, but nothing closed.
    ts = np.arange(0, 6, 1 / 30)
    right = np.where(ts < 3.0, OPEN, np.nan)
    left = np.full_like(ts, 0.1)
    assert detect(ts, right, left).events == []
    d = BlinkDetector()
    started = [d.update(float(t), {"right": None if np.isnan(r) else float(r), "left": float(l)})
               .blink_started for t, r, l in zip(ts, right, left)]
    assert not any(started)
