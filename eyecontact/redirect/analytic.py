"""Analytic redirector: moves iris and pupil inside the eye opening, no training needed.

Per crop: (1) the iris disc is lifted out and the hole filled with the eye's own sclera colour;
(2) the iris is put back shifted by R*(sin(new) - sin(old)) (R = eyeball radius in crop pixels)
and clipped by the lids, so it slides under them as a real eye does; (3) the upper lid follows
vertical gaze (and closes for openness < 1) with a per-column warp between brow and lower lid.
Nothing outside the eye opening and the upper-lid band changes.

At crop size an array operation costs mostly its fixed overhead, so the work is arranged to
need few of them: all crops of a call are stacked into one tall image and processed together,
and only a window that holds every opening, iris and upper-lid band (the crop's top rows down
to just below the lower lids, between the corners) is processed; the rest is copied. The
window keeps a margin around every mask, so nothing read across its edges or across the seams
between stacked crops ever reaches a pixel that is written.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple, Sequence

import cv2
import numpy as np

from ..eyecrop import CORNER_X0, CORNER_X1, CROP_H, CROP_W
from ..types import EyeCrop, EyeRequest

LID_FOLLOW = 0.6  # share of the iris' vertical shift that the upper lid follows
LIMBUS = 1.08  # the moved disc includes the dark ring around the iris
_AA = 4  # sub-pixel bits for anti-aliased polygon filling
_MARGIN = 4  # window margin around everything that changes: blur and bilinear reach stay inside
_UPPER = np.array([0, 1, 2, 3, 4, 5, 6, 7, 15])  # lid-contour indices, corner to corner
_LOWER = np.array([0, 8, 9, 10, 11, 12, 13, 14, 15])


class Window(NamedTuple):
    """Rows [0, rows) and columns [col0, col1) of the crop that can change."""

    rows: int
    col0: int
    col1: int

    @property
    def xs(self) -> np.ndarray:
        return np.arange(self.col0, self.col1, dtype=np.float32)

    @property
    def ys(self) -> np.ndarray:
        return np.arange(self.rows, dtype=np.float32)


def change_window(eyes: Sequence[EyeCrop], shifts: np.ndarray) -> Window:
    """The smallest window (with margin) holding every crop's opening and old and new iris."""
    contours = np.concatenate([e.lid_contour for e in eyes])
    cx, cy = contours[:, 0], contours[:, 1]
    x0, x1 = float(cx.min()), float(cx.max())
    y1 = float(cy.max()) + 1.5  # a closing lid passes the lower one by 1.5 px
    for eye, (dx, dy) in zip(eyes, shifts.tolist()):
        reach = max(eye.iris_radius, 1.0) * LIMBUS + 1.0
        ix, iy = float(eye.iris_center[0]), float(eye.iris_center[1])
        x0 = min(x0, ix - reach, ix + dx - reach)
        x1 = max(x1, ix + reach, ix + dx + reach)
        y1 = max(y1, iy + reach, iy + dy + reach)
    return Window(rows=min(max(math.ceil(y1) + _MARGIN, 1), CROP_H),
                  col0=min(max(math.floor(x0) - _MARGIN, 0), CROP_W - 1),
                  col1=min(max(math.ceil(x1) + _MARGIN, 1), CROP_W))


