"""Geometry against synthetic poses with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eyecontact import geometry
from eyecontact.geometry import (EYEBALL_RADIUS_MM, FACE_MODEL_MM, MODEL_POINTS, angles_of,
                                 camera_matrix, direction_from_angles)
from eyecontact.types import FaceLandmarks

W, H = 1280, 720
F = geometry.guess_focal_px(W, H)
K = camera_matrix(F, W, H)


def rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Head rotation whose forward axis has the given (pitch, yaw) and whose x axis has ``roll``."""
    p, y, r = (math.radians(v) for v in (pitch, yaw, roll))
    # Build: roll about the view axis, then pitch about x, then yaw about y (camera frame).
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    return ry @ rx @ rz


def project(points: np.ndarray) -> np.ndarray:
    uvw = (K @ points.T).T
    return uvw[:, :2] / uvw[:, 2:3]


def synthetic_face(rot: np.ndarray, t: np.ndarray, iris_dirs: dict[str, np.ndarray] | None = None) -> FaceLandmarks:
    pts = np.zeros((478, 2), np.float32)
    cam = (rot @ MODEL_POINTS.T).T + t
    pts[list(FACE_MODEL_MM)] = project(cam)
    face = FaceLandmarks(points=pts, depth=np.zeros(478, np.float32), frame_size=(W, H))
    if iris_dirs:
        pose = geometry.estimate_head_pose(face)
        for side, idx in (("right", 468), ("left", 473)):
            centre = geometry.eyeball_center(face, side, pose)
            pts[idx] = project((centre + EYEBALL_RADIUS_MM * iris_dirs[side])[None])[0]
    return face


@pytest.mark.parametrize("pitch,yaw,roll", [(0, 0, 0), (10, -20, 5), (-15, 25, -8), (5, 35, 12)])
def test_head_pose_recovers_known_pose(pitch, yaw, roll):
    rot = rotation(pitch, yaw, roll)
    fwd = rot @ geometry.HEAD_FORWARD
    want_pitch, want_yaw = angles_of(fwd)
    pose = geometry.estimate_head_pose(synthetic_face(rot, np.array([30.0, -20.0, 600.0])))
    assert pose is not None
    assert pose.pitch == pytest.approx(want_pitch, abs=0.3)
    assert pose.yaw == pytest.approx(want_yaw, abs=0.3)
    assert pose.reprojection_error_px < 0.05
    assert np.allclose(pose.translation, [30.0, -20.0, 600.0], atol=1.0)


def test_angles_round_trip():
    for p, y in [(0, 0), (12, -30), (-40, 10)]:
        assert angles_of(direction_from_angles(p, y)) == pytest.approx((p, y), abs=1e-9)


def compressed_downward(rot: np.ndarray, pitch: float, yaw: float) -> np.ndarray:
    """Where the face mesh puts the iris of an eye looking (pitch, yaw): downward rotation
    relative to the head is seen compressed by DOWNWARD_GAIN (see geometry)."""
    in_head = rot.T @ direction_from_angles(pitch, yaw)
    p, y = angles_of(in_head)
    if p < 0:
        p /= geometry.DOWNWARD_GAIN
    return rot @ direction_from_angles(p, y)


@pytest.mark.parametrize("gaze_pitch,gaze_yaw", [(0, 0), (-15, 0), (10, 20), (-20, -25)])
def test_eye_gaze_recovers_known_direction(gaze_pitch, gaze_yaw):
    rot = rotation(5, -10, 3)
    direction = compressed_downward(rot, gaze_pitch, gaze_yaw)
    face = synthetic_face(rot, np.array([0.0, 0.0, 550.0]), {"right": direction, "left": direction})
    pose = geometry.estimate_head_pose(face)
    for side in ("right", "left"):
        g = geometry.estimate_eye_gaze(face, side, pose)
        assert g.pitch == pytest.approx(gaze_pitch, abs=0.5)
        assert g.yaw == pytest.approx(gaze_yaw, abs=0.5)


