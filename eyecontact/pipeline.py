"""The per-frame pipeline every front end uses (process, live, bench, tray).

frame -> landmarks -> geometry -> eye crops -> redirector -> compositing -> frame.
One ``Pipeline`` holds the long-lived pieces (landmarker, redirector session, per-face state)
and is fed frames in order; ``process`` never changes pixels outside the eye regions.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import geometry
from .compiled import warm_up
from .composite import composite_eyes
from .config import PipelineSettings
from .control import ControllerBank, FaceDecision, FaceMeasurement
from .eyecrop import EYE_LANDMARKS, eye_corners, eye_looks_visible, extract_eye
from .landmarks import FaceLandmarker
from .redirect import Redirector, load_redirector
from .redirect.analytic import AnalyticRedirector
from .smoothing import AnchoredPointFilter
from .types import EyeCrop, EyeGaze, EyeRequest, FaceLandmarks, FaceResult, FrameResult, HeadPose

log = logging.getLogger(__name__)

STAGES = ("landmarks", "geometry", "crop", "redirect", "composite")
ENABLE_RAMP_S = 0.2  # turning eye contact on/off fades over this long
MIN_EYE_WIDTH_PX = 8.0  # below this an eye has too few pixels to redirect
MAX_CORRECTION_DEG = 35.0  # never rotate an eye further than this


# The points the later stages read (head-pose model points, lids, irises): only these are
# smoothed, the rest of the mesh passes through as detected.
SMOOTHED_POINTS = np.array(sorted(
    set(geometry.MODEL_INDICES.tolist())
    | {i for spec in EYE_LANDMARKS.values() for key in ("upper", "lower", "iris_ring")
       for i in spec[key]}  # type: ignore[attr-defined]
    | {spec["iris_center"] for spec in EYE_LANDMARKS.values()}  # type: ignore[misc]
    | set(geometry.UPPER_LID_MID.values()) | set(geometry.LOWER_LID_MID.values())))


def _smoothing_groups() -> tuple[np.ndarray, list[np.ndarray]]:
    """Groups of SMOOTHED_POINTS for AnchoredPointFilter (positions in SMOOTHED_POINTS): each
    eye's lids and iris, anchored at its corners; the rest (head-pose points), at their mean."""
    position = {int(p): k for k, p in enumerate(SMOOTHED_POINTS)}
    groups = np.full(len(SMOOTHED_POINTS), len(EYE_LANDMARKS), np.int64)
    anchors = []
    for g, spec in enumerate(EYE_LANDMARKS.values()):
        members = [*spec["upper"], *spec["lower"], *spec["iris_ring"], spec["iris_center"]]  # type: ignore[misc]
        groups[[position[i] for i in members]] = g
        anchors.append(np.array([position[spec["upper"][0]], position[spec["upper"][-1]]]))  # type: ignore[index]
    anchors.append(np.flatnonzero(groups == len(EYE_LANDMARKS)))
    return groups, anchors


SMOOTHING_GROUPS = _smoothing_groups()


class FrameError(ValueError):
    """A frame the pipeline cannot take (wrong type or shape)."""


