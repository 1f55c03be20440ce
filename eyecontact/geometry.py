"""Geometry: head pose, per-eye gaze and the change of gaze that makes the face look at the camera.

Head pose comes from solvePnP against a generic 3-D face (average adult proportions, mm). Gaze
uses an eyeball model: the eyeball centre sits EYEBALL_RADIUS_MM behind the midpoint of the eye
corners (along the head's forward axis), and the iris centre lies on a sphere of that radius,
so the ray through the detected iris pixel, cut with the sphere, gives the gaze direction.
"""

from __future__ import annotations

import math
from typing import Mapping

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
_MODEL_EYE_MID_T = {side: tuple(float(v) for v in mid) for side, mid in _MODEL_EYE_MID.items()}

UPPER_LID_MID = {"right": 159, "left": 386}
LOWER_LID_MID = {"right": 145, "left": 374}


def guess_focal_px(width: int, height: int) -> float:
    """Focal length of a typical webcam (about 65 deg horizontal field of view)."""
    return 0.8 * max(width, height)


def camera_matrix(focal_px: float, width: int, height: int) -> np.ndarray:
    return np.array([[focal_px, 0.0, width / 2.0], [0.0, focal_px, height / 2.0], [0.0, 0.0, 1.0]])


# Per-eye geometry works on plain (x, y, z) float tuples: for 3-vectors Python arithmetic costs
# a fraction of a numpy call, and this runs for every eye of every frame.
Vec3 = tuple[float, float, float]


def angles_of(v: np.ndarray | Vec3) -> tuple[float, float]:
    """(pitch, yaw) in degrees of a direction in camera coordinates (pitch > 0 = up)."""
    x, y, z = v.tolist() if isinstance(v, np.ndarray) else v
    norm = math.sqrt(x * x + y * y + z * z)
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -y / norm))))
    yaw = math.degrees(math.atan2(x, -z))
    return pitch, yaw


def _direction(pitch_deg: float, yaw_deg: float) -> Vec3:
    p, y = math.radians(pitch_deg), math.radians(yaw_deg)
    return math.cos(p) * math.sin(y), -math.sin(p), -math.cos(p) * math.cos(y)


def direction_from_angles(pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """Inverse of angles_of."""
    return np.array(_direction(pitch_deg, yaw_deg))


# Refining last frame's pose converges in a few Levenberg-Marquardt steps (4 steps land within
# 0.04 deg of the converged pose on real clips); a full solve (SQPnP, then refinement to
# convergence) is only needed for a new face or when the refinement lands badly.
_TRACK_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 4, 1e-7)
_REFINE_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 1e-7)
_RESOLVE_ERROR_PX = 2.0  # refine result this much worse than last frame's fit: solve afresh


