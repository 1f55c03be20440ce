"""Analytic redirector: moves iris and pupil inside the eye opening, no training needed.

Per crop: (1) the iris disc is lifted out and the hole filled with the eye's own sclera colour;
(2) the iris is put back shifted by R*(sin(new) - sin(old)) (R = eyeball radius in crop pixels)
and clipped by the lids, so it slides under them as a real eye does; (3) the upper lid follows
vertical gaze (and closes for openness < 1) with a per-column warp between brow and lower lid.
Nothing outside the eye opening and the upper-lid band changes.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from ..eyecrop import CROP_H, CROP_W
from ..types import EyeCrop, EyeRequest

LID_FOLLOW = 0.6  # share of the iris' vertical shift that the upper lid follows
_XS = np.arange(CROP_W, dtype=np.float32)
_YS = np.arange(CROP_H, dtype=np.float32)
_GX, _GY = np.meshgrid(_XS, _YS)
_AA = 4  # sub-pixel bits for anti-aliased polygon filling


def lid_curves(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Upper and lower lid heights for every crop column, and the x span of the opening."""
    upper = np.vstack([contour[0:8], contour[15:16]])
    lower = np.vstack([contour[0:1], contour[8:16]])
    upper = upper[np.argsort(upper[:, 0])]
    lower = lower[np.argsort(lower[:, 0])]
    y_up = np.interp(_XS, upper[:, 0], upper[:, 1])
    y_lo = np.interp(_XS, lower[:, 0], lower[:, 1])
    y_lo = np.maximum(y_lo, y_up)
    x0 = float(min(upper[0, 0], lower[0, 0]))
    x1 = float(max(upper[-1, 0], lower[-1, 0]))
    return y_up.astype(np.float32), y_lo.astype(np.float32), x0, x1


def opening_mask(contour: np.ndarray) -> np.ndarray:
    """Anti-aliased mask (0..1 float32) of the visible eye opening."""
    mask = np.zeros((CROP_H, CROP_W), np.uint8)
    poly = np.round(contour * (1 << _AA)).astype(np.int32)
    cv2.fillPoly(mask, [poly], 255, lineType=cv2.LINE_AA, shift=_AA)
    return mask.astype(np.float32) / 255.0


def disc_mask(center: np.ndarray, radius: float, feather: float = 1.0) -> np.ndarray:
    dist = np.hypot(_GX - center[0], _GY - center[1])
    return np.clip((radius - dist) / feather + 0.5, 0.0, 1.0).astype(np.float32)


def sclera_colour(pixels: np.ndarray, opening: np.ndarray, iris: np.ndarray) -> np.ndarray:
    """Colour of the white of the eye: the brighter half of the opening outside the iris."""
    sel = (opening > 0.9) & (iris < 0.05)
    if sel.sum() < 6:
        sel = opening > 0.5
    if sel.sum() < 3:
        return np.array([200.0, 190.0, 185.0], np.float32)
    px = pixels[sel].astype(np.float32)
    lum = px.mean(axis=1)
    bright = px[lum >= np.median(lum)]
    return bright.mean(axis=0)


def iris_mean_colour(pixels: np.ndarray, seen: np.ndarray) -> np.ndarray:
    sel = seen > 0.8
    if sel.sum() < 3:
        return pixels.reshape(-1, 3).astype(np.float32).min(axis=0)
    return pixels[sel].astype(np.float32).mean(axis=0)


def iris_shift(eye: EyeCrop, req: EyeRequest) -> tuple[float, float]:
    """Crop-pixel shift of the iris for the requested rotation (eyeball model)."""
    r = eye.eyeball_radius
    p0, y0 = math.radians(req.current_pitch), math.radians(req.current_yaw)
    p1, y1 = p0 + math.radians(req.delta_pitch), y0 + math.radians(req.delta_yaw)
    dx = r * (math.sin(y1) - math.sin(y0))
    dy = -r * (math.sin(p1) - math.sin(p0))  # crop y points down, pitch > 0 looks up
    return dx, dy


