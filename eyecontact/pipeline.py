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
from .composite import composite_eye
from .config import PipelineSettings
from .eyecrop import crop_affine, eye_corners, extract_eye
from .landmarks import FaceLandmarker
from .redirect import Redirector, load_redirector
from .types import EyeCrop, EyeGaze, EyeRequest, FaceLandmarks, FaceResult, FrameResult, HeadPose

log = logging.getLogger(__name__)

STAGES = ("landmarks", "geometry", "crop", "redirect", "composite")
ENABLE_RAMP_S = 0.2  # turning eye contact on/off fades over this long
MIN_EYE_WIDTH_PX = 8.0  # below this an eye has too few pixels to redirect
MAX_CORRECTION_DEG = 35.0  # never rotate an eye further than this


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
    controller: object | None = None
    last_seen_s: float = 0.0


@dataclass
class EyePlan:
    face_index: int
    crop: EyeCrop
    request: EyeRequest
    share: float


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
    return all(margin <= p[0] < w - margin and margin <= p[1] < h - margin for p in (a, b))


def target_share(pose: HeadPose, eyes: dict[str, EyeGaze], settings: PipelineSettings) -> float:
    """Share of the full correction wanted for this face from thresholds alone (no time)."""
    c = settings.control

    def ramp(value: float, low: float, high: float) -> float:
        if value <= low:
            return 1.0
        if value >= high:
            return 0.0
        return (high - value) / (high - low)

    offset = float(np.mean([e.offset_deg for e in eyes.values()]))
    return min(ramp(offset, c.gaze_low_deg, c.gaze_high_deg),
               ramp(abs(pose.pitch), c.head_pitch_low_deg, c.head_pitch_high_deg),
               ramp(abs(pose.yaw), c.head_yaw_low_deg, c.head_yaw_high_deg))


class Pipeline:
    def __init__(self, settings: PipelineSettings | None = None, redirector: Redirector | None = None,
                 landmarker: FaceLandmarker | None = None):
        self.settings = settings or PipelineSettings()
        self.redirector = redirector or load_redirector(
            self.settings.redirector, self.settings.model_path, self.settings.device)
        self.landmarker = landmarker or FaceLandmarker(
            max_faces=self.settings.max_faces, static_images=self.settings.static_images)
        self.timer = StageTimer()
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

    @property
    def redirector_provider(self) -> str:
        return getattr(self.redirector, "provider", "numpy")

    def close(self) -> None:
        self.landmarker.close()

    # -- per frame ----------------------------------------------------------------------------
    def process(self, frame: np.ndarray, timestamp_s: float | None = None) -> tuple[np.ndarray, FrameResult]:
        """Return the corrected copy of ``frame`` and what was decided for each face."""
        frame = as_rgb(frame)
        index = self._frame_index
        self._frame_index += 1
        now_s = timestamp_s if timestamp_s is not None else index / 30.0
        dt = 0.0 if self._last_time_s is None else max(now_s - self._last_time_s, 0.0)
        self._last_time_s = now_s
        self._update_enable_level(dt)
        self.timer.reset()
        result = FrameResult(index=index)
        out = frame.copy()

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
            redirected = self.redirector.redirect([p.crop for p in plans], [p.request for p in plans])
            t = self.timer.add("redirect", t)
            for plan, pixels in zip(plans, redirected):
                composite_eye(out, plan.crop, pixels, share=1.0)
            self.timer.add("composite", t)
        return out, result

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

    def _plan_face(self, frame: np.ndarray, face: FaceLandmarks, now_s: float, face_index: int,
                   t: float) -> tuple[FaceResult, list[EyePlan], float]:
        state = self._faces.setdefault(face.face_id, FaceState())
        state.last_seen_s = now_s
        pose = geometry.estimate_head_pose(face, self.settings.focal_px, state.pose)
        state.pose = pose
        face_result = FaceResult(face_id=face.face_id, landmarks=face, pose=pose)
        if pose is None:
            face_result.skipped_reason = "head pose not found"
            return face_result, [], self.timer.add("geometry", t)
        sides = [s for s in ("right", "left") if _eye_in_frame(face, s)]
        eyes = {side: geometry.estimate_eye_gaze(face, side, pose) for side in sides}  # type: ignore[arg-type]
        face_result.eyes = eyes
        t = self.timer.add("geometry", t)
        if not eyes:
            face_result.skipped_reason = "eyes outside the frame"
            return face_result, [], t
        share = target_share(pose, eyes, self.settings) * self.settings.strength * self._enable_level
        face_result.share = share
        if share <= 0.0:
            return face_result, [], t

        plans: list[EyePlan] = []
        for side, gaze in eyes.items():
            a, b = eye_corners(face, side)  # type: ignore[arg-type]
            if float(np.linalg.norm(b - a)) < MIN_EYE_WIDTH_PX:
                face_result.skipped_reason = "face too small"
                continue
            roll = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
            gp, gy, cp, cy = geometry.crop_frame_angles(gaze, roll)
            cp += self.settings.aim_offset_deg[0]
            cy += self.settings.aim_offset_deg[1]
            d_pitch = float(np.clip(cp - gp, -MAX_CORRECTION_DEG, MAX_CORRECTION_DEG)) * share
            d_yaw = float(np.clip(cy - gy, -MAX_CORRECTION_DEG, MAX_CORRECTION_DEG)) * share
            crop = extract_eye(frame, face, side, geometry.projected_eyeball_radius_px(gaze, pose.focal_px))  # type: ignore[arg-type]
            plans.append(EyePlan(face_index, crop, EyeRequest(gp, gy, d_pitch, d_yaw, 1.0), share))
        face_result.corrected = bool(plans)
        return face_result, plans, self.timer.add("crop", t)