def lid_curves(contour: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower lid heights at columns ``xs``."""
    upper, lower = contour[_UPPER], contour[_LOWER]
    upper = upper[np.argsort(upper[:, 0])]
    lower = lower[np.argsort(lower[:, 0])]
    y_up = np.interp(xs, upper[:, 0], upper[:, 1]).astype(np.float32)
    y_lo = np.maximum(np.interp(xs, lower[:, 0], lower[:, 1]).astype(np.float32), y_up)
    return y_up, y_lo


@lru_cache(maxsize=64)
def lid_taper(col0: int, col1: int) -> np.ndarray:
    """How much of the lid's movement each column takes: 0 at and beyond the eye corners
    (which the crop puts at fixed columns), rising smoothly to 1 over 15% of the eye width."""
    xs = np.arange(col0, col1, dtype=np.float64)
    inside = np.clip(np.minimum(xs - CORNER_X0, CORNER_X1 - xs) / (0.15 * (CORNER_X1 - CORNER_X0)), 0.0, 1.0)
    taper = (np.sin(inside * math.pi / 2.0) ** 2).astype(np.float32)
    taper.flags.writeable = False
    return taper


@lru_cache(maxsize=64)
def _column_grid(rows: int, cols: int) -> np.ndarray:
    grid = np.tile(np.arange(cols, dtype=np.float32), (rows, 1))
    grid.flags.writeable = False
    return grid


def opening_masks(contours: Sequence[np.ndarray], win: Window) -> np.ndarray:
    """Anti-aliased masks (0..1 float32) of the eye openings in the window, stacked."""
    mask = np.zeros((len(contours) * win.rows, win.col1 - win.col0), np.uint8)
    for k, contour in enumerate(contours):
        poly = np.round((contour - (win.col0, 0)) * (1 << _AA)).astype(np.int32)
        cv2.fillPoly(mask[k * win.rows:(k + 1) * win.rows], [poly], 255, lineType=cv2.LINE_AA, shift=_AA)
    return mask.astype(np.float32) * np.float32(1.0 / 255.0)


def disc_masks(centers: np.ndarray, radii: np.ndarray, win: Window, feather: float = 1.0) -> np.ndarray:
    """One feathered disc per crop ((n, 2) centres, (n,) radii, crop pixels) in the window, stacked."""
    centers = np.asarray(centers, np.float32)
    dy2 = (win.ys[None, :] - centers[:, 1:2]) ** 2  # (n, rows)
    dx2 = (win.xs[None, :] - centers[:, 0:1]) ** 2  # (n, cols)
    dist = np.sqrt(dy2[:, :, None] + dx2[:, None, :])
    disc = (np.asarray(radii, np.float32)[:, None, None] + np.float32(0.5 * feather) - dist) * np.float32(1.0 / feather)
    return np.clip(disc, 0.0, 1.0, out=disc).reshape(-1, win.col1 - win.col0)


def blend(base: np.ndarray, top: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """base * (1 - weight) + top * weight, per pixel, in one OpenCV call (float32 images)."""
    return cv2.blendLinear(base, top, 1.0 - weight, weight)


def flat_images(colours: Sequence[np.ndarray], rows: int, cols: int) -> np.ndarray:
    """One flat colour per crop, stacked."""
    # One row per crop, then repeated down: far cheaper than broadcasting over the channel axis.
    line = np.tile(np.asarray(colours, np.float32), (1, cols))  # (n, cols*3)
    return np.repeat(line, rows, axis=0).reshape(-1, cols, 3)


def sclera_colours(pixels: np.ndarray, lum: np.ndarray, opening: np.ndarray, iris: np.ndarray,
                   n: int) -> list[np.ndarray]:
    """Per stacked crop, the colour of the white of the eye: the brighter half of the opening
    outside the iris. ``lum`` is the per-pixel channel sum of ``pixels`` (uint8, stacked)."""
    rows = len(pixels) // n
    sel = (opening > 0.9) & (iris < 0.05)
    medians = np.zeros(n, np.float32)
    colours: list[np.ndarray | None] = [None] * n
    for k in range(n):
        band = slice(k * rows, (k + 1) * rows)
        s = sel[band]
        if np.count_nonzero(s) < 6:
            s = sel[band] = opening[band] > 0.5
        values = lum[band][s]
        if len(values) < 3:
            colours[k] = np.array([200.0, 190.0, 185.0], np.float32)
            continue
        half = len(values) // 2
        medians[k] = np.partition(values, half)[half]
    bright = (sel & (lum >= np.repeat(medians, rows)[:, None])).view(np.uint8)
    for k in range(n):
        if colours[k] is None:
            band = slice(k * rows, (k + 1) * rows)
            colours[k] = np.array(cv2.mean(pixels[band], mask=bright[band])[:3], np.float32)
    return colours  # type: ignore[return-value]


def iris_mean_colours(pixels: np.ndarray, seen: np.ndarray, n: int) -> list[np.ndarray]:
    """Per stacked crop, the mean colour of the visible iris (its darkest colour if hardly any
    iris shows)."""
    rows = len(pixels) // n
    sel = (seen > 0.8).view(np.uint8)
    colours = []
    for k in range(n):
        band = slice(k * rows, (k + 1) * rows)
        if cv2.countNonZero(sel[band]) < 3:
            colours.append(pixels[band].reshape(-1, 3).min(axis=0).astype(np.float32))
        else:
            colours.append(np.array(cv2.mean(pixels[band], mask=sel[band])[:3], np.float32))
    return colours


def iris_shift(eye: EyeCrop, req: EyeRequest) -> tuple[float, float]:
    """Crop-pixel shift of the iris for the requested rotation (eyeball model)."""
    r = eye.eyeball_radius
    p0, y0 = math.radians(req.current_pitch), math.radians(req.current_yaw)
    p1, y1 = p0 + math.radians(req.delta_pitch), y0 + math.radians(req.delta_yaw)
    dx = r * (math.sin(y1) - math.sin(y0))
    dy = -r * (math.sin(p1) - math.sin(p0))  # crop y points down, pitch > 0 looks up
    return dx, dy


def lid_warp_map(y_up: np.ndarray, y_lo: np.ndarray, shift: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Backward map (source y for each output pixel) moving the upper lid by ``shift`` per column.

    Piecewise linear per column: the crop top stays, the upper lid moves to y_up + shift, the
    lower lid and everything below stay. A shift that reaches the lower lid closes the eye.
    Takes (cols,) curves for one crop or (n, cols) for n crops, and the row coordinates ``ys``;
    returns (rows, cols) or (n, rows, cols).
    """
    # A closing lid may pass the lower lid line by a pixel so no white slit is left.
    new_up = np.clip(y_up + shift, 1.0, y_lo + 1.5)
    # Per column: above the new lid line y * a, between it and the lower lid y * b + c.
    a = (y_up / np.maximum(new_up, 1e-3))[..., None, :]
    b = (y_lo - y_up) / np.maximum(y_lo - new_up, 1e-3)
    c = (y_up - new_up * b)[..., None, :]
    b = b[..., None, :]
    stay = np.maximum(y_lo, new_up)[..., None, :]
    new_up = new_up[..., None, :]
    y = ys[:, None]
    src = np.where(y <= new_up, y * a, y * b + c)
    return np.where(y >= stay, y, src).astype(np.float32)


class AnalyticRedirector:
    name = "analytic"
    provider = "numpy"

    def redirect(self, crops: Sequence[EyeCrop], requests: Sequence[EyeRequest]) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(crops)
        todo: list[tuple[int, EyeCrop, float, float, float]] = []
        for i, (eye, req) in enumerate(zip(crops, requests)):
            dx, dy = iris_shift(eye, req)
            closing = 1.0 - min(max(float(req.openness), 0.0), 1.0)
            if abs(dx) < 1e-3 and abs(dy) < 1e-3 and closing < 1e-3:
                out[i] = eye.pixels.copy()
            else:
                todo.append((i, eye, dx, dy, closing))
        if todo:
            eyes = [t[1] for t in todo]
            shifts = np.array([t[2:4] for t in todo])
            win = change_window(eyes, shifts)
            full = np.stack([e.pixels for e in eyes])  # (n, H, W, 3): the unchanged rest
            full[:, :win.rows, win.col0:win.col1] = self._redirect_window(
                full[:, :win.rows, win.col0:win.col1], eyes, shifts,
                np.array([t[4] for t in todo], np.float32), win)
            for k, (i, *_) in enumerate(todo):
                out[i] = full[k]
        return out  # type: ignore[return-value]

    @staticmethod
    def _redirect_window(window: np.ndarray, eyes: list[EyeCrop], shifts: np.ndarray, closing: np.ndarray,
                         win: Window) -> np.ndarray:
        """Redirect the window of n crops at once; ``window`` (n, rows, cols, 3) uint8,
        ``shifts`` (n, 2) iris shifts in crop pixels, ``closing`` (n,) 0 = lids as they are,
        1 = shut. Returns the new (n, rows, cols, 3) uint8 window."""
        n, rows, cols = window.shape[:3]
        src = np.ascontiguousarray(window).reshape(n * rows, cols, 3)
        pixels = src.astype(np.float32)
        opening = opening_masks([e.lid_contour for e in eyes], win)
        centers = np.array([e.iris_center for e in eyes])
        radii = np.array([max(e.iris_radius, 1.0) * LIMBUS for e in eyes])
        discs = disc_masks(np.concatenate([centers, centers + shifts]), np.concatenate([radii, radii]), win)
        old_iris, new_iris = discs[:n * rows], discs[n * rows:]
        seen = old_iris * opening

        # Eyeball without its iris: sclera colour, shaded like the original's surroundings.
        lum = cv2.transform(pixels, np.ones((1, 3), np.float32))  # channel sum
        sclera = sclera_colours(src, lum, opening, old_iris, n)
        not_old = 1.0 - old_iris
        ball = cv2.blendLinear(pixels, flat_images(sclera, rows, cols), not_old, old_iris)
        ball = cv2.blendLinear(ball, cv2.GaussianBlur(ball, (0, 0), 0.6), not_old, old_iris)
        # The iris itself, moved: sample the original at the pre-shift position.
        # Where the moved disc's source was hidden under a lid there is no iris texture to take,
        # so those pixels get the iris' mean colour instead of the lid's.
        offsets = (np.arange(n, dtype=np.float32) * rows)[:, None, None]
        sh = shifts.astype(np.float32)
        grid_x = np.arange(cols, dtype=np.float32)[None, None, :]
        grid_y = win.ys[None, :, None]
        map_x = np.repeat((grid_x - sh[:, 0, None, None]), rows, axis=1).reshape(-1, cols)
        map_y = np.repeat(grid_y + (offsets - sh[:, 1, None, None]), cols, axis=2).reshape(-1, cols)
        moved = cv2.remap(pixels, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        valid = cv2.remap(seen, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        moved = blend(flat_images(iris_mean_colours(src, seen, n), rows, cols), moved, valid)
        out = blend(pixels, blend(ball, moved, new_iris), opening)

        # Upper lid: follows vertical gaze, and closes for synthesised blinks.
        xs = win.xs
        curves = [lid_curves(e.lid_contour, xs) for e in eyes]
        y_up = np.stack([c[0] for c in curves])
        y_lo = np.stack([c[1] for c in curves])
        # Only the opening's columns move: the lid follows by LID_FOLLOW*dy, a blink closes it
        # down to (and 1.5 px past, to leave no slit) the lower lid. A zero shift maps every
        # row onto itself, so crops whose lid stays come through unchanged.
        lid_shift = (lid_taper(win.col0, win.col1) * (LID_FOLLOW * sh[:, 1:2] + 1.5 * closing[:, None])
                     + closing[:, None] * (y_lo - y_up)).astype(np.float32)
        if float(np.abs(lid_shift).max()) > 0.05:
            lid_map = lid_warp_map(y_up, y_lo, lid_shift, win.ys)
            out = cv2.remap(out, _column_grid(n * rows, cols), (lid_map + offsets).reshape(-1, cols),
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # convertScaleAbs rounds and saturates; values are never negative.
        return cv2.convertScaleAbs(out).reshape(n, rows, cols, 3)
