"""How much gaze correction to apply to one face, frame by frame, so the result looks natural.

Per face and frame the pipeline hands a :class:`FaceMeasurement` to its :class:`FaceController`
and gets a :class:`FaceDecision` back. The controller

- computes a *target* share of the full correction from the thresholds in ControlSettings
  (1 below the low threshold, linear to 0 at the high one, the most limiting criterion wins),
  with hysteresis so a gaze sitting on a threshold does not make the share flutter;
- moves the *applied* share toward the target at human speed: every change is a smooth
  minimum-jerk move lasting 150-300 ms, never a jump from one frame to the next;
- fades the correction out quickly during real blinks and long lid closures, so a corrected
  eye is never held open, and back in after the eyes reopen;
- adds synthetic blinks and small look-aways when the settings ask for them.

Everything runs on timestamps, not frame counts, so it behaves the same at any frame rate.

Per frame, for each face (``bank = ControllerBank(settings.control, fps)`` once)::

    m = FaceMeasurement.from_geometry(t, pose, eyes, landmarks.width_px, confidence)
    d = bank.update(landmarks.face_id, m)
    aim = face_gaze(eyes)
    for side, gaze in eyes.items():
        gp, gy, cp, cy = aim_angles(gaze, aim, roll)        # angles in the crop's frame
        dp, dy = d.eye_request_angles(side, gp, gy, cp, cy)  # share and look-away applied
        EyeRequest(gp, gy, dp * strength, dy * strength, openness=d.openness[side])

An eye whose eye_share is 0 and openness 1 needs no redirection at all (pass it through).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Mapping

import numpy as np

from . import geometry
from .blinks import BlinkDetector, BlinkDetectorParams, BlinkSynthesizer, LidObservation
from .config import ControlSettings

BlinkState = Literal["open", "real_blink", "synthetic_blink"]
SIDES = ("right", "left")


# --------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EyeMeasurement:
    """One eye as measured this frame."""

    offset_deg: float  # angle between the eye's gaze and the direction to the camera
    visible: bool = True  # in the frame, not occluded, landmarks usable
    aperture: float | None = None  # lid opening / eye width (EyeGaze.aperture); None = unknown


@dataclass(frozen=True)
class FaceMeasurement:
    """Everything the controller needs about one face in one frame (no MediaPipe types)."""

    timestamp_s: float  # capture time of the frame, seconds (monotonic within a stream)
    head_pitch: float  # degrees, 0 = facing the camera
    head_yaw: float
    right: EyeMeasurement  # the subject's right eye
    left: EyeMeasurement
    confidence: float = 1.0  # landmark confidence 0..1
    face_width_px: float = math.inf
    # The face's gaze against its direction to the camera (geometry.face_offset_deg), when
    # both eyes are measured and visible: what the correction turns onto the camera.
    face_offset_deg: float | None = None

    def eye(self, side: str) -> EyeMeasurement:
        return self.right if side == "right" else self.left

    @property
    def face_level(self) -> bool:
        """Is the face judged by its own offset (both eyes show and it was measured)?"""
        return self.face_offset_deg is not None and self.right.visible and self.left.visible

    @property
    def gaze_offset_deg(self) -> float | None:
        """One gaze offset from the camera for the face, degrees (None: no visible eye). Both
        eyes then get the same share and never differ. The face's own offset where both eyes
        show: the per-eye offsets also carry the error of the angle between the eyes (read as
        diverging by 9-16 deg), which is not corrected."""
        if self.face_level:
            return self.face_offset_deg
        visible = [e for e in (self.right, self.left) if e.visible]
        return sum(e.offset_deg for e in visible) / len(visible) if visible else None

    @classmethod
    def from_geometry(cls, timestamp_s: float, pose: object | None, eyes: Mapping[str, object],
                      face_width_px: float, confidence: float = 1.0,
                      visible: Mapping[str, bool] | None = None) -> "FaceMeasurement":
        """Build from the pipeline's records: ``pose`` a types.HeadPose (or None when the pose
        failed: then the head criterion can't be checked and the face is not corrected),
        ``eyes`` side -> types.EyeGaze for the eyes that were measured (a missing side counts
        as not visible), ``visible`` optional extra per-side visibility (e.g. crop in frame)."""
        def eye(side: str) -> EyeMeasurement:
            g = eyes.get(side)
            if g is None:
                return EyeMeasurement(offset_deg=math.inf, visible=False)
            vis = True if visible is None else bool(visible.get(side, True))
            return EyeMeasurement(float(g.offset_deg), vis,  # type: ignore[attr-defined]
                                  float(g.aperture))  # type: ignore[attr-defined]

        if pose is None:
            pitch = yaw = math.inf  # unknown head pose: the head criterion gives 0
        else:
            pitch, yaw = float(pose.pitch), float(pose.yaw)  # type: ignore[attr-defined]
        right, left = eye("right"), eye("left")
        face = geometry.face_gaze(eyes) if right.visible and left.visible else None  # type: ignore[arg-type]
        return cls(timestamp_s, pitch, yaw, right, left, confidence, face_width_px,
                   None if face is None else geometry.face_offset_deg(face))


@dataclass
class FaceDecision:
    """What to do with one face this frame."""

    share: float  # applied share of the full correction for the face, 0..1
    eye_share: dict[str, float]  # per eye: the face share, or 0 for an eye that isn't visible
    openness: dict[str, float]  # per eye lid openness for EyeRequest (1 = as is, <1 = blink)
    look_away: tuple[float, float]  # (delta pitch, delta yaw) degrees to add to the target
    blink_state: BlinkState
    target_share: float  # where the share is heading (after hysteresis and blink handling)
    limited_by: str  # the criterion that set the target: "none", "gaze", "head_pitch", ...
    lids: str = "open"  # detector phase: open | blink | closed (lids kept low or shut)
    factors: dict[str, float] = field(default_factory=dict)  # every criterion's share, 0..1
    # Share of the gaze's offset from the camera that is worth correcting this frame: 0 when
    # it already reads as eye contact (ControlSettings.settle_*), 1 from a few degrees out.
    # Unlike ``share`` it is not eased: it is a smooth function of the (smoothed) offset.
    need: float = 1.0
    # The largest rotation asked of an eye, degrees. The applied share eases down over
    # 0.15-0.3 s when the gaze leaves the corrected range, and a fast glance gets 30-65 deg
    # away meanwhile: at nearly full share the warp then dragged an eye from its corner, which
    # no warp renders cleanly. In steady use no ask exceeds the gaze range's low end, so this
    # cap (set to it) only bounds those transitions.
    max_correction_deg: float = math.inf

    def eye_request_angles(self, side: str, current_pitch: float, current_yaw: float,
                           camera_pitch: float, camera_yaw: float) -> tuple[float, float]:
        """(delta_pitch, delta_yaw) for this eye: the applied share of the rotation from where
        it looks to the camera direction shifted by the look-away offset, at most
        ``max_correction_deg`` in size (the same direction)."""
        s = self.eye_share.get(side, 0.0)
        dp, dy = self.look_away
        n = self.need
        pitch, yaw = s * (n * (camera_pitch - current_pitch) + dp), s * (n * (camera_yaw - current_yaw) + dy)
        size = math.hypot(pitch, yaw)
        if size > self.max_correction_deg:
            pitch, yaw = pitch * self.max_correction_deg / size, yaw * self.max_correction_deg / size
        return pitch, yaw


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def ramp_down(x: float, low: float, high: float) -> float:
    """1 at or below ``low``, 0 at or above ``high``, linear between."""
    if not math.isfinite(x):
        return 0.0
    if high <= low:
        return 1.0 if x < high else 0.0
    return float(min(max((high - x) / (high - low), 0.0), 1.0))


class Backlash:
    """Hysteresis for a continuous value (the "play" operator).

    The output follows the input only once it is more than half the width away, then trails it
    by exactly that. Noise smaller than the width leaves the output still, and a value that
    crossed a threshold must come back by the width before the decision turns round.
    """

    def __init__(self, width: float) -> None:
        self.half = width / 2.0
        self.value: float | None = None

    def reset(self) -> None:
        self.value = None

    def __call__(self, x: float) -> float:
        if not math.isfinite(x):
            self.value = None  # unknown now; start afresh when it comes back
            return x
        if self.value is None:
            self.value = x
        else:
            self.value = min(max(self.value, x - self.half), x + self.half)
        return self.value


class EasedShare:
    """A value in 0..1 that moves to its target with minimum-jerk (quintic) moves.

    Each move lasts ``min_s + (max_s - min_s) * |change|``: small corrections still take
    150 ms, the full swing 300 ms, with zero speed and acceleration at both ends. A target that
    changes mid-move starts a new move from the current value *and speed*, so the path stays
    smooth.
    """

    def __init__(self, value: float = 0.0, min_s: float = 0.15, max_s: float = 0.30,
                 retarget_eps: float = 0.02) -> None:
        self.min_s, self.max_s, self.eps = min_s, max_s, retarget_eps
        self.reset(value)

    def reset(self, value: float = 0.0) -> None:
        self._p0 = self._p1 = float(value)
        self._v0 = 0.0
        self._t0 = 0.0
        self._dur = 0.0
        self.target = float(value)

    def _coeffs(self) -> tuple[float, float, float, float, float, float]:
        # Quintic on u in 0..1 with p(0)=p0, p'(0)=v0*dur, p''(0)=0, p(1)=p1, p'(1)=p''(1)=0.
        d = self._p1 - self._p0
        v = self._v0 * self._dur
        return (self._p0, v, 0.0, 10 * d - 6 * v, -15 * d + 8 * v, 6 * d - 3 * v)

    def _eval(self, t: float) -> tuple[float, float]:
        if self._dur <= 0.0 or t >= self._t0 + self._dur:
            return self._p1, 0.0
        u = max((t - self._t0) / self._dur, 0.0)
        c = self._coeffs()
        p = c[0] + u * (c[1] + u * (c[2] + u * (c[3] + u * (c[4] + u * c[5]))))
        dp = c[1] + u * (2 * c[2] + u * (3 * c[3] + u * (4 * c[4] + u * 5 * c[5])))
        return p, dp / self._dur

    def duration_for(self, change: float) -> float:
        return self.min_s + (self.max_s - self.min_s) * min(abs(change), 1.0)

    def set_target(self, target: float, t: float, duration_s: float | None = None) -> None:
        target = float(min(max(target, 0.0), 1.0))
        if abs(target - self._p1) < self.eps and not (target in (0.0, 1.0) and target != self._p1):
            return  # tiny changes are ignored so a drifting target doesn't restart moves
        p, v = self._eval(t)
        self._p0, self._v0, self._p1, self._t0 = p, v, target, t
        self._dur = duration_s if duration_s is not None else self.duration_for(target - p)
        self._dur = max(self._dur, self.min_s)  # never faster than the minimum
        self.target = target

    def value(self, t: float) -> float:
        return float(min(max(self._eval(t)[0], 0.0), 1.0))


def _min_jerk(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * u * (10 - 15 * u + 6 * u * u)


@dataclass(frozen=True)
class LookAwayParams:
    centre_hold_s: tuple[float, float] = (2.0, 6.0)  # time spent looking at the camera
    glance_hold_s: tuple[float, float] = (0.5, 1.6)  # time spent on a glance aside
    return_probability: float = 0.8  # after a glance, usually come back to the camera
    min_saccade_s: float = 0.08  # small saccades are ~40 ms; slower renders more cleanly
    saccade_s_per_deg: float = 0.003


class LookAway:
    """Small, occasional glances away from the camera, like a person in conversation.

    Holds on the camera for a few seconds, glances by up to ``max_deg`` (mostly sideways,
    sometimes down, seldom up) for about a second, and usually comes back. Transitions are
    minimum-jerk "saccades" scaled with amplitude. Deterministic for a given generator.
    """

    def __init__(self, max_deg: float, rng: np.random.Generator,
                 params: LookAwayParams | None = None) -> None:
        self.max_deg = max(float(max_deg), 0.0)
        self.rng = rng
        self.params = params or LookAwayParams()
        self._from = (0.0, 0.0)
        self._to = (0.0, 0.0)
        self._t0 = 0.0
        self._dur = 0.0
        self._next: float | None = None
        self._last_t: float | None = None

    def _pick_glance(self) -> tuple[float, float]:
        amp = self.max_deg * float(self.rng.uniform(0.4, 1.0))
        # Horizontal glances dominate; vertical ones are smaller and mostly downward.
        ang = float(self.rng.normal(0.0, 0.5)) + (math.pi if self.rng.random() < 0.5 else 0.0)
        yaw = amp * math.cos(ang)
        pitch = amp * math.sin(ang) * 0.6 - (0.25 * amp if self.rng.random() < 0.3 else 0.0)
        r = math.hypot(pitch, yaw)
        if r > self.max_deg > 0:
            pitch, yaw = pitch * self.max_deg / r, yaw * self.max_deg / r
        return (pitch, yaw)

    def _current(self, t: float) -> tuple[float, float]:
        if self._dur <= 0:
            return self._to
        k = _min_jerk((t - self._t0) / self._dur)
        return (self._from[0] + k * (self._to[0] - self._from[0]),
                self._from[1] + k * (self._to[1] - self._from[1]))

    def update(self, t: float) -> tuple[float, float]:
        """(delta pitch, delta yaw) in degrees at time t."""
        p = self.params
        if self._last_t is None or t < self._last_t:
            self._from = self._to = (0.0, 0.0)
            self._dur = 0.0
            self._next = t + float(self.rng.uniform(*p.centre_hold_s))
        self._last_t = t
        assert self._next is not None
        if self.max_deg <= 0:
            # Switched off (or never on): come back to the camera smoothly, then stay.
            if self._to != (0.0, 0.0):
                self._saccade(t, (0.0, 0.0))
            self._next = t + p.centre_hold_s[0]
            return self._current(t)
        if t >= self._next:
            at_centre = self._to == (0.0, 0.0)
            if at_centre or self.rng.random() >= p.return_probability:
                new, hold = self._pick_glance(), float(self.rng.uniform(*p.glance_hold_s))
            else:
                new, hold = (0.0, 0.0), float(self.rng.uniform(*p.centre_hold_s))
            self._saccade(t, new)
            self._next = t + self._dur + hold
        return self._current(t)

    def _saccade(self, t: float, new: tuple[float, float]) -> None:
        """Start a move from wherever the eyes are now; bigger moves take a little longer."""
        p = self.params
        cur = self._current(t)
        amp = math.hypot(new[0] - cur[0], new[1] - cur[1])
        self._from, self._to, self._t0 = cur, new, t
        self._dur = max(p.min_saccade_s, 0.025 + p.saccade_s_per_deg * amp)


# --------------------------------------------------------------------------------------------
# The controller
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControllerTuning:
    """Fixed behaviour constants (not user settings)."""

    gaze_hysteresis_deg: float = 4.0  # the gaze must move back 4 deg before the share turns
    head_hysteresis_deg: float = 3.0
    min_confidence: float = 0.5  # no correction below, full from min_confidence + 0.15
    confidence_hysteresis: float = 0.06
    face_width_band: float = 1.25  # full correction from 1.25 x the minimum face width
    face_width_hysteresis: float = 0.08  # relative
    lid_low: float = 0.30  # relative lid opening (1 = this person's open eye): no correction
    lid_high: float = 0.45  # ... full correction from here (lids too low hide the iris)
    lid_hysteresis: float = 0.08
    # The lids' opening itself (opening / eye width, mean of the visible eyes; ~0.3 open): a
    # slit hides the iris whatever this person's usual opening, and lids lowered that far over
    # a far-down look (0.10-0.14 on two development clips, where reading with lowered lids is
    # the person's usual state) came out as a dark slot with a flat patch of iris colour.
    slit_low: float = 0.10  # no correction at or below
    slit_high: float = 0.15  # full correction from here
    slit_hysteresis: float = 0.02
    ramp_min_s: float = 0.15  # every share change takes at least this long
    ramp_max_s: float = 0.30  # ... and the full swing this long
    blink_ramp_s: float = 0.15  # fade out on a real blink: as fast as allowed
    blink_hold_s: float = 0.15  # stay uncorrected this long after a real blink reopens
    max_gap_s: float = 0.5  # a longer gap between frames restarts the face from uncorrected
    synth_min_share: float = 0.5  # synthesise blinks only on eyes corrected at least this much


class FaceController:
    """Decides, per frame, how much correction one face gets. One instance per tracked face."""

    def __init__(self, settings: ControlSettings, fps_hint: float = 30.0, face_id: int = 0,
                 tuning: ControllerTuning | None = None,
                 blink_params: BlinkDetectorParams | None = None) -> None:
        self.settings = settings
        self.fps_hint = fps_hint
        self.tuning = tu = tuning or ControllerTuning()
        # Independent streams so enabling look-aways doesn't change blink timing, and two
        # faces don't blink in sync.
        seq = np.random.SeedSequence(None if settings.seed is None else [settings.seed, face_id])
        blink_seq, look_seq = seq.spawn(2)
        self.detector = BlinkDetector(blink_params)
        self.synth = BlinkSynthesizer(settings.blinks, np.random.default_rng(blink_seq), fps_hint)
        self.look_away = LookAway(settings.look_away_max_deg if settings.look_away else 0.0,
                                  np.random.default_rng(look_seq))
        self.share = EasedShare(0.0, tu.ramp_min_s, tu.ramp_max_s)
        self._gaze = Backlash(tu.gaze_hysteresis_deg)
        self._pitch = Backlash(tu.head_hysteresis_deg)
        self._yaw = Backlash(tu.head_hysteresis_deg)
        self._conf = Backlash(tu.confidence_hysteresis)
        self._width = Backlash(tu.face_width_hysteresis)
        self._lid = Backlash(tu.lid_hysteresis)
        self._slit = Backlash(tu.slit_hysteresis)
        self._last_t: float | None = None
        self._hold_until = -math.inf

    def reset(self) -> None:
        """Forget the transient state (share, hysteresis); keep the lid baseline."""
        self.share.reset(0.0)
        for b in (self._gaze, self._pitch, self._yaw, self._conf, self._width, self._lid, self._slit):
            b.reset()
        self._hold_until = -math.inf

    def _follow_settings(self) -> None:
        """Settings can change while running (live mode): pick up blink and look-away changes.
        Thresholds are read from the settings on every frame anyway."""
        s = self.settings
        if s.blinks != self.synth.mode:
            self.synth.set_mode(s.blinks)
        want = s.look_away_max_deg if s.look_away else 0.0
        if want != self.look_away.max_deg:
            self.look_away.max_deg = max(float(want), 0.0)

    # -- criteria ---------------------------------------------------------------------------

    def _factors(self, m: FaceMeasurement, offset: float | None, lids: LidObservation) -> dict[str, float]:
        s, tu = self.settings, self.tuning
        if offset is None:
            return {"no_visible_eye": 0.0}
        f = {
            "gaze": ramp_down(self._gaze(offset), s.gaze_low_deg, s.gaze_high_deg),
            "head_pitch": ramp_down(self._pitch(abs(m.head_pitch)), s.head_pitch_low_deg,
                                    s.head_pitch_high_deg),
            "head_yaw": ramp_down(self._yaw(abs(m.head_yaw)), s.head_yaw_low_deg,
                                  s.head_yaw_high_deg),
            "confidence": 1.0 - ramp_down(self._conf(m.confidence), tu.min_confidence,
                                          tu.min_confidence + 0.15),
        }
        if s.min_face_width_px > 0:
            rel = m.face_width_px / s.min_face_width_px
            f["face_size"] = 1.0 - ramp_down(self._width(rel), 1.0, tu.face_width_band)
        if lids.openness is not None:
            f["lids"] = 1.0 - ramp_down(self._lid(lids.openness), tu.lid_low, tu.lid_high)
        apertures = [e.aperture for e in (m.right, m.left) if e.visible and e.aperture is not None]
        if apertures:
            opening = self._slit(sum(apertures) / len(apertures))
            f["slit"] = 1.0 - ramp_down(opening, tu.slit_low, tu.slit_high)
        return f

    # -- per frame --------------------------------------------------------------------------

    def update(self, m: FaceMeasurement, instant: bool = False) -> FaceDecision:
        """Decide for one frame. ``instant``: for single images or frames out of sequence,
        apply the target share at once, with no blinks or look-aways (nothing to animate)."""
        t = float(m.timestamp_s)
        tu = self.tuning
        # At very low frame rates consecutive frames are far apart but still one stream.
        max_gap = max(tu.max_gap_s, 3.0 / max(self.fps_hint, 1e-3))
        if self._last_t is None or t < self._last_t or t - self._last_t > max_gap:
            # New face, time reset, or the face was missing (and so shown uncorrected) for a
            # while: fade in from uncorrected rather than popping back to the old share.
            self.reset()
        self._last_t = t
        self._follow_settings()

        lids = self.detector.update(t, {side: (m.eye(side).aperture if m.eye(side).visible
                                               else None) for side in SIDES})
        offset = m.gaze_offset_deg
        factors = self._factors(m, offset, lids)
        limited_by = min(factors, key=lambda k: factors[k])
        target = factors[limited_by]
        if target >= 1.0:
            limited_by = "none"

        # Real blinks: fade out as fast as allowed while the lids close, keep the real eye
        # until shortly after it reopened, then fade back in at the normal pace.
        blink_state: BlinkState = "open"
        duration: float | None = None
        if lids.blink_started:
            self.synth.note_real_blink(t)
        if lids.phase == "blink":
            blink_state = "real_blink"
            target, limited_by, duration = 0.0, "real_blink", tu.blink_ramp_s
            self._hold_until = t + tu.blink_hold_s
        elif lids.blink_ended is not None:
            self._hold_until = t + tu.blink_hold_s
        if t < self._hold_until and lids.phase != "blink":
            blink_state = "real_blink"
            target, limited_by, duration = 0.0, "real_blink", tu.blink_ramp_s
        if instant:
            self.share.reset(target)
        else:
            self.share.set_target(target, t, duration)
        share = self.share.value(t)

        # Synthetic blinks: only on eyes we are correcting and whose real lids are open.
        synth_ok = (share >= tu.synth_min_share and lids.phase == "open"
                    and blink_state == "open")
        synth_open = 1.0 if instant else self.synth.update(t, allowed=synth_ok)
        if synth_open < 1.0 and blink_state == "open":
            blink_state = "synthetic_blink"
        else:
            synth_open = 1.0

        look = (0.0, 0.0) if instant else self.look_away.update(t)
        need = 1.0 if offset is None else 1.0 - ramp_down(offset, self.settings.settle_low_deg,
                                                          self.settings.settle_high_deg)
        eye_share = {side: (share if m.eye(side).visible else 0.0) for side in SIDES}
        openness = {side: (synth_open if m.eye(side).visible else 1.0) for side in SIDES}
        return FaceDecision(
            share=share,
            eye_share=eye_share,
            openness=openness,
            look_away=look,
            blink_state=blink_state,
            target_share=self.share.target,
            limited_by=limited_by,
            lids=lids.phase,
            factors=factors,
            need=need,
            max_correction_deg=self.settings.gaze_low_deg,
        )


class ControllerBank:
    """One FaceController per face id, created on first sight and dropped when stale."""

    def __init__(self, settings: ControlSettings, fps_hint: float = 30.0,
                 forget_after_s: float = 5.0) -> None:
        self.settings = settings
        self.fps_hint = fps_hint
        self.forget_after_s = forget_after_s
        self._faces: dict[int, tuple[FaceController, float]] = {}

    def update(self, face_id: int, m: FaceMeasurement, instant: bool = False) -> FaceDecision:
        entry = self._faces.get(face_id)
        ctrl = entry[0] if entry else FaceController(self.settings, self.fps_hint, face_id)
        self._faces[face_id] = (ctrl, m.timestamp_s)
        for fid, (_, last) in list(self._faces.items()):
            if m.timestamp_s - last > self.forget_after_s or m.timestamp_s < last - 1.0:
                if fid != face_id:
                    del self._faces[fid]
        return ctrl.update(m, instant=instant)