def lid_warp_map(y_up: np.ndarray, y_lo: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Backward map (source y for each output pixel) moving the upper lid by ``shift`` per column.

    Piecewise linear per column: the crop top stays, the upper lid moves to y_up + shift, the
    lower lid and everything below stay. A shift that reaches the lower lid closes the eye.
    """
    # A closing lid may pass the lower lid line by a pixel so no white slit is left.
    new_up = np.clip(y_up + shift, 1.0, y_lo + 1.5)
    y = _GY
    top_scale = y_up / np.maximum(new_up, 1e-3)
    above = y * top_scale[None, :]
    span_new = np.maximum(y_lo - new_up, 1e-3)
    below = y_up[None, :] + (y - new_up[None, :]) * ((y_lo - y_up) / span_new)[None, :]
    src = np.where(y <= new_up[None, :], above, below)
    return np.where(y >= np.maximum(y_lo, new_up)[None, :], y, src).astype(np.float32)


class AnalyticRedirector:
    name = "analytic"
    provider = "numpy"

    def redirect(self, crops: Sequence[EyeCrop], requests: Sequence[EyeRequest]) -> list[np.ndarray]:
        return [self._redirect_one(c, r) for c, r in zip(crops, requests)]

    def _redirect_one(self, eye: EyeCrop, req: EyeRequest) -> np.ndarray:
        dx, dy = iris_shift(eye, req)
        closing = 1.0 - float(np.clip(req.openness, 0.0, 1.0))
        if abs(dx) < 1e-3 and abs(dy) < 1e-3 and closing < 1e-3:
            return eye.pixels.copy()
        pixels = eye.pixels.astype(np.float32)
        opening = opening_mask(eye.lid_contour)
        radius = max(eye.iris_radius, 1.0) * 1.08  # include the limbus ring
        old_iris = disc_mask(eye.iris_center, radius)
        new_center = eye.iris_center + np.array([dx, dy])
        new_iris = disc_mask(new_center, radius)

        # Eyeball without its iris: sclera colour, shaded like the original's surroundings.
        sclera = sclera_colour(eye.pixels, opening, old_iris)
        ball = pixels * (1.0 - old_iris[..., None]) + sclera * old_iris[..., None]
        ball = cv2.GaussianBlur(ball, (0, 0), 0.6) * old_iris[..., None] + ball * (1.0 - old_iris[..., None])
        # The iris itself, moved: sample the original at the pre-shift position.
        # Where the moved disc's source was hidden under a lid there is no iris texture to take,
        # so those pixels get the iris' mean colour instead of the lid's.
        map_x, map_y = _GX - dx, _GY - dy
        moved = cv2.remap(pixels, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        seen = old_iris * opening
        valid = cv2.remap(seen, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        iris_colour = iris_mean_colour(eye.pixels, seen)
        moved = moved * valid[..., None] + iris_colour * (1.0 - valid[..., None])
        eyeball = ball * (1.0 - new_iris[..., None]) + moved * new_iris[..., None]
        out = pixels * (1.0 - opening[..., None]) + eyeball * opening[..., None]

        # Upper lid: follows vertical gaze, and closes for synthesised blinks.
        y_up, y_lo, x0, x1 = lid_curves(eye.lid_contour)
        inside = np.clip(np.minimum(_XS - x0, x1 - _XS) / max(0.15 * (x1 - x0), 1.0), 0.0, 1.0)
        bump = np.sin(inside * math.pi / 2.0) ** 2  # 0 at the corners, 1 in the middle
        shift = (LID_FOLLOW * dy * bump + closing * (y_lo - y_up + 1.5)).astype(np.float32)
        if np.max(np.abs(shift)) > 0.05:
            map_y = lid_warp_map(y_up, y_lo, shift)
            out = cv2.remap(out, _GX, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
