"""Debug overlay: eye landmarks, gaze arrows before/after, applied share and blink state.

Frames are RGB, so colours below are (R, G, B).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

BEFORE = (255, 70, 70)  # real gaze
AFTER = (60, 230, 90)  # gaze as shown after correction
LIDS = (255, 220, 0)
IRIS = (0, 200, 255)
STATE_TEXT = {"open": (255, 255, 255), "real_blink": (255, 120, 120),
              "synthetic_blink": (120, 180, 255)}


@dataclass
class EyeDebug:
    side: str
    contour: np.ndarray  # (N, 2) the opening's outline as one loop, frame pixels
    iris_center: np.ndarray | None = None  # (2,) frame pixels
    iris_radius: float | None = None
    gaze_before: tuple[float, float] | None = None  # (pitch, yaw) degrees, camera frame
    gaze_after: tuple[float, float] | None = None
    openness: float = 1.0


@dataclass
class FaceDebugInfo:
    eyes: list[EyeDebug] = field(default_factory=list)
    share: float = 0.0
    blink_state: str = "open"
    target_share: float | None = None
    limited_by: str | None = None
    anchor: tuple[float, float] | None = None  # where the text goes (face bbox top-left)
    face_id: int = 0


def debug_info_from(landmarks: Any, eyes: Mapping[str, Any], decision: Any | None,
                    face_id: int = 0, aim: Any | None = None) -> FaceDebugInfo:
    """Build the overlay record from pipeline objects: types.FaceLandmarks, side -> EyeGaze,
    control.FaceDecision (None when the face was not processed), and the geometry.FaceGaze
    the pipeline turned both eyes by (FaceResult.aim; None: each eye aimed on its own)."""
    from . import geometry
    from .eyecrop import EYE_LANDMARKS, lid_contour_px, opening_polygon

    info = FaceDebugInfo(face_id=face_id)
    x0, y0, _, _ = landmarks.bbox
    info.anchor = (x0, y0)
    if decision is not None:
        info.share = float(decision.share)
        info.blink_state = decision.blink_state
        info.target_share = float(decision.target_share)
        info.limited_by = decision.limited_by
    for side in ("right", "left"):
        spec = EYE_LANDMARKS[side]
        pts = landmarks.points
        ring = pts[spec["iris_ring"]].astype(np.float64)  # type: ignore[index]
        centre = pts[spec["iris_center"]].astype(np.float64)  # type: ignore[index]
        outline = opening_polygon(lid_contour_px(landmarks, side))
        eye = EyeDebug(side=side, contour=outline, iris_center=centre,
                       iris_radius=float(np.mean(np.linalg.norm(ring - centre, axis=1))))
        g = eyes.get(side)
        if g is not None:
            eye.gaze_before = (float(g.pitch), float(g.yaw))
            if decision is not None:
                dp, dy = decision.eye_request_angles(side, *geometry.aim_angles(g, aim))
                eye.gaze_after = (float(g.pitch + dp), float(g.yaw + dy))
                eye.openness = float(decision.openness.get(side, 1.0))
        info.eyes.append(eye)
    return info


def _arrow(frame: np.ndarray, origin: np.ndarray, angles: tuple[float, float], length: float,
           colour: tuple[int, int, int], thickness: int) -> None:
    pitch, yaw = (math.radians(a) for a in angles)
    # Projection of the gaze direction: yaw > 0 to the image's right, pitch > 0 up.
    d = np.array([math.sin(yaw) * math.cos(pitch), -math.sin(pitch)]) * length
    p0 = tuple(int(round(v)) for v in origin)
    p1 = tuple(int(round(v)) for v in origin + d)
    if p0 == p1:
        cv2.circle(frame, p0, max(thickness, 2), colour, -1, cv2.LINE_AA)
    else:
        cv2.arrowedLine(frame, p0, p1, colour, thickness, cv2.LINE_AA, tipLength=0.25)


def _text(frame: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int],
          scale: float) -> None:
    # Dark outline first so the text reads on any background.
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def draw_debug(frame_rgb: np.ndarray, faces: Sequence[FaceDebugInfo],
               copy: bool = True) -> np.ndarray:
    """Draw the overlay for every face; returns the frame (a copy unless copy=False)."""
    out = frame_rgb.copy() if copy else frame_rgb
    h, w = out.shape[:2]
    scale = max(0.4, min(w, h) / 1000.0)
    thick = max(1, int(round(min(w, h) / 500.0)))
    for face in faces:
        eye_w = 30.0
        for eye in face.eyes:
            c = np.asarray(eye.contour, dtype=np.float64)
            if len(c) >= 2:
                eye_w = max(float(np.ptp(c[:, 0])), 1.0)
                cv2.polylines(out, [np.round(c).astype(np.int32).reshape(-1, 1, 2)], True, LIDS,
                              thick, cv2.LINE_AA)
            if eye.iris_center is None:
                continue
            centre = np.asarray(eye.iris_center, dtype=np.float64)
            if eye.iris_radius:
                cv2.circle(out, tuple(int(round(v)) for v in centre),
                           max(int(round(eye.iris_radius)), 1), IRIS, thick, cv2.LINE_AA)
            length = 2.5 * eye_w
            if eye.gaze_before is not None:
                _arrow(out, centre, eye.gaze_before, length, BEFORE, thick + 1)
            if eye.gaze_after is not None:
                _arrow(out, centre, eye.gaze_after, length, AFTER, thick)
        if face.anchor is not None:
            x, y = int(face.anchor[0]), int(face.anchor[1])
        else:
            x, y = 10, 10
        line_h = int(28 * scale) + 4
        y = max(y - 2 * line_h, line_h)
        x = min(max(x, 4), max(w - int(260 * scale), 4))
        share_txt = f"face {face.face_id} share {face.share:.2f}"
        if face.target_share is not None:
            share_txt += f" -> {face.target_share:.2f}"
        _text(out, share_txt, (x, y), (255, 255, 255), scale)
        state = face.blink_state
        extra = (f"  (limited by {face.limited_by})"
                 if face.limited_by and face.limited_by not in ("none", state) else "")
        _text(out, f"{state}{extra}", (x, y + line_h), STATE_TEXT.get(state, (255, 255, 255)),
              scale)
    return out
