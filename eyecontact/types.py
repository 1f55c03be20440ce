"""Typed records passed between the pipeline stages.

Conventions used everywhere in the package:
- frames are RGB ``uint8`` arrays of shape (H, W, 3);
- image coordinates are pixels, x to the right, y down;
- camera coordinates follow OpenCV: x right, y down, z away from the camera, millimetres;
- angles are degrees; pitch > 0 looks up, yaw > 0 looks towards the image's right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

EyeSide = Literal["right", "left"]  # the subject's own right / left (image left / right)


@dataclass(frozen=True)
class FaceLandmarks:
    """478 face-mesh points of one face in pixel coordinates (468..477 are the irises)."""

    points: np.ndarray  # (478, 2) float32, pixels
    depth: np.ndarray  # (478,) float32, relative depth in pixel units (MediaPipe z * width)
    frame_size: tuple[int, int]  # (width, height)
    face_id: int = 0  # stable across frames while the tracker keeps the face

    @cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        xs, ys = self.points[:, 0], self.points[:, 1]  # per column: cheaper than axis=0 reductions
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    @property
    def width_px(self) -> float:
        x0, _, x1, _ = self.bbox
        return x1 - x0


@dataclass(frozen=True)
class HeadPose:
    rotation: np.ndarray  # (3, 3) head -> camera
    translation: np.ndarray  # (3,) mm, head model origin in camera coordinates
    pitch: float  # degrees, > 0 head tilted up
    yaw: float  # degrees, > 0 head turned towards the image's right
    roll: float  # degrees
    focal_px: float
    reprojection_error_px: float
    rvec: np.ndarray | None = None  # Rodrigues vector of ``rotation``: seeds the next frame's solve


@dataclass(frozen=True)
class EyeGaze:
    """Gaze of one eye and the rotation that would make it look into the camera."""

    side: EyeSide
    eyeball_center: np.ndarray  # (3,) mm, camera coordinates
    gaze: np.ndarray  # (3,) unit vector, camera coordinates
    to_camera: np.ndarray  # (3,) unit vector from the eyeball centre to the camera
    pitch: float  # gaze angles in the camera frame, degrees
    yaw: float
    camera_pitch: float  # angles of the direction to the camera, degrees
    camera_yaw: float
    aperture: float  # lid opening / eye width (about 0.25-0.35 open, < 0.1 closed)

    @cached_property
    def offset_deg(self) -> float:
        """Angle between where the eye looks and the camera."""
        c = float(self.gaze @ self.to_camera)
        return math.degrees(math.acos(min(max(c, -1.0), 1.0)))


@dataclass(frozen=True)
class EyeCrop:
    """One eye resampled into the normalised crop frame (see eyecontact.eyecrop)."""

    side: EyeSide
    pixels: np.ndarray  # (CROP_H, CROP_W, 3) uint8
    frame_to_crop: np.ndarray  # (2, 3) affine, frame pixels -> crop pixels
    crop_to_frame: np.ndarray  # (2, 3) affine, crop pixels -> frame pixels
    lid_contour: np.ndarray  # (16, 2) crop pixels: 8 upper lid then 8 lower lid, corner to corner
    iris_center: np.ndarray  # (2,) crop pixels
    iris_radius: float  # crop pixels
    eyeball_radius: float  # crop pixels: iris shift per unit sine of rotation


@dataclass
class EyeRequest:
    """What the redirector is asked to do to one crop, in the crop's own frame."""

    current_pitch: float  # degrees, in the crop frame
    current_yaw: float
    delta_pitch: float  # wanted change, degrees
    delta_yaw: float
    openness: float = 1.0  # 1 = keep the lids as they are, 0 = closed (synthesised blink)


@dataclass
class FaceResult:
    """Everything the pipeline decided for one face in one frame (for reports and debugging)."""

    face_id: int
    landmarks: FaceLandmarks
    pose: HeadPose | None
    eyes: dict[str, EyeGaze] = field(default_factory=dict)
    share: float = 0.0  # share of the full correction that was applied, 0..1
    blink_state: str = "open"  # open | real_blink | synthetic_blink
    corrected: bool = False
    skipped_reason: str | None = None
    measurement: object | None = None  # control.FaceMeasurement fed to the controller
    decision: object | None = None  # control.FaceDecision it returned
    aim: object | None = None  # geometry.FaceGaze both eyes were turned by; None: each eye on its own


@dataclass
class FrameResult:
    index: int
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None
