"""Compositing: put redirected eye crops back into the frame.

Each crop is warped back with the inverse of its crop affine, inside a feathered eye-region
mask, and only where the redirector actually changed the crop. Pixels outside the eye region
(or anywhere the crop is unchanged) keep their exact input values.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .eyecrop import CROP_H, CROP_W, CORNER_X0, CORNER_X1, CORNER_Y
from .types import EyeCrop


def _eye_region_mask() -> np.ndarray:
    """Crop-space mask: an ellipse over the eye opening and upper-lid band, feathered, zero at
    the crop border."""
    mask = np.zeros((CROP_H, CROP_W), np.float32)
    half_w = (CORNER_X1 - CORNER_X0) / 2.0
    center = (int(round((CORNER_X0 + CORNER_X1) / 2.0)), int(round(CORNER_Y - 0.06 * CROP_H)))
    axes = (int(round(half_w * 1.12)), int(round(0.36 * CROP_H)))
    cv2.ellipse(mask, center, axes, 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 2.0)
    border = np.ones_like(mask)
    border[:2, :] = border[-2:, :] = 0
    border[:, :2] = border[:, -2:] = 0
    return mask * border


EYE_REGION_MASK = _eye_region_mask()
CHANGE_FULL = 6.0  # a crop pixel changed by this much (0..255) is taken fully from the redirector


_CROP_CORNERS = ((0.0, 0.0), (float(CROP_W), 0.0), (0.0, float(CROP_H)), (float(CROP_W), float(CROP_H)))
_DILATE = np.ones((3, 3), np.uint8)
_SEAM_ROWS = 6  # more than the weight smoothing reaches (blur radius 4, dilation 1)


def change_weights(eyes: Sequence[EyeCrop], redirected: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Per crop, the blend weight (0..1, float32, crop size): where the redirector changed the
    crop, smoothed, inside the eye region; None where nothing changed. All crops are stacked
    and weighed in one pass (at crop size an array operation costs mostly its fixed overhead),
    with rows of zeros between them so the smoothing never carries one crop's change into the
    next."""
    n = len(eyes)
    if n == 0:
        return []
    before = eyes[0].pixels if n == 1 else np.concatenate([e.pixels for e in eyes])
    after = redirected[0] if n == 1 else np.concatenate(redirected)
    diff = cv2.absdiff(after, before)
    # Largest change over the three channels, per pixel (per-channel max: numpy's max(axis=2)
    # costs over ten times more at this size).
    r, g, b = cv2.split(diff)
    change = cv2.max(cv2.max(r, g), b)
    if cv2.countNonZero(change) == 0:
        return [None] * n
    spaced = np.zeros((n, CROP_H + _SEAM_ROWS, CROP_W), np.float32)
    spaced[:, :CROP_H] = change.reshape(n, CROP_H, CROP_W)
    weight = cv2.GaussianBlur(spaced.reshape(-1, CROP_W), (0, 0), 1.0)
    weight = cv2.dilate(np.minimum(weight * (1.0 / CHANGE_FULL), 1.0), _DILATE)
    weight = weight.reshape(n, CROP_H + _SEAM_ROWS, CROP_W)[:, :CROP_H] * EYE_REGION_MASK
    return [weight[k] if cv2.countNonZero(change[k * CROP_H:(k + 1) * CROP_H]) else None for k in range(n)]


def composite_eyes(frame: np.ndarray, eyes: Sequence[EyeCrop], redirected: Sequence[np.ndarray],
                   shares: Sequence[float] | None = None) -> None:
    """Blend every redirected crop into ``frame`` in place; ``shares`` scale each blend
    (0 = no change, default 1)."""
    if shares is not None:
        keep = [k for k, s in enumerate(shares) if s > 0.0]
        eyes, redirected = [eyes[k] for k in keep], [redirected[k] for k in keep]
        shares = [shares[k] for k in keep]
    for k, (eye, pixels, weight) in enumerate(zip(eyes, redirected, change_weights(eyes, redirected))):
        if weight is None:
            continue
        if shares is not None and shares[k] < 1.0:
            weight = weight * float(shares[k])
        _paste(frame, eye, pixels, weight)


def composite_eye(frame: np.ndarray, eye: EyeCrop, redirected: np.ndarray, share: float = 1.0) -> None:
    """Blend ``redirected`` into ``frame`` in place; ``share`` scales the blend (0 = no change)."""
    composite_eyes(frame, [eye], [redirected], [share])


def _paste(frame: np.ndarray, eye: EyeCrop, redirected: np.ndarray, weight: np.ndarray) -> None:
    """Warp one crop and its weight back into the frame and blend them in."""
    h, w = frame.shape[:2]
    (a, b, c), (d, e, f) = eye.crop_to_frame.tolist()
    xs = [a * u + b * v + c for u, v in _CROP_CORNERS]
    ys = [d * u + e * v + f for u, v in _CROP_CORNERS]
    x0, y0 = max(int(min(xs)) - 2, 0), max(int(min(ys)) - 2, 0)
    x1, y1 = min(int(max(xs)) + 3, w), min(int(max(ys)) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return
    # Affine from crop pixels into the ROI's own pixel grid.
    m_roi = np.array([[a, b, c - x0], [d, e, f - y0]])
    size = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(weight, m_roi, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    # Outside the crop the weight is 0, so the patch's border fill is never seen; the constant
    # border is the fast path for 3-channel uint8 warps.
    patch = cv2.warpAffine(redirected, m_roi, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    roi = frame[y0:y1, x0:x1]
    # Where alpha is 0 blendLinear returns the frame's own pixel exactly.
    roi[:] = cv2.blendLinear(roi, patch, 1.0 - alpha, alpha)
