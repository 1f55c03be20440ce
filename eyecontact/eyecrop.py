"""Eye normalisation: one fixed-size crop per eye, aligned to the eye-corner axis.

The crop frame removes head roll and face scale, so the redirector (analytic or learned) always
sees an eye of the same size and orientation. It is also the frame the training renderer draws
in (eyecontact_train.render), so the constants below are the contract between the two.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .types import EyeCrop, EyeSide, FaceLandmarks

CROP_W = 64
CROP_H = 40
# Eye corners land on these crop x positions, on the horizontal centre line.
CORNER_X0 = 0.2 * CROP_W
CORNER_X1 = 0.8 * CROP_W
CORNER_Y = 0.5 * CROP_H

# Face-mesh indices, corner to corner along each lid (image-left corner first).
EYE_LANDMARKS: dict[str, dict[str, object]] = {
    "right": {  # subject's right eye: left in the image
        "upper": [33, 246, 161, 160, 159, 158, 157, 173, 133],
        "lower": [33, 7, 163, 144, 145, 153, 154, 155, 133],
        "iris_center": 468,
        "iris_ring": [469, 470, 471, 472],
    },
    "left": {
        "upper": [362, 398, 384, 385, 386, 387, 388, 466, 263],
        "lower": [362, 382, 381, 380, 374, 373, 390, 249, 263],
        "iris_center": 473,
        "iris_ring": [474, 475, 476, 477],
    },
}


_CORNERS = {side: [spec["upper"][0], spec["upper"][-1]] for side, spec in EYE_LANDMARKS.items()}  # type: ignore[index]
_ALL_CORNERS = _CORNERS["right"] + _CORNERS["left"]
# Points carried into the crop frame with one affine product: lid contour, iris ring, iris centre.
_CROP_POINTS = {
    side: np.array(spec["upper"][:-1] + spec["lower"][1:] + spec["iris_ring"] + [spec["iris_center"]])  # type: ignore[operator]
    for side, spec in EYE_LANDMARKS.items()
}


# The lid contour's 16 points run along the upper lid from the image-left corner, then along the
# lower lid from the left to the right corner (both lids left to right). As a polygon the
# opening needs one closed loop: the upper lid, then the lower lid backwards. (Filled in the
# stored order, the polygon crossed itself and left a wedge of the opening outside the mask.)
OPENING_LOOP = np.r_[0:8, 15:7:-1]


def opening_polygon(contour: np.ndarray) -> np.ndarray:
    """The eye opening as a simple closed polygon (for cv2.fillPoly) from a 16-point lid contour."""
    return contour[OPENING_LOOP]


def eye_corners(landmarks: FaceLandmarks, side: EyeSide) -> tuple[np.ndarray, np.ndarray]:
    """The two corners of one eye, image-left first."""
    # Every stage asks for the corners, several times per frame: compute all four once per
    # landmark set and keep them on it (like its cached bounding box).
    cached = landmarks.__dict__.get("_eye_corners")
    if cached is None:
        ra, rb, la, lb = landmarks.points[_ALL_CORNERS].astype(np.float64)
        cached = {"right": (ra, rb) if ra[0] <= rb[0] else (rb, ra),
                  "left": (la, lb) if la[0] <= lb[0] else (lb, la)}
        landmarks.__dict__["_eye_corners"] = cached
    return cached[side]


def lid_contour_px(landmarks: FaceLandmarks, side: EyeSide) -> np.ndarray:
    """16 points: upper lid corner->corner (first 8 incl. corner), lower lid (8), frame pixels."""
    spec = EYE_LANDMARKS[side]
    upper = landmarks.points[spec["upper"][:-1]]  # type: ignore[index]
    lower = landmarks.points[spec["lower"][1:]]  # type: ignore[index]
    return np.concatenate([upper, lower]).astype(np.float64)


def crop_affine(corner_a: np.ndarray, corner_b: np.ndarray) -> np.ndarray:
    """2x3 affine taking frame pixels to crop pixels so the corners land on the fixed spots."""
    (xa, ya), (xb, yb) = corner_a.tolist(), corner_b.tolist()
    ax, ay = xb - xa, yb - ya
    length = math.hypot(ax, ay)
    if length < 1e-6:
        raise ValueError("degenerate eye: corners coincide")
    scale = (CORNER_X1 - CORNER_X0) / length
    cos, sin = scale * ax / length, scale * ay / length
    # Rotation by -angle, then scale, then move the corner midpoint to the crop's eye centre.
    mx, my = (xa + xb) / 2.0, (ya + yb) / 2.0
    tx = (CORNER_X0 + CORNER_X1) / 2.0 - (cos * mx + sin * my)
    ty = CORNER_Y - (-sin * mx + cos * my)
    return np.array([[cos, sin, tx], [-sin, cos, ty]])


def invert_affine(m: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(m.astype(np.float64))


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def extract_eye(frame: np.ndarray, landmarks: FaceLandmarks, side: EyeSide,
                eyeball_radius_px: float) -> EyeCrop:
    """Resample one eye of ``frame`` into the crop frame.

    ``eyeball_radius_px`` is the projected eyeball rotation radius in frame pixels (from the
    geometry stage); it is carried into crop pixels for the redirector.
    """
    a, b = eye_corners(landmarks, side)
    to_crop = crop_affine(a, b)
    # Cubic, like the paste back (composite): bilinear both ways softened the eye visibly.
    pixels = cv2.warpAffine(frame, to_crop, (CROP_W, CROP_H), flags=cv2.INTER_CUBIC,
                            borderMode=cv2.BORDER_REPLICATE)
    scale = math.hypot(to_crop[0, 0], to_crop[0, 1])  # crop pixels per frame pixel
    pts = apply_affine(to_crop, landmarks.points[_CROP_POINTS[side]])
    ring, center = pts[16:20], pts[20]
    return EyeCrop(
        side=side,
        pixels=pixels,
        frame_to_crop=to_crop,
        crop_to_frame=invert_affine(to_crop),
        lid_contour=pts[:16],
        iris_center=center,
        iris_radius=float(np.hypot(*(ring - center).T).mean()),
        eyeball_radius=eyeball_radius_px * scale,
    )


MIN_OPENING_PX = 15  # below this the lids are (nearly) closed: visibility is left to the blink logic
VISIBLE_SPREAD = 16.0  # luminance spread (p90 - p10) below which the opening shows no eye
# A flat opening is only a cover when it is about as bright as the skin around it: lids lowered
# to look down also show a flat opening (lashes; spread 5-15 on real video), but one far darker
# than the skin (median 0.14-0.41 of it), while a hand or a finger matches the skin.
COVER_MIN_BRIGHTNESS = 0.6  # opening median / surrounding median, at or above which it is a cover


def eye_looks_visible(crop: EyeCrop) -> bool:
    """False when something covers the eye (a hand, a cup): the opening then shows one flat
    surface, about as bright as the skin around it, instead of iris against sclera. Face-mesh
    landmarks keep a plausible eye shape under an occluder, so the pixels have to tell."""
    mask = np.zeros((CROP_H, CROP_W), np.uint8)
    cv2.fillPoly(mask, [np.round(opening_polygon(crop.lid_contour)).astype(np.int32)], 1)
    if cv2.countNonZero(mask) < MIN_OPENING_PX:
        return True
    gray = cv2.cvtColor(crop.pixels, cv2.COLOR_RGB2GRAY)
    lum = gray[mask.view(bool)]
    n = len(lum) - 1
    k10, k50, k90 = int(0.1 * n), n // 2, int(0.9 * n)
    p10, p50, p90 = np.partition(lum, (k10, k50, k90))[[k10, k50, k90]]
    if float(p90) - float(p10) >= VISIBLE_SPREAD:
        return True
    surround = float(np.median(gray[mask == 0]))
    return float(p50) < COVER_MIN_BRIGHTNESS * surround