def as_rgb(frame: np.ndarray) -> np.ndarray:
    """Accept RGB, RGBA and grayscale uint8 frames; return contiguous RGB uint8."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise FrameError("frames must be uint8 numpy arrays")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    elif frame.ndim == 3 and frame.shape[2] == 1:
        frame = np.repeat(frame, 3, axis=2)
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 16 or frame.shape[1] < 16:
        raise FrameError(f"unsupported frame shape {frame.shape}")
    return np.ascontiguousarray(frame)


@dataclass
class FaceState:
    """What the pipeline remembers about one tracked face between frames."""

    pose: HeadPose | None = None
    smoother: AnchoredPointFilter | None = None  # landmark points, so a still face gives a still result
    last_seen_s: float = 0.0


@dataclass
class EyePlan:
    face_index: int
    crop: EyeCrop
    request: EyeRequest


@dataclass
class StageTimer:
    """Milliseconds spent in each stage on the last frame."""

    ms: dict[str, float] = field(default_factory=lambda: {s: 0.0 for s in STAGES})

    def reset(self) -> None:
        for s in STAGES:
            self.ms[s] = 0.0

    def add(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.ms[stage] += (now - start) * 1000.0
        return now


def _eye_in_frame(landmarks: FaceLandmarks, side: str) -> bool:
    a, b = eye_corners(landmarks, side)  # type: ignore[arg-type]
    w, h = landmarks.frame_size
    margin = 2.0
    return all(margin <= x < w - margin and margin <= y < h - margin for x, y in (a.tolist(), b.tolist()))


class Pipeline:
    def __init__(self, settings: PipelineSettings | None = None, redirector: Redirector | None = None,
                 landmarker: FaceLandmarker | None = None):
        self.settings = settings or PipelineSettings()
        self.redirector = redirector or load_redirector(
            self.settings.redirector, self.settings.model_path, self.settings.device)
        self.landmarker = landmarker or FaceLandmarker(
            max_faces=self.settings.max_faces, static_images=self.settings.static_images)
        seconds = warm_up()
        if seconds > 2.0:
            log.info("compiled the pixel kernels in %.1f s (cached for later runs)", seconds)
        self.timer = StageTimer()
        self.controllers = ControllerBank(self.settings.control)
        self._faces: dict[int, FaceState] = {}
        self._frame_index = 0
        self._enabled = True
        self._enable_level = 1.0
        self._last_time_s: float | None = None

    # -- controls used by live mode and the tray ---------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, on: bool) -> None:
        self._enabled = bool(on)

    def set_strength(self, strength: float) -> None:
        self.settings.strength = float(np.clip(strength, 0.0, 1.0))

    def set_blinks(self, mode: str) -> None:
        """off | auto | always; the controllers follow the shared settings on the next frame."""
        if mode not in ("off", "auto", "always"):
            raise ValueError(f"blinks must be off, auto or always, not {mode!r}")
        self.settings.control.blinks = mode

    def set_look_away(self, on: bool) -> None:
        self.settings.control.look_away = bool(on)

    @property
    def redirector_provider(self) -> str:
        return getattr(self.redirector, "provider", "numpy")

    def close(self) -> None:
        self.landmarker.close()

    # -- per frame ----------------------------------------------------------------------------
    def process(self, frame: np.ndarray, timestamp_s: float | None = None,
                in_place: bool = False) -> tuple[np.ndarray, FrameResult]:
        """Return the corrected copy of ``frame`` and what was decided for each face.

        ``in_place=True`` corrects the frame's own pixels and returns that array, saving a
        full-frame copy; for callers that own the frame and do not need the original.
        """
        frame = as_rgb(frame)
        index = self._frame_index
        self._frame_index += 1
        now_s = timestamp_s if timestamp_s is not None else index / 30.0
        dt = 0.0 if self._last_time_s is None else max(now_s - self._last_time_s, 0.0)
        self._last_time_s = now_s
        self._update_enable_level(dt)
        self.timer.reset()
        result = FrameResult(index=index)
        out = frame if in_place else frame.copy()

        t = time.perf_counter()
        faces = self.landmarker.detect(frame)
        t = self.timer.add("landmarks", t)

        plans: list[EyePlan] = []
        for face in faces:
            face_result, eye_plans, t = self._plan_face(frame, face, now_s, len(result.faces), t)
            result.faces.append(face_result)
            plans.extend(eye_plans)
        self._forget_lost_faces(now_s)

        if plans:
            redirected = self._redirect(plans)
            t = self.timer.add("redirect", t)
            composite_eyes(out, [p.crop for p in plans], redirected)
            self.timer.add("composite", t)
        return out, result

    def _redirect(self, plans: list[EyePlan]) -> list[np.ndarray]:
        crops, requests = [p.crop for p in plans], [p.request for p in plans]
        try:
            return self.redirector.redirect(crops, requests)
        except Exception as exc:  # a failing model must not end a stream: fall back for good
            if isinstance(self.redirector, AnalyticRedirector):
                raise
            log.warning("redirector %s failed (%s); switching to the analytic redirector",
                        getattr(self.redirector, "name", "?"), exc)
            self.redirector = AnalyticRedirector()
            return self.redirector.redirect(crops, requests)

    def _update_enable_level(self, dt: float) -> None:
        target = 1.0 if self._enabled else 0.0
        step = dt / ENABLE_RAMP_S if dt > 0 else 1.0 / 6.0
        if self._enable_level < target:
            self._enable_level = min(target, self._enable_level + step)
        else:
            self._enable_level = max(target, self._enable_level - step)

    def _forget_lost_faces(self, now_s: float) -> None:
        for face_id in [k for k, s in self._faces.items() if now_s - s.last_seen_s > 1.0]:
            del self._faces[face_id]

    def _smoothed(self, face: FaceLandmarks, state: FaceState, now_s: float) -> FaceLandmarks:
        if not self.settings.smoothing or self.settings.static_images:
            return face
        if state.smoother is None:
            state.smoother = AnchoredPointFilter(*SMOOTHING_GROUPS, face_width_px=face.width_px)
        points = face.points.copy()
        points[SMOOTHED_POINTS] = state.smoother(face.points[SMOOTHED_POINTS], now_s)
        return FaceLandmarks(points, face.depth, face.frame_size, face.face_id)

    def _plan_face(self, frame: np.ndarray, face: FaceLandmarks, now_s: float, face_index: int,
                   t: float) -> tuple[FaceResult, list[EyePlan], float]:
        state = self._faces.setdefault(face.face_id, FaceState())
        if now_s - state.last_seen_s > 0.5:  # face came back after a gap: start afresh
            state.smoother, state.pose = None, None
        state.last_seen_s = now_s
        face = self._smoothed(face, state, now_s)
        pose = geometry.estimate_head_pose(face, self.settings.focal_px, state.pose)
        state.pose = pose
        face_result = FaceResult(face_id=face.face_id, landmarks=face, pose=pose)
        sides = [s for s in ("right", "left") if _eye_in_frame(face, s)]
        eyes: dict[str, EyeGaze] = {}
        if pose is not None:
            eyes = {side: geometry.estimate_eye_gaze(face, side, pose) for side in sides}  # type: ignore[arg-type]
        face_result.eyes = eyes
        t = self.timer.add("geometry", t)
        crops: dict[str, EyeCrop] = {}
        for side, gaze in eyes.items():
            a, b = eye_corners(face, side)  # type: ignore[arg-type]
            if math.hypot(*(b - a)) >= MIN_EYE_WIDTH_PX:
                crops[side] = extract_eye(frame, face, side,  # type: ignore[arg-type]
                                          geometry.projected_eyeball_radius_px(gaze, pose.focal_px))  # type: ignore[union-attr]
        visible = {side: side in crops and eye_looks_visible(crops[side]) for side in eyes}
        t = self.timer.add("crop", t)

        measurement = FaceMeasurement.from_geometry(now_s, pose, eyes, face.width_px, visible=visible)
        decision = self.controllers.update(face.face_id, measurement, instant=self.settings.static_images)
        face_result.measurement, face_result.decision = measurement, decision
        face_result.blink_state = decision.blink_state
        scale = self.settings.strength * self._enable_level
        face_result.share = decision.share * scale
        if pose is None:
            face_result.skipped_reason = "head pose not found"
            return face_result, [], self.timer.add("geometry", t)
        if not eyes:
            face_result.skipped_reason = "eyes outside the frame"
            return face_result, [], self.timer.add("geometry", t)
        if not crops:
            face_result.skipped_reason = "face too small"
            return face_result, [], self.timer.add("geometry", t)

        # Both eyes turn by the face's one change of gaze (geometry.aim_angles) where the
        # controller judged the face by it, i.e. both eyes show; a covered eye gives no
        # trustworthy gaze, so then the other is aimed on its own.
        face_aim = geometry.face_gaze(eyes) if measurement.face_offset_deg is not None else None
        face_result.aim = face_aim
        plans: list[EyePlan] = []
        for side, crop in crops.items():
            openness = decision.openness.get(side, 1.0)
            if decision.eye_share.get(side, 0.0) * scale <= 0.0 and openness >= 1.0:
                continue  # nothing to do for this eye: the real eye passes through
            if not visible[side]:
                continue  # covered: never paint an eye over a hand
            plans.append(self._eye_plan(crop, face, side, eyes[side], face_aim, decision, scale, openness,
                                        face_index))
        face_result.corrected = bool(plans)
        return face_result, plans, self.timer.add("geometry", t)

    def _eye_plan(self, crop: EyeCrop, face: FaceLandmarks, side: str, gaze: EyeGaze,
                  face_aim: geometry.FaceGaze | None, decision: FaceDecision, scale: float, openness: float,
                  face_index: int) -> EyePlan:
        a, b = eye_corners(face, side)  # type: ignore[arg-type]
        roll = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        gp, gy, cp, cy = geometry.aim_angles(gaze, face_aim, roll)
        cp += self.settings.aim_offset_deg[0]
        cy += self.settings.aim_offset_deg[1]
        d_pitch, d_yaw = decision.eye_request_angles(side, gp, gy, cp, cy)
        d_pitch = min(max(d_pitch * scale, -MAX_CORRECTION_DEG), MAX_CORRECTION_DEG)
        d_yaw = min(max(d_yaw * scale, -MAX_CORRECTION_DEG), MAX_CORRECTION_DEG)
        return EyePlan(face_index, crop, EyeRequest(gp, gy, d_pitch, d_yaw, openness))
