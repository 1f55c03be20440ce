"""Compositing: put redirected eye crops back into the frame.

Each crop is warped back with the inverse of its crop affine, inside a feathered eye-region
mask, and only where the redirector actually changed the crop. Pixels outside the eye region
(or anywhere the crop is unchanged) keep their exact input values.
"""

from __future__ import annotations

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


_CROP_CORNERS = np.array([[0, 0], [CROP_W, 0], [0, CROP_H], [CROP_W, CROP_H]], np.float64)
_DILATE = np.ones((3, 3), np.uint8)


def composite_eye(frame: np.ndarray, eye: EyeCrop, redirected: np.ndarray, share: float = 1.0) -> None:
    """Blend ``redirected`` into ``frame`` in place; ``share`` scales the blend (0 = no change)."""
    if share <= 0.0:
        return
    change = cv2.absdiff(redirected, eye.pixels).max(axis=2)
    if not change.any():
        return
    # Per-pixel weight: where the crop changed, smoothed so the weight itself has no hard edges.
    weight = cv2.GaussianBlur(change.astype(np.float32), (0, 0), 1.0) * (1.0 / CHANGE_FULL)
    weight = cv2.dilate(np.minimum(weight, 1.0), _DILATE)
    weight *= EYE_REGION_MASK
    if share < 1.0:
        weight *= float(share)

    h, w = frame.shape[:2]
    m = eye.crop_to_frame
    pts = _CROP_CORNERS @ m[:, :2].T + m[:, 2]
    x0 = max(int(pts[:, 0].min()) - 2, 0)
    y0 = max(int(pts[:, 1].min()) - 2, 0)
    x1 = min(int(pts[:, 0].max()) + 3, w)
    y1 = min(int(pts[:, 1].max()) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return
    # Affine from crop pixels into the ROI's own pixel grid.
    m_roi = m.copy()
    m_roi[0, 2] -= x0
    m_roi[1, 2] -= y0
    size = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(weight, m_roi, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    patch = cv2.warpAffine(redirected, m_roi, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    roi = frame[y0:y1, x0:x1]
    # Where alpha is 0 blendLinear returns the frame's own pixel exactly.
    roi[:] = cv2.blendLinear(roi, patch, 1.0 - alpha, alpha)
