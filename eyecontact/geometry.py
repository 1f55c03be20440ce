"""Geometry: head pose, per-eye gaze and the rotation that makes each eye look at the camera.

Head pose comes from solvePnP against a generic 3-D face (average adult proportions, mm). Gaze
uses an eyeball model: the eyeball centre sits EYEBALL_RADIUS_MM behind the midpoint of the eye
corners (along the head's forward axis), and the iris centre lies on a sphere of that radius,
so the ray through the detected iris pixel, cut with the sphere, gives the gaze direction.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .eyecrop import EYE_LANDMARKS, eye_corners
from .types import EyeGaze, EyeSide, FaceLandmarks, HeadPose

EYEBALL_RADIUS_MM = 10.5  # eyeball centre to iris centre (rotation radius of the iris)
# The face mesh's iris centre sits above the line through its eye-corner points when a person
# looks straight ahead; measured against an independent gaze estimator on real clips, a centre
# this far above the corner midpoint removes most of the resulting upward bias.
EYE_CENTER_RAISE_MM = 2.5
# Looking down, the upper lid covers the top of the iris and the face mesh's iris centre rides
# up with the visible part, so downward eye rotations (relative to the head) come out
# compressed; on real clips, against an independent estimator, this gain restores most of it.
DOWNWARD_GAIN = 1.5

# Generic face, head coordinates in mm: x to the image right, y down, z away from the camera,
# for a face looking straight into the camera. Keys are face-mesh indices.
FACE_MODEL_MM: dict[int, tuple[float, float, float]] = {
    33: (-45.0, 0.0, 12.0),  # right eye, outer corner
    133: (-15.0, 0.0, 2.0),  # right eye, inner corner
    362: (15.0, 0.0, 2.0),  # left eye, inner corner
    263: (45.0, 0.0, 12.0),  # left eye, outer corner
    1: (0.0, 47.0, -20.0),  # nose tip
    168: (0.0, -4.0, -6.0),  # nose bridge between the eyes
    61: (-25.0, 75.0, 2.0),  # mouth corners
    291: (25.0, 75.0, 2.0),
    152: (0.0, 118.0, 6.0),  # chin
    234: (-72.0, 20.0, 75.0),  # face outline beside the eyes
    454: (72.0, 20.0, 75.0),
}
MODEL_INDICES = np.array(list(FACE_MODEL_MM), dtype=np.int64)
MODEL_POINTS = np.array(list(FACE_MODEL_MM.values()), dtype=np.float64)
HEAD_FORWARD = np.array([0.0, 0.0, -1.0])  # the way the face looks, head coordinates
HEAD_UP = np.array([0.0, -1.0, 0.0])
# Midpoint of each eye's corners in the generic face.
_MODEL_EYE_MID = {
    "right": (np.array(FACE_MODEL_MM[133]) + np.array(FACE_MODEL_MM[33])) / 2.0,
    "left": (np.array(FACE_MODEL_MM[362]) + np.array(FACE_MODEL_MM[263])) / 2.0,
}

UPPER_LID_MID = {"right": 159, "left": 386}
LOWER_LID_MID = {"right": 145, "left": 374}


def guess_focal_px(width: int, height: int) -> float:
    """Focal length of a typical webcam (about 65 deg horizontal field of view)."""
    return 0.8 * max(width, height)


def camera_matrix(focal_px: float, width: int, height: int) -> np.ndarray:
    return np.array([[focal_px, 0.0, width / 2.0], [0.0, focal_px, height / 2.0], [0.0, 0.0, 1.0]])


def angles_of(v: np.ndarray) -> tuple[float, float]:
    """(pitch, yaw) in degrees of a direction in camera coordinates (pitch > 0 = up)."""
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    norm = math.sqrt(x * x + y * y + z * z)
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -y / norm))))
    yaw = math.degrees(math.atan2(x, -z))
    return pitch, yaw


def inverse_camera_matrix(focal_px: float, width: int, height: int) -> np.ndarray:
    f_inv = 1.0 / focal_px
    return np.array([[f_inv, 0.0, -width / 2.0 * f_inv], [0.0, f_inv, -height / 2.0 * f_inv], [0.0, 0.0, 1.0]])


def direction_from_angles(pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """Inverse of angles_of."""
    p, y = math.radians(pitch_deg), math.radians(yaw_deg)
    return np.array([math.cos(p) * math.sin(y), -math.sin(p), -math.cos(p) * math.cos(y)])


def estimate_head_pose(landmarks: FaceLandmarks, focal_px: float | None = None,
                       previous: HeadPose | None = None) -> HeadPose | None:
    """Head pose by solvePnP; ``previous`` seeds the solver for steadier video results."""
    w, h = landmarks.frame_size
    f = focal_px or guess_focal_px(w, h)
    k = camera_matrix(f, w, h)
    image_points = landmarks.points[MODEL_INDICES].astype(np.float64)
    if previous is not None and previous.rvec is not None:
        ok, rvec, tvec = cv2.solvePnP(MODEL_POINTS, image_points, k, None, previous.rvec.copy(),
                                      previous.translation.reshape(3, 1).copy(),
                                      useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    else:
        ok, rvec, tvec = cv2.solvePnP(MODEL_POINTS, image_points, k, None,
                                      flags=cv2.SOLVEPNP_SQPNP)
        if ok:
            rvec, tvec = cv2.solvePnPRefineLM(MODEL_POINTS, image_points, k, None, rvec, tvec)
    if not ok or not np.all(np.isfinite(tvec)) or tvec[2, 0] <= 0:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    camera_points = MODEL_POINTS @ rotation.T + tvec[:, 0]
    projected = f * camera_points[:, :2] / camera_points[:, 2:3] + (w / 2.0, h / 2.0)
    error = float(np.sqrt(np.mean(np.sum((projected - image_points) ** 2, axis=1))))
    forward = rotation @ HEAD_FORWARD
    pitch, yaw = angles_of(forward)
    x_axis = rotation[:, 0]
    roll = math.degrees(math.atan2(x_axis[1], x_axis[0]))
    return HeadPose(rotation=rotation, translation=tvec[:, 0].copy(), pitch=pitch, yaw=yaw,
                    roll=roll, focal_px=f, reprojection_error_px=error, rvec=rvec.copy())


def _ray(k_inv: np.ndarray, pixel: np.ndarray) -> np.ndarray:
    d = k_inv @ np.array([pixel[0], pixel[1], 1.0])
    return d / np.linalg.norm(d)


def eyeball_center(landmarks: FaceLandmarks, side: EyeSide, pose: HeadPose) -> np.ndarray:
    """Eyeball centre in camera coordinates (mm).

    The corner midpoint is placed on its own pixel's ray at the depth the head model predicts,
    so the person's real eye position counts rather than the generic model's, then moved back
    by the eyeball radius along the head's forward axis.
    """
    w, h = landmarks.frame_size
    k_inv = inverse_camera_matrix(pose.focal_px, w, h)
    a, b = eye_corners(landmarks, side)
    model_mid = _MODEL_EYE_MID[side]
    depth = float((pose.rotation @ model_mid + pose.translation)[2])
    ray = _ray(k_inv, (a + b) / 2.0)
    corner_mid = ray * (depth / ray[2])
    forward = pose.rotation @ HEAD_FORWARD
    up = pose.rotation @ HEAD_UP
    return corner_mid + EYE_CENTER_RAISE_MM * up - EYEBALL_RADIUS_MM * forward


def eye_aperture(landmarks: FaceLandmarks, side: EyeSide) -> float:
    a, b = eye_corners(landmarks, side)
    width = float(np.linalg.norm(b - a))
    gap = float(np.linalg.norm(landmarks.points[UPPER_LID_MID[side]] - landmarks.points[LOWER_LID_MID[side]]))
    return gap / max(width, 1e-6)


def estimate_eye_gaze(landmarks: FaceLandmarks, side: EyeSide, pose: HeadPose) -> EyeGaze:
    w, h = landmarks.frame_size
    k_inv = inverse_camera_matrix(pose.focal_px, w, h)
    centre = eyeball_center(landmarks, side, pose)
    iris_px = landmarks.points[EYE_LANDMARKS[side]["iris_center"]].astype(np.float64)  # type: ignore[index]
    d = _ray(k_inv, iris_px)
    # Nearest intersection of the ray s*d with the sphere |x - centre| = r; when the ray misses
    # (noisy landmarks at extreme gaze) take its closest approach instead.
    dc = float(d @ centre)
    disc = dc * dc - float(centre @ centre) + EYEBALL_RADIUS_MM ** 2
    s = dc - math.sqrt(disc) if disc > 0 else dc
    gaze = s * d - centre
    gaze /= np.linalg.norm(gaze)
    gaze = _expand_downward(gaze, pose.rotation)
    to_camera = -centre / np.linalg.norm(centre)
    pitch, yaw = angles_of(gaze)
    cam_pitch, cam_yaw = angles_of(to_camera)
    return EyeGaze(side=side, eyeball_center=centre, gaze=gaze, to_camera=to_camera, pitch=pitch,
                   yaw=yaw, camera_pitch=cam_pitch, camera_yaw=cam_yaw,
                   aperture=eye_aperture(landmarks, side))


def _expand_downward(gaze: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    in_head = rotation.T @ gaze  # head frame: looking along the face is (0, 0, -1)
    pitch, yaw = angles_of(in_head)
    if pitch >= 0.0:
        return gaze
    return rotation @ direction_from_angles(max(pitch * DOWNWARD_GAIN, -80.0), yaw)


def projected_eyeball_radius_px(gaze: EyeGaze, focal_px: float) -> float:
    return focal_px * EYEBALL_RADIUS_MM / float(gaze.eyeball_center[2])


def rotate_about_view_axis(v: np.ndarray, roll_deg: float) -> np.ndarray:
    """Express a camera-frame direction in a frame rolled by ``roll_deg`` (the eye-crop frame)."""
    r = math.radians(roll_deg)
    c, s = math.cos(r), math.sin(r)
    return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2]])


def crop_frame_angles(gaze: EyeGaze, crop_roll_deg: float) -> tuple[float, float, float, float]:
    """(gaze pitch, gaze yaw, camera pitch, camera yaw) in the eye crop's rolled frame."""
    gp, gy = angles_of(rotate_about_view_axis(gaze.gaze, crop_roll_deg))
    cp, cy = angles_of(rotate_about_view_axis(gaze.to_camera, crop_roll_deg))
    return gp, gy, cp, cy