def test_eye_looking_at_camera_has_no_offset():
    rot = rotation(0, 15, 0)
    t = np.array([40.0, 10.0, 600.0])
    face = synthetic_face(rot, t)
    pose = geometry.estimate_head_pose(face)
    dirs = {s: -geometry.eyeball_center(face, s, pose) for s in ("right", "left")}
    dirs = {s: d / np.linalg.norm(d) for s, d in dirs.items()}
    face = synthetic_face(rot, t, dirs)
    for side in ("right", "left"):
        g = geometry.estimate_eye_gaze(face, side, pose)
        assert g.offset_deg < 0.5


def test_crop_frame_angles_remove_roll():
    """A vector rolled with the crop has the same crop-frame angles as the unrolled one."""
    v = direction_from_angles(-10.0, 5.0)
    r = math.radians(20.0)
    rolled = np.array([math.cos(r) * v[0] - math.sin(r) * v[1], math.sin(r) * v[0] + math.cos(r) * v[1], v[2]])
    assert angles_of(geometry.rotate_about_view_axis(rolled, 20.0)) == pytest.approx((-10.0, 5.0), abs=1e-6)


def test_tracked_pose_follows_a_moving_head_like_a_fresh_solve():
    """Video frames refine last frame's pose in a few steps; over a head turning 3 degrees per
    frame (fast for a video call) and a jump of 40 degrees, the result matches a full solve."""
    t = np.array([10.0, 0.0, 550.0])
    previous = None
    angles = [(0.0, -30.0 + 3.0 * i, 0.2 * i) for i in range(20)] + [(20.0, 10.0, 0.0)]
    for pitch, yaw, roll in angles:
        face = synthetic_face(rotation(pitch, yaw, roll), t)
        tracked = geometry.estimate_head_pose(face, previous=previous)
        fresh = geometry.estimate_head_pose(face)
        assert tracked is not None and fresh is not None
        assert tracked.pitch == pytest.approx(fresh.pitch, abs=0.05)
        assert tracked.yaw == pytest.approx(fresh.yaw, abs=0.05)
        assert tracked.reprojection_error_px < 0.05
        previous = tracked


def eye_looking(side: str, centre_mm: tuple[float, float, float], pitch: float, yaw: float) -> "geometry.EyeGaze":
    """An EyeGaze with its eyeball at ``centre_mm`` looking along (pitch, yaw)."""
    from eyecontact.types import EyeGaze
    c = np.array(centre_mm, float)
    gaze = np.array(direction_from_angles(pitch, yaw))
    to_cam = -c / np.linalg.norm(c)
    cp, cy = angles_of(to_cam)
    return EyeGaze(side=side, eyeball_center=c, gaze=gaze, to_camera=to_cam, pitch=pitch, yaw=yaw,
                   camera_pitch=cp, camera_yaw=cy, aperture=0.3)  # type: ignore[arg-type]


def test_face_aim_turns_both_eyes_alike_and_keeps_their_angle():
    """A face 600 mm in front of the camera looking 12 deg below it, its per-eye estimates
    diverging by +-6 deg: both eyes turn up by the face's 12 deg and keep their 12 deg apart;
    aimed on their own, each would go to the camera and the angle between them would change."""
    right = eye_looking("right", (-32.0, 0.0, 600.0), -12.0, -6.0)
    left = eye_looking("left", (32.0, 0.0, 600.0), -12.0, 6.0)
    face = geometry.face_gaze({"right": right, "left": left})
    assert geometry.face_offset_deg(face) == pytest.approx(12.0, abs=0.1)  # the mean of +-6 deg yaws: 12.06
    aims = {e.side: geometry.aim_angles(e, face) for e in (right, left)}
    for gp, gy, ap, ay in aims.values():
        assert ap - gp == pytest.approx(12.0, abs=0.1)
        assert ay - gy == pytest.approx(0.0, abs=0.1)
    assert aims["left"][3] - aims["right"][3] == pytest.approx(12.0, abs=0.1)  # angle kept
    # In a rolled crop frame the same change reads rolled, the same size.
    gp, gy, ap, ay = geometry.aim_angles(right, face, 30.0)
    assert math.hypot(ap - gp, ay - gy) == pytest.approx(12.0, abs=0.2)
    # With one eye, that eye is aimed at the camera itself.
    gp, gy, ap, ay = geometry.aim_angles(right, None)
    assert (ap, ay) == pytest.approx((right.camera_pitch, right.camera_yaw))
    assert geometry.face_gaze({"right": right}) is None
