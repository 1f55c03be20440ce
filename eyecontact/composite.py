"""Compositing: put redirected eye crops back into the frame.

Each crop is warped back with the inverse of its crop affine, inside a feathered eye-region
mask, and only where the redirector actually changed the crop. Pixels outside the eye region
(or anywhere the crop is unchanged) keep their exact input values: a frame pixel is written
only where its blend weight is above zero. Weighing and pasting are compiled kernels
(see eyecontact.compiled); a crop's weight comes from that crop's own pixels only.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from .compiled import cubic_sample, kernel, split_position
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
# The change map is softened (sigma 1 px) and grown by a pixel, so the blend fades in around
# every changed pixel instead of cutting it out.
_WEIGHT_BLUR = cv2.getGaussianKernel(9, 1.0).ravel()


@kernel
def _change_weight(before: np.ndarray, after: np.ndarray, region: np.ndarray,
                   out: np.ndarray) -> tuple[int, int, int, int]:
    """Blend weight (0..1) of one crop into ``out``: where the redirector changed it, smoothed,
    inside ``region``. Returns the box (x0, y0, x1, y1) outside which the weight is 0; an
    empty box (x1 == 0) when nothing changed."""
    rows, cols = region.shape
    half = len(_WEIGHT_BLUR) // 2
    change = np.zeros((rows, cols))
    cx0, cy0, cx1, cy1 = cols, rows, 0, 0
    for y in range(rows):
        for x in range(cols):
            largest = 0  # the largest change over the three channels
            for c in range(3):  # (numba keeps int() of a uint8 unsigned: widen explicitly)
                largest = max(largest, abs(np.int32(after[y, x, c]) - np.int32(before[y, x, c])))
            if largest:
                change[y, x] = largest
                cx0, cy0, cx1, cy1 = min(cx0, x), min(cy0, y), max(cx1, x + 1), max(cy1, y + 1)
    out[:] = 0.0
    if cx1 == 0:
        return 0, 0, 0, 0
    # The weight reaches the blur radius plus the one-pixel growth beyond the change.
    reach = half + 1
    x0, y0 = max(cx0 - reach, 0), max(cy0 - reach, 0)
    x1, y1 = min(cx1 + reach, cols), min(cy1 + reach, rows)
    # Separable blur; outside the crop nothing changed (zero).
    across = np.zeros((rows, cols))
    for y in range(cy0, cy1):
        for t in range(-half, half + 1):
            k = _WEIGHT_BLUR[t + half]
            for x in range(max(x0, -t), min(x1, cols - t)):
                across[y, x] += k * change[y, x + t]
    blurred = np.zeros((rows, cols))
    for y in range(y0, y1):
        for t in range(max(-half, -y), min(half, rows - 1 - y) + 1):
            k = _WEIGHT_BLUR[t + half]
            for x in range(x0, x1):
                blurred[y, x] += k * across[y + t, x]
    # Full weight from CHANGE_FULL up, grown by one pixel (3x3 maximum), inside the region.
    grown = np.zeros((rows, cols))
    for y in range(y0, y1):
        for x in range(x0, x1):
            grown[y, x] = max(blurred[y, max(x - 1, 0)], blurred[y, x], blurred[y, min(x + 1, cols - 1)])
    for y in range(y0, y1):
        above, below = grown[max(y - 1, 0)], grown[min(y + 1, rows - 1)]
        for x in range(x0, x1):
            out[y, x] = min(max(above[x], grown[y, x], below[x]) / CHANGE_FULL, 1.0) * region[y, x]
    return x0, y0, x1, y1


@kernel
def _paste(frame: np.ndarray, pixels: np.ndarray, weight: np.ndarray, box: tuple[int, int, int, int],
           to_crop: np.ndarray, to_frame: np.ndarray, share: float) -> None:
    """Blend one crop into ``frame`` in place: each frame pixel of the crop's footprint takes
    the bicubic sample of ``pixels`` at its crop position, by the bilinear sample of
    ``weight`` * share.
    ``box`` (x0, y0, x1, y1): the crop area outside which the weight is 0."""
    height, width = frame.shape[:2]
    rows, cols = weight.shape
    # The box's footprint in the frame, plus a pixel of bilinear reach.
    bx0, by0, bx1, by1 = box
    fx0, fy0, fx1, fy1 = np.inf, np.inf, -np.inf, -np.inf
    for u, v in ((bx0, by0), (bx1, by0), (bx0, by1), (bx1, by1)):
        fx = to_frame[0, 0] * u + to_frame[0, 1] * v + to_frame[0, 2]
        fy = to_frame[1, 0] * u + to_frame[1, 1] * v + to_frame[1, 2]
        fx0, fy0, fx1, fy1 = min(fx0, fx), min(fy0, fy), max(fx1, fx), max(fy1, fy)
    x0, y0 = max(int(math.floor(fx0)) - 2, 0), max(int(math.floor(fy0)) - 2, 0)
    x1, y1 = min(int(math.ceil(fx1)) + 3, width), min(int(math.ceil(fy1)) + 3, height)
    (a, b, c), (d, e, f) = to_crop
    patch = np.empty(3)
    for y in range(y0, y1):
        for x in range(x0, x1):
            u0, fu = split_position(a * x + b * y + c)
            v0, fv = split_position(d * x + e * y + f)
            if u0 < -1 or u0 >= cols or v0 < -1 or v0 >= rows:
                continue
            # The blend weight from bilinear taps; a tap outside the crop has weight 0.
            u1, v1 = u0 + 1, v0 + 1
            w00 = (1.0 - fu) * (1.0 - fv) if u0 >= 0 and v0 >= 0 else 0.0
            w10 = fu * (1.0 - fv) if u1 < cols and v0 >= 0 else 0.0
            w01 = (1.0 - fu) * fv if u0 >= 0 and v1 < rows else 0.0
            w11 = fu * fv if u1 < cols and v1 < rows else 0.0
            uu0, vv0, uu1, vv1 = max(u0, 0), max(v0, 0), min(u1, cols - 1), min(v1, rows - 1)
            alpha = share * (w00 * weight[vv0, uu0] + w10 * weight[vv0, uu1]
                             + w01 * weight[vv1, uu0] + w11 * weight[vv1, uu1])
            if alpha <= 0.0:
                continue  # the frame keeps its exact pixel
            # The pixels themselves: cubic taps, which keep the eye's detail where bilinear
            # ones blurred it (see compiled.cubic_weights).
            cubic_sample(pixels, u0, fu, v0, fv, patch)
            for ch in range(3):
                value = np.rint(patch[ch])
                frame[y, x, ch] = min(np.rint(frame[y, x, ch] * (1.0 - alpha) + value * alpha), 255.0)


@kernel
def _composite(frame: np.ndarray, befores: np.ndarray, afters: np.ndarray, to_crop: np.ndarray,
               to_frame: np.ndarray, shares: np.ndarray, region: np.ndarray) -> None:
    weight = np.empty(region.shape)
    for k in range(len(befores)):
        if shares[k] > 0.0:
            box = _change_weight(befores[k], afters[k], region, weight)
            if box[2] > 0:
                _paste(frame, afters[k], weight, box, to_crop[k], to_frame[k], shares[k])


def change_weights(eyes: Sequence[EyeCrop], redirected: Sequence[np.ndarray]) -> list[np.ndarray | None]:
    """Per crop, the blend weight (0..1, crop size) compositing uses: where the redirector
    changed the crop, smoothed, inside the eye region; None where nothing changed."""
    weights: list[np.ndarray | None] = []
    for eye, pixels in zip(eyes, redirected):
        weight = np.empty((CROP_H, CROP_W))
        box = _change_weight(eye.pixels, pixels, EYE_REGION_MASK, weight)
        weights.append(weight if box[2] > 0 else None)
    return weights


def composite_eyes(frame: np.ndarray, eyes: Sequence[EyeCrop], redirected: Sequence[np.ndarray],
                   shares: Sequence[float] | None = None) -> None:
    """Blend every redirected crop into ``frame`` (uint8 (H, W, 3)) in place; ``shares``
    scale each blend (0 = no change, default 1)."""
    if not eyes:
        return
    _composite(frame, np.stack([e.pixels for e in eyes]), np.stack(redirected),
               np.stack([e.frame_to_crop for e in eyes]), np.stack([e.crop_to_frame for e in eyes]),
               np.ones(len(eyes)) if shares is None else np.asarray(shares, np.float64), EYE_REGION_MASK)


def composite_eye(frame: np.ndarray, eye: EyeCrop, redirected: np.ndarray, share: float = 1.0) -> None:
    """Blend ``redirected`` into ``frame`` in place; ``share`` scales the blend (0 = no change)."""
    composite_eyes(frame, [eye], [redirected], [share])
