"""FaceController: thresholds, human-speed ramps, hysteresis, eyes, blinks, look-aways."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest

from eyecontact.config import ControlSettings
from eyecontact.control import (Backlash, ControllerBank, EasedShare, EyeMeasurement,
                                FaceController, FaceDecision, FaceMeasurement, LookAway,
                                ramp_down)

from blink_shapes import OPEN, blink_shape


def meas(t: float, offset: float = 5.0, *, pitch: float = 0.0, yaw: float = 0.0,
         right: float | None = None, left: float | None = None, right_visible: bool = True,
         left_visible: bool = True, aperture: float | tuple[float, float] = OPEN,
         confidence: float = 1.0, width: float = 200.0) -> FaceMeasurement:
    ar, al = aperture if isinstance(aperture, tuple) else (aperture, aperture)
    return FaceMeasurement(
        timestamp_s=t, head_pitch=pitch, head_yaw=yaw,
        right=EyeMeasurement(offset if right is None else right, right_visible, ar),
        left=EyeMeasurement(offset if left is None else left, left_visible, al),
        confidence=confidence, face_width_px=width)


def run(ctrl: FaceController, fps: float, seconds: float,
        make: Callable[[float], FaceMeasurement], t0: float = 0.0) -> tuple[np.ndarray,
                                                                            list[FaceDecision]]:
    ts = t0 + np.arange(int(round(seconds * fps))) / fps
    return ts, [ctrl.update(make(float(t))) for t in ts]


def quiet(**kw: object) -> ControlSettings:
    """Settings without random extras, so share tests see only the thresholds."""
    s = ControlSettings(blinks="off", look_away=False, seed=0)
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def transitions(ts: np.ndarray, share: np.ndarray, eps: float = 1e-3) -> list[tuple[float, float]]:
    """(start, end) times of each run of consecutive changing frames."""
    moving = np.abs(np.diff(share)) > eps
    runs, start = [], None
    for i, mv in enumerate(moving):
        if mv and start is None:
            start = ts[i]
        if not mv and start is not None:
            runs.append((start, ts[i]))
            start = None
    if start is not None:
        runs.append((start, ts[-1]))
    return runs


# -- building blocks --------------------------------------------------------------------------


def test_ramp_down() -> None:
    assert ramp_down(10, 20, 30) == 1.0
    assert ramp_down(20, 20, 30) == 1.0
    assert ramp_down(25, 20, 30) == pytest.approx(0.5)
    assert ramp_down(30, 20, 30) == 0.0
    assert ramp_down(math.inf, 20, 30) == 0.0
    assert ramp_down(math.nan, 20, 30) == 0.0


def test_backlash_ignores_small_reversals() -> None:
    b = Backlash(4.0)
    assert b(10.0) == 10.0
    assert b(11.5) == 10.0  # within the band: no move
    assert b(15.0) == 13.0  # pushed: trails by half the width
    assert b(12.0) == 13.0  # small reversal: held
    assert b(9.0) == 11.0


def test_eased_share_is_smooth_and_bounded() -> None:
    e = EasedShare(1.0)
    e.set_target(0.0, 0.0)
    ts = np.arange(0.0, 0.5, 1 / 240)
    v = np.array([e.value(t) for t in ts])
    assert v[0] == 1.0 and v[-1] == 0.0
    assert np.all(np.diff(v) <= 1e-12)  # monotonic, no overshoot
    done = ts[np.argmax(v <= 0.0)]
    assert 0.29 <= done <= 0.31  # full swing: 300 ms
    # Retarget mid-move: continuous value, no jump.
    e2 = EasedShare(0.0)
    e2.set_target(1.0, 0.0)
    before = e2.value(0.1)
    e2.set_target(0.3, 0.1)
    assert e2.value(0.1) == pytest.approx(before)
    assert abs(e2.value(0.1 + 1 / 240) - before) < 0.05


# -- thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize("offset,expected", [(5, 1.0), (20, 1.0), (25, 0.5), (30, 0.0), (45, 0.0)])
def test_gaze_threshold_steady_state(offset: float, expected: float) -> None:
    ctrl = FaceController(quiet(), 30)
    _, ds = run(ctrl, 30, 1.0, lambda t: meas(t, offset))
    assert ds[-1].share == pytest.approx(expected, abs=1e-6)
    if expected < 1.0:
        assert ds[-1].limited_by == "gaze"


@pytest.mark.parametrize("kw,expected,name", [
    ({"pitch": 20.0}, 0.5, "head_pitch"), ({"pitch": -26.0}, 0.0, "head_pitch"),
    ({"yaw": 27.5}, 0.5, "head_yaw"), ({"yaw": -40.0}, 0.0, "head_yaw"),
    ({"confidence": 0.2}, 0.0, "confidence"), ({"width": 40.0}, 0.0, "face_size"),
])
def test_head_confidence_and_size_criteria(kw: dict, expected: float, name: str) -> None:
    ctrl = FaceController(quiet(), 30)
    _, ds = run(ctrl, 30, 1.0, lambda t: meas(t, 5.0, **kw))
    assert ds[-1].share == pytest.approx(expected, abs=1e-6)
    assert ds[-1].limited_by == name


def test_most_limiting_criterion_wins() -> None:
    ctrl = FaceController(quiet(), 30)
    _, ds = run(ctrl, 30, 1.0, lambda t: meas(t, 22.0, pitch=22.0))  # gaze 0.8, pitch 0.3
    assert ds[-1].share == pytest.approx(0.3, abs=1e-6)
    assert ds[-1].limited_by == "head_pitch"


# -- ramps at human speed ----------------------------------------------------------------------


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_step_away_fades_at_human_speed(fps: float) -> None:
    ctrl = FaceController(quiet(), fps)
    ts, ds = run(ctrl, fps, 3.0, lambda t: meas(t, 5.0 if t < 1.5 else 40.0))
    share = np.array([d.share for d in ds])
    assert share[ts < 1.5][-1] == 1.0 and share[-1] == 0.0
    if fps == 30.0:
        assert np.abs(np.diff(share)).max() <= 0.25  # never more than 1/4 of the range a frame
    runs = transitions(ts, share)
    fade = [r for r in runs if r[0] >= 1.4]
    assert len(fade) == 1
    start, end = fade[0]
    assert end - start >= 0.15 - 1e-9  # takes at least 150 ms ...
    assert end - start <= 0.35  # ... and completes within ~300 ms
    assert np.all(np.diff(share[ts >= 1.5]) <= 1e-12)  # monotonic: no wobble


def test_step_back_fades_in_and_first_frames_fade_in() -> None:
    ctrl = FaceController(quiet(), 30)
    ts, ds = run(ctrl, 30, 3.0, lambda t: meas(t, 40.0 if t < 1.5 else 5.0))
    share = np.array([d.share for d in ds])
    assert share[ts < 1.5].max() == 0.0 and share[-1] == 1.0
    assert np.abs(np.diff(share)).max() <= 0.25
    # A new face starts uncorrected and fades in (no pop on the first frames either).
    ctrl2 = FaceController(quiet(), 30)
    ts2, ds2 = run(ctrl2, 30, 1.0, lambda t: meas(t, 5.0))
    s2 = np.array([d.share for d in ds2])
    assert s2[0] == 0.0 and s2[-1] == 1.0 and np.abs(np.diff(s2)).max() <= 0.25


def test_reversal_mid_fade_stays_smooth() -> None:
    ctrl = FaceController(quiet(), 60)
    ts, ds = run(ctrl, 60, 2.0, lambda t: meas(t, 40.0 if 0.8 <= t < 0.9 else 5.0))
    share = np.array([d.share for d in ds])
    accel = np.abs(np.diff(share, 2)).max()
    assert accel < 0.05  # no corner in the curve at 60 fps
    assert share[-1] == 1.0


def test_same_timing_at_any_frame_rate() -> None:
    half_times = []
    for fps in (15.0, 30.0, 60.0):
        ctrl = FaceController(quiet(), fps)
        ts, ds = run(ctrl, fps, 2.0, lambda t: meas(t, 5.0 if t < 1.0 else 40.0))
        share = np.array([d.share for d in ds])
        half_times.append(float(np.interp(0.5, share[ts >= 1.0][::-1], ts[ts >= 1.0][::-1])))
    assert max(half_times) - min(half_times) < 1 / 15 + 1e-6


def test_gap_restarts_from_uncorrected() -> None:
    ctrl = FaceController(quiet(), 30)
    run(ctrl, 30, 1.0, lambda t: meas(t, 5.0))
    d = ctrl.update(meas(3.0, 5.0))  # face was missing for 2 s, shown uncorrected meanwhile
    assert d.share == 0.0 and d.target_share == 1.0


# -- hysteresis --------------------------------------------------------------------------------


def _reversals(x: np.ndarray, eps: float = 1e-3) -> int:
    d = np.diff(x)
    d = d[np.abs(d) > eps]
    return int(np.sum(np.sign(d[1:]) != np.sign(d[:-1])))


@pytest.mark.parametrize("centre", [20.0, 25.0, 30.0])
def test_noise_around_a_threshold_does_not_flutter(centre: float) -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 0.6, size=600)  # 20 s at 30 fps, +-0.6 deg gaze jitter
    ctrl = FaceController(quiet(), 30)
    ts = np.arange(600) / 30.0
    share = np.array([ctrl.update(meas(t, centre + n)).share for t, n in zip(ts, noise)])
    settled = share[ts > 1.0]
    assert _reversals(settled) <= 2
    assert np.abs(np.diff(settled)).sum() < 0.3  # total movement over 19 s
    # Without hysteresis the target itself would swing by ~0.1 frame to frame at 25 deg:
    if centre == 25.0:
        raw = np.array([ramp_down(centre + n, 20, 30) for n in noise])
        assert _reversals(raw) > 100


def test_gaze_must_come_back_by_a_margin() -> None:
    ctrl = FaceController(quiet(), 30)
    plan = [(0.0, 10.0), (1.0, 40.0), (2.0, 29.0), (3.0, 27.5), (4.0, 15.0)]

    def offset(t: float) -> float:
        return [o for start, o in plan if t >= start][-1]

    ts, ds = run(ctrl, 30, 5.0, lambda t: meas(t, offset(t)))
    share = np.array([d.share for d in ds])
    at = {s: share[np.searchsorted(ts, s + 0.9)] for s, _ in plan}
    assert at[1.0] == 0.0
    assert at[2.0] == 0.0  # back under the high threshold by 1 deg: still off
    assert at[3.0] == pytest.approx(0.05, abs=1e-6)  # 2.5 deg back: starts to return (29.5)
    assert at[4.0] == 1.0


# -- eyes --------------------------------------------------------------------------------------


def test_one_eye_invisible_the_other_keeps_correction() -> None:
    ctrl = FaceController(quiet(), 30)
    ts, ds = run(ctrl, 30, 3.0, lambda t: meas(t, 10.0, left_visible=not (1.0 <= t < 2.0)))
    share = np.array([d.share for d in ds])
    assert np.all(share[ts > 0.5] == 1.0)  # the face share doesn't dip
    for t, d in zip(ts, ds):
        if 1.0 <= t < 2.0:
            assert d.eye_share == {"right": 1.0, "left": 0.0}
            assert d.openness["left"] == 1.0
        elif t > 0.5:
            assert d.eye_share == {"right": 1.0, "left": 1.0}


def test_both_eyes_always_get_the_same_share() -> None:
    ctrl = FaceController(quiet(), 30)
    _, ds = run(ctrl, 30, 1.0, lambda t: meas(t, right=18.0, left=26.0))
    d = ds[-1]
    assert d.eye_share["right"] == d.eye_share["left"] == d.share
    assert d.share == pytest.approx(ramp_down(22.0, 20, 30))


def test_no_visible_eye_fades_out() -> None:
    ctrl = FaceController(quiet(), 30)
    ts, ds = run(ctrl, 30, 2.0, lambda t: meas(t, 5.0, right_visible=t < 1.0,
                                               left_visible=t < 1.0))
    share = np.array([d.share for d in ds])
    assert share[-1] == 0.0 and ds[-1].limited_by == "no_visible_eye"
    assert np.abs(np.diff(share)).max() <= 0.25


def test_eye_request_angles() -> None:
    d = FaceDecision(share=0.5, eye_share={"right": 0.5, "left": 0.0},
                     openness={"right": 1.0, "left": 1.0}, look_away=(1.0, -2.0),
                     blink_state="open", target_share=0.5, limited_by="gaze")
    assert d.eye_request_angles("right", -10.0, 4.0, 0.0, 0.0) == pytest.approx((5.5, -3.0))
    assert d.eye_request_angles("left", -10.0, 4.0, 0.0, 0.0) == (0.0, 0.0)


def test_a_fast_glance_away_is_never_corrected_by_more_than_the_gaze_range() -> None:
    """The share eases down over 0.15-0.3 s when the gaze leaves the corrected range; a glance
    that gets 60 deg off within two frames must not be dragged back by nearly 60 deg meanwhile.
    Asks stay within gaze_low_deg, in the direction of the full correction; in steady use
    (here 15 deg off) the whole offset is still corrected."""
    ctrl = FaceController(quiet(), 30)
    glance = lambda t: 15.0 if t < 1.0 else (35.0 if t < 1.04 else 60.0)  # noqa: E731
    _, ds = run(ctrl, 30, 2.0, lambda t: meas(t, glance(t)))
    asks = [d.eye_request_angles("right", -glance(i / 30) * 0.6, glance(i / 30) * 0.8, 0.0, 0.0)
            for i, d in enumerate(ds)]
    sizes = np.array([math.hypot(*a) for a in asks])
    assert sizes[29] == pytest.approx(15.0)  # steady at 15 deg: all of it
    after = sizes[30:]
    assert ds[32].share > 0.9  # still easing down two frames into the glance...
    assert after.max() == pytest.approx(ControlSettings().gaze_low_deg)  # ...but capped
    assert all(a[0] > 0 and a[1] < 0 for a in asks[30:] if math.hypot(*a) > 0)
    assert after[-1] == 0.0


def test_lids_lowered_to_a_slit_are_left_alone() -> None:
    """Reading with lowered lids can be a person's usual state (so the lids' opening against
    this person's own is no help): an opening of a tenth of the eye's width hides the iris,
    and the eyes are handed back; opened again, they are corrected again."""
    ctrl = FaceController(quiet(), 30)
    # The lids lower over half a second, stay, and rise again.
    aperture = lambda t: OPEN - (OPEN - 0.09) * min(max(t - 1.0, 0.0), 0.5, max(3.5 - t, 0.0)) / 0.5  # noqa: E731
    ts, ds = run(ctrl, 30, 4.5, lambda t: meas(t, 12.0, aperture=aperture(t)))
    share = np.array([d.share for d in ds])
    assert share[29] == pytest.approx(1.0)
    assert share[(ts > 2.0) & (ts < 3.0)].max() == 0.0
    assert ds[70].limited_by == "slit"
    assert share[-1] == pytest.approx(1.0)
    assert np.abs(np.diff(share)).max() <= 0.25  # eased, never a jump


# -- real blinks -------------------------------------------------------------------------------


def blink_aperture(t: float, at: float) -> float:
    """A real blink starting at ``at``: aperture OPEN -> 0.03 -> OPEN."""
    return blink_shape(t - at, close=0.08, shut=0.08, reopen=0.15)


def test_real_blink_fades_out_and_back_in_without_pops() -> None:
    ctrl = FaceController(quiet(), 30)
    ts, ds = run(ctrl, 30, 4.0, lambda t: meas(t, 5.0, aperture=blink_aperture(t, 2.0)))
    share = np.array([d.share for d in ds])
    states = [d.blink_state for d in ds]
    assert "real_blink" in states
    first = ts[states.index("real_blink")]
    assert 2.0 <= first <= 2.1  # detected while the lids close
    # Uncorrected (real eye shown) while the lids are shut.
    shut = (ts >= 2.15) & (ts <= 2.3)
    assert share[shut].max() <= 0.25
    # The fade-out is the fastest allowed move (150 ms: hidden by the closing lids), spread
    # over several frames; the fade back in after reopening is a normal, gentle one.
    fade = transitions(ts, share)
    assert len(fade) >= 3  # fade in at start, out at the blink, back in after it
    out, back = [r for r in fade if r[0] >= 1.9][:2]
    assert out[1] - out[0] >= 0.15 - 1e-9 and back[1] - back[0] >= 0.15 - 1e-9
    assert np.abs(np.diff(share)).max() <= 0.45
    assert np.abs(np.diff(share[ts >= back[0] - 1e-9])).max() <= 0.25
    assert back[0] >= 2.3  # held uncorrected until shortly after the eyes reopened
    assert share[-1] == 1.0  # back to full correction afterwards
    assert all(d.openness == {"right": 1.0, "left": 1.0} for d in ds)  # real lids kept as is
    assert ctrl.detector.events and 2.0 <= ctrl.detector.events[0].start_s <= 2.1


def test_slowly_lowered_lids_are_not_a_blink() -> None:
    ctrl = FaceController(quiet(), 30)

    def aperture(t: float) -> float:  # looking down: lids lower over 1.5 s and stay low
        return OPEN - (OPEN - 0.05) * min(max((t - 2.0) / 1.5, 0.0), 1.0)

    ts, ds = run(ctrl, 30, 6.0, lambda t: meas(t, 5.0, aperture=aperture(t)))
    assert all(d.blink_state == "open" for d in ds)
    assert not ctrl.detector.events
    # ... but eyes that are almost shut are not corrected (the iris can't be seen).
    assert ds[-1].share == 0.0 and ds[-1].limited_by == "lids"


# -- synthetic blinks --------------------------------------------------------------------------


def _synthetic_starts(ts: np.ndarray, ds: list[FaceDecision]) -> list[float]:
    starts, prev = [], "open"
    for t, d in zip(ts, ds):
        if d.blink_state == "synthetic_blink" and prev != "synthetic_blink":
            starts.append(float(t))
        prev = d.blink_state
    return starts


def test_blinks_off_never_synthesises() -> None:
    ctrl = FaceController(ControlSettings(blinks="off", seed=1), 30)
    _, ds = run(ctrl, 30, 30.0, lambda t: meas(t, 5.0))
    assert all(d.blink_state == "open" and d.openness["right"] == 1.0 for d in ds)


def test_blinks_always_synthesises_at_a_natural_rate() -> None:
    ctrl = FaceController(ControlSettings(blinks="always", seed=3), 30)
    ts, ds = run(ctrl, 30, 120.0, lambda t: meas(t, 5.0))
    starts = _synthetic_starts(ts, ds)
    assert 13 <= len(starts) / 2.0 <= 22  # per minute, over two minutes
    assert min(np.diff(starts)) >= 1.2 - 1e-6
    closed = [min(d.openness["right"], d.openness["left"]) for d in ds]
    assert min(closed) < 0.1  # the lids really close
    for d in ds:
        if d.blink_state == "synthetic_blink":
            assert d.openness["right"] == d.openness["left"] < 1.0
            assert d.share > 0.4  # only corrected eyes get synthetic blinks


def test_blinks_auto_waits_for_missing_real_blinks() -> None:
    ctrl = FaceController(ControlSettings(blinks="auto", seed=5), 30)
    real = [2.0, 5.0, 8.0, 11.0]  # real blinks every 3 s, then none (reading, lids lowered)

    def aperture(t: float) -> float:
        return min(blink_aperture(t, r) for r in real)

    ts, ds = run(ctrl, 30, 40.0, lambda t: meas(t, 5.0, aperture=aperture(t)))
    starts = _synthetic_starts(ts, ds)
    assert len(ctrl.detector.events) == 4
    assert starts, "no synthetic blinks after the real ones stopped"
    assert starts[0] >= 11.0 + 7.0  # none while real blinks are seen, then after ~7 s
    assert starts[0] <= 11.0 + 9.0
    assert 12 <= len(starts) * 60.0 / (40.0 - starts[0]) <= 24


def test_synthetic_blinks_are_deterministic_per_seed_and_face() -> None:
    def seq(seed: int, face_id: int = 0) -> list[float]:
        c = FaceController(ControlSettings(blinks="always", seed=seed), 30, face_id=face_id)
        ts, ds = run(c, 30, 20.0, lambda t: meas(t, 5.0))
        return _synthetic_starts(ts, ds)

    assert seq(11) == seq(11)
    assert seq(11) != seq(12)
    assert seq(11, 0) != seq(11, 1)  # two faces don't blink in sync


# -- look-aways --------------------------------------------------------------------------------


def test_look_away_bounded_mostly_centred_and_smooth() -> None:
    settings = ControlSettings(blinks="off", look_away=True, look_away_max_deg=4.0, seed=9)
    ctrl = FaceController(settings, 60)
    ts, ds = run(ctrl, 60, 120.0, lambda t: meas(t, 5.0))
    la = np.array([d.look_away for d in ds])
    mag = np.hypot(la[:, 0], la[:, 1])
    assert mag.max() <= 4.0 + 1e-9
    assert mag.max() > 1.5  # it does look away sometimes
    assert np.mean(mag < 1e-9) > 0.5  # ... but looks at the camera most of the time
    # Saccade-like moves: spread over >= 80 ms and never faster than a human saccade of that
    # size (~200 deg/s for the few degrees involved), so no teleporting.
    step = np.hypot(*np.diff(la, axis=0).T)
    assert step.max() * 60.0 <= 200.0
    moves = transitions(ts, la[:, 0] + 1.37 * la[:, 1], eps=1e-9)
    assert all(end - start >= 0.08 - 1e-9 for start, end in moves)
    # Glances are a few seconds apart.
    assert 10 <= len(moves) <= 80


def test_look_away_off_and_deterministic() -> None:
    ctrl = FaceController(ControlSettings(blinks="off", look_away=False, seed=1), 30)
    _, ds = run(ctrl, 30, 20.0, lambda t: meas(t, 5.0))
    assert all(d.look_away == (0.0, 0.0) for d in ds)
    a = LookAway(4.0, np.random.default_rng(3))
    b = LookAway(4.0, np.random.default_rng(3))
    for t in np.arange(0, 30, 1 / 30):
        assert a.update(float(t)) == b.update(float(t))


def test_controller_bank_keeps_one_controller_per_face() -> None:
    bank = ControllerBank(quiet(), 30)
    for i in range(30):
        t = i / 30
        d0 = bank.update(0, meas(t, 5.0))
        d1 = bank.update(1, meas(t, 40.0))
    assert d0.share == 1.0 and d1.share == 0.0


def test_instant_mode_for_single_images() -> None:
    ctrl = FaceController(ControlSettings(blinks="always", look_away=True, seed=0), 30)
    d = ctrl.update(meas(0.0, 25.0), instant=True)
    assert d.share == pytest.approx(0.5) and d.blink_state == "open"
    assert d.look_away == (0.0, 0.0) and d.openness == {"right": 1.0, "left": 1.0}
    d = ctrl.update(meas(10.0, 5.0), instant=True)  # next image, unrelated
    assert d.share == 1.0


def test_low_frame_rate_stream_is_not_treated_as_gaps() -> None:
    ctrl = FaceController(quiet(), fps_hint=4.0)
    ts, ds = run(ctrl, 4.0, 5.0, lambda t: meas(t, 5.0))
    assert ds[-1].share == 1.0


def test_settings_changed_while_running_take_effect_smoothly() -> None:
    settings = ControlSettings(blinks="off", look_away=True, look_away_max_deg=4.0, seed=9)
    ctrl = FaceController(settings, 60)
    ts, ds = run(ctrl, 60, 20.0, lambda t: meas(t, 5.0))
    # Switch look-aways off in the middle of a glance: the eyes come back, no jump.
    glancing = [t for t, d in zip(ts, ds) if math.hypot(*d.look_away) > 2.0]
    assert glancing
    t_off = glancing[len(glancing) // 2]
    ctrl2 = FaceController(ControlSettings(blinks="off", look_away=True, look_away_max_deg=4.0,
                                           seed=9), 60)
    out = []
    for t in ts:
        if t >= t_off:
            ctrl2.settings.look_away = False
            ctrl2.settings.blinks = "always"
        out.append(ctrl2.update(meas(float(t), 5.0)))
    la = np.array([d.look_away for d in out])
    assert np.hypot(*np.diff(la, axis=0).T).max() * 60.0 <= 200.0
    assert np.all(la[ts > t_off + 0.3] == 0.0)
    assert any(d.blink_state == "synthetic_blink" for d in out)


def test_the_face_offset_decides_where_both_eyes_show() -> None:
    """Per-eye offsets carry the vergence error; where the face's own offset is known and both
    eyes show, it sets the gaze criterion. With one eye hidden the per-eye offset does."""
    ctrl = FaceController(quiet(), 30)
    both = lambda t: FaceMeasurement(t, 0.0, 0.0, EyeMeasurement(28.0, True, OPEN),  # noqa: E731
                                     EyeMeasurement(28.0, True, OPEN), face_width_px=200.0,
                                     face_offset_deg=10.0)
    _, ds = run(ctrl, 30, 1.0, both)
    assert ds[-1].share == pytest.approx(1.0)
    ctrl = FaceController(quiet(), 30)
    one = lambda t: FaceMeasurement(t, 0.0, 0.0, EyeMeasurement(28.0, True, OPEN),  # noqa: E731
                                    EyeMeasurement(28.0, False, OPEN), face_width_px=200.0,
                                    face_offset_deg=10.0)
    _, ds = run(ctrl, 30, 1.0, one)
    assert ds[-1].share == pytest.approx(0.2, abs=1e-6)


@pytest.mark.parametrize("offset,need", [(0.5, 0.0), (2.0, 0.0), (3.5, 0.5), (5.0, 1.0), (12.0, 1.0)])
def test_gaze_already_at_the_camera_is_left_as_it_is(offset: float, need: float) -> None:
    """Within the cone of perceived eye contact nothing is corrected (the estimate's own error
    would be all that moves); the share stays full, so blinks and look-aways go on."""
    ctrl = FaceController(quiet())
    _, d = run(ctrl, 30.0, 1.0, lambda t: meas(t, offset))
    assert d[-1].share == pytest.approx(1.0)
    assert d[-1].need == pytest.approx(need)
    # The request: the needed part of the way to the camera (current 0, camera 10 here).
    dp, dy = d[-1].eye_request_angles("right", 0.0, 0.0, 10.0, 0.0)
    assert dp == pytest.approx(10.0 * need)
    assert dy == pytest.approx(0.0)


def test_settling_near_the_camera_is_continuous() -> None:
    """The corrected part of the offset grows without a jump as the gaze leaves the camera."""
    ctrl = FaceController(quiet())
    offsets = np.linspace(0.0, 8.0, 161)
    moved = []
    for k, off in enumerate(offsets):
        d = ctrl.update(meas(1.0 + k / 30.0, float(off)))
        moved.append(d.need * off)
    steps = np.abs(np.diff(moved))
    assert steps.max() < 0.2  # 0.05 deg of offset per frame: at most 4x that
    assert moved[0] == 0.0 and moved[-1] == pytest.approx(8.0, abs=0.2)