def _solve_pose(image_points: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    ok, rvec, tvec = cv2.solvePnP(MODEL_POINTS, image_points, k, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return None
    return cv2.solvePnPRefineLM(MODEL_POINTS, image_points, k, None, rvec, tvec, criteria=_REFINE_CRITERIA)


def _reprojection_error(rotation: np.ndarray, tvec: np.ndarray, image_points: np.ndarray, f: float,
                        w: int, h: int) -> float:
    camera_points = MODEL_POINTS @ rotation.T + tvec[:, 0]
    projected = f * camera_points[:, :2] / camera_points[:, 2:3] + (w / 2.0, h / 2.0)
    residual = projected - image_points
    return math.sqrt(float(np.vdot(residual, residual)) / len(residual))  # RMS distance, px


def estimate_head_pose(landmarks: FaceLandmarks, focal_px: float | None = None,
                       previous: HeadPose | None = None) -> HeadPose | None:
    """Head pose by solvePnP; ``previous`` seeds the solver for steadier video results."""
    w, h = landmarks.frame_size
    f = focal_px or guess_focal_px(w, h)
    k = camera_matrix(f, w, h)
    image_points = landmarks.points[MODEL_INDICES].astype(np.float64)
    solved = None
    if previous is not None and previous.rvec is not None:
        rvec, tvec = cv2.solvePnPRefineLM(MODEL_POINTS, image_points, k, None, previous.rvec.copy(),
                                          previous.translation.reshape(3, 1).copy(),
                                          criteria=_TRACK_CRITERIA)
        if np.all(np.isfinite(tvec)) and tvec[2, 0] > 0:
            rotation, _ = cv2.Rodrigues(rvec)
            error = _reprojection_error(rotation, tvec, image_points, f, w, h)
            if error <= previous.reprojection_error_px + _RESOLVE_ERROR_PX:
                solved = rvec, tvec, rotation, error
    if solved is None:
        fresh = _solve_pose(image_points, k)
        if fresh is None:
            return None
        rvec, tvec = fresh
        if not np.all(np.isfinite(tvec)) or tvec[2, 0] <= 0:
            return None
        rotation, _ = cv2.Rodrigues(rvec)
        solved = rvec, tvec, rotation, _reprojection_error(rotation, tvec, image_points, f, w, h)
    rvec, tvec, rotation, error = solved
    forward = rotation @ HEAD_FORWARD
    pitch, yaw = angles_of(forward)
    x_axis = rotation[:, 0]
    roll = math.degrees(math.atan2(x_axis[1], x_axis[0]))
    return HeadPose(rotation=rotation, translation=tvec[:, 0].copy(), pitch=pitch, yaw=yaw,
                    roll=roll, focal_px=f, reprojection_error_px=error, rvec=rvec.copy())


def _pixel_ray(x_px: float, y_px: float, focal_px: float, width: int, height: int) -> Vec3:
    """Unit direction (camera coordinates) of the ray through a pixel."""
    x, y = (x_px - width / 2.0) / focal_px, (y_px - height / 2.0) / focal_px
    n = math.sqrt(x * x + y * y + 1.0)
    return x / n, y / n, 1.0 / n


def _eyeball_center(landmarks: FaceLandmarks, side: EyeSide, pose: HeadPose, rot: list[list[float]]) -> Vec3:
    w, h = landmarks.frame_size
    a, b = eye_corners(landmarks, side)
    mx, my, mz = _MODEL_EYE_MID_T[side]
    depth = rot[2][0] * mx + rot[2][1] * my + rot[2][2] * mz + float(pose.translation[2])
    rx, ry, rz = _pixel_ray(float(a[0] + b[0]) / 2.0, float(a[1] + b[1]) / 2.0, pose.focal_px, w, h)
    k = depth / rz
    # Head forward (0, 0, -1) and up (0, -1, 0) in camera coordinates are -R[:, 2] and -R[:, 1].
    return tuple(r * k - EYE_CENTER_RAISE_MM * row[1] + EYEBALL_RADIUS_MM * row[2]  # type: ignore[return-value]
                 for r, row in zip((rx, ry, rz), rot))


def eyeball_center(landmarks: FaceLandmarks, side: EyeSide, pose: HeadPose) -> np.ndarray:
    """Eyeball centre in camera coordinates (mm).

    The corner midpoint is placed on its own pixel's ray at the depth the head model predicts,
    so the person's real eye position counts rather than the generic model's, then moved back
    by the eyeball radius along the head's forward axis.
    """
    return np.array(_eyeball_center(landmarks, side, pose, pose.rotation.tolist()))


def eye_aperture(landmarks: FaceLandmarks, side: EyeSide) -> float:
    a, b = eye_corners(landmarks, side)
    up, lo = landmarks.points[UPPER_LID_MID[side]], landmarks.points[LOWER_LID_MID[side]]
    width = math.hypot(b[0] - a[0], b[1] - a[1])
    return math.hypot(float(up[0] - lo[0]), float(up[1] - lo[1])) / max(width, 1e-6)


def estimate_eye_gaze(landmarks: FaceLandmarks, side: EyeSide, pose: HeadPose) -> EyeGaze:
    w, h = landmarks.frame_size
    rot = pose.rotation.tolist()
    cx, cy, cz = _eyeball_center(landmarks, side, pose, rot)
    iris_x, iris_y = landmarks.points[EYE_LANDMARKS[side]["iris_center"]].tolist()  # type: ignore[index]
    dx, dy, dz = _pixel_ray(iris_x, iris_y, pose.focal_px, w, h)
    # Nearest intersection of the ray s*d with the sphere |x - centre| = r; when the ray misses
    # (noisy landmarks at extreme gaze) take its closest approach instead.
    dc = dx * cx + dy * cy + dz * cz
    cc = cx * cx + cy * cy + cz * cz
    disc = dc * dc - cc + EYEBALL_RADIUS_MM ** 2
    s = dc - math.sqrt(disc) if disc > 0 else dc
    gx, gy, gz = s * dx - cx, s * dy - cy, s * dz - cz
    n = math.sqrt(gx * gx + gy * gy + gz * gz)
    gaze = _expand_downward((gx / n, gy / n, gz / n), rot)
    c = -1.0 / math.sqrt(cc)
    to_camera = (cx * c, cy * c, cz * c)
    pitch, yaw = angles_of(gaze)
    cam_pitch, cam_yaw = angles_of(to_camera)
    return EyeGaze(side=side, eyeball_center=np.array((cx, cy, cz)), gaze=np.array(gaze),
                   to_camera=np.array(to_camera), pitch=pitch, yaw=yaw, camera_pitch=cam_pitch,
                   camera_yaw=cam_yaw, aperture=eye_aperture(landmarks, side))


def _expand_downward(gaze: Vec3, rot: list[list[float]]) -> Vec3:
    # Head frame (R^T g): looking along the face is (0, 0, -1).
    in_head = tuple(rot[0][i] * gaze[0] + rot[1][i] * gaze[1] + rot[2][i] * gaze[2] for i in range(3))
    pitch, yaw = angles_of(in_head)
    if pitch >= 0.0:
        return gaze
    d = _direction(max(pitch * DOWNWARD_GAIN, -80.0), yaw)
    return tuple(row[0] * d[0] + row[1] * d[1] + row[2] * d[2] for row in rot)  # type: ignore[return-value]


def projected_eyeball_radius_px(gaze: EyeGaze, focal_px: float) -> float:
    return focal_px * EYEBALL_RADIUS_MM / float(gaze.eyeball_center[2])


def rotate_about_view_axis(v: np.ndarray | Vec3, roll_deg: float) -> Vec3:
    """Express a camera-frame direction in a frame rolled by ``roll_deg`` (the eye-crop frame)."""
    r = math.radians(roll_deg)
    c, s = math.cos(r), math.sin(r)
    x, y, z = (float(u) for u in v)
    return c * x + s * y, -s * x + c * y, z


FaceGaze = tuple[Vec3, Vec3]  # (where the face looks, direction to the camera), unit-free


def face_gaze(eyes: Mapping[str, EyeGaze]) -> FaceGaze | None:
    """The face's gaze: the sum of both eyes' gaze directions, and the direction from between
    the eyeballs to the camera. None unless both eyes are known."""
    if len(eyes) < 2:
        return None
    right, left = eyes["right"], eyes["left"]
    gx, gy, gz = (right.gaze + left.gaze).tolist()
    cx, cy, cz = (-(right.eyeball_center + left.eyeball_center)).tolist()
    return (gx, gy, gz), (cx, cy, cz)


def face_offset_deg(face: FaceGaze) -> float:
    """Angle between the face's gaze and its direction to the camera, degrees."""
    (gx, gy, gz), (cx, cy, cz) = face
    norms = math.sqrt((gx * gx + gy * gy + gz * gz) * (cx * cx + cy * cy + cz * cz))
    c = (gx * cx + gy * cy + gz * cz) / norms
    return math.degrees(math.acos(min(max(c, -1.0), 1.0)))


def aim_angles(gaze: EyeGaze, face: FaceGaze | None, roll_deg: float = 0.0) -> tuple[float, float, float, float]:
    """(gaze pitch, gaze yaw, aim pitch, aim yaw) of one eye, degrees, in a frame rolled by
    ``roll_deg`` (the eye crop's frame; 0 for the camera frame).

    The aim is where this eye looks once the face looks into the camera: the eye turned by
    the change that takes the face's gaze onto its direction to the camera, so both eyes turn
    alike and keep the angle between them. Aiming each eye at the camera on its own would also
    change that angle by whatever the per-eye estimates get wrong (they read adults' eyes as
    diverging by 9-16 degrees on the development clips), which shows as crossed eyes. With
    one eye known (``face`` None) that eye is aimed at the camera itself.
    """
    if roll_deg == 0.0:  # the camera frame: the eye's own angles
        gp, gy = gaze.pitch, gaze.yaw
    else:
        gp, gy = angles_of(rotate_about_view_axis(gaze.gaze, roll_deg))
    if face is None:
        if roll_deg == 0.0:
            return gp, gy, gaze.camera_pitch, gaze.camera_yaw
        cp, cy = angles_of(rotate_about_view_axis(gaze.to_camera, roll_deg))
        return gp, gy, cp, cy
    fgp, fgy = angles_of(rotate_about_view_axis(face[0], roll_deg))
    fcp, fcy = angles_of(rotate_about_view_axis(face[1], roll_deg))
    return gp, gy, gp + (fcp - fgp), gy + (fcy - fgy)
