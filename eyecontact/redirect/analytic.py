"""Analytic redirector: moves iris and pupil inside the eye opening, no training needed.

Per crop: (1) the iris disc, placed on and sized to the iris the pixels show (the face mesh's
centre can be a few pixels off, its ring too small), is lifted out and the hole filled with
the white of the eye beside it on each row;
(2) the iris is put back shifted by R*(sin(new) - sin(old)) (R = eyeball radius in crop pixels;
vertical shifts 1.3x, see VERTICAL_SHIFT_GAIN) and clipped by the lids, so it slides under them
as a real eye does; (3) the upper lid follows the iris' vertical shift (rising by at most
MAX_LID_LIFT of the opening, and closing for openness < 1) with a per-column warp between brow
and lower lid.
Nothing outside the eye opening and the upper-lid band changes.

The per-pixel work is one compiled kernel over every crop of the frame (see
eyecontact.compiled for why). Per crop only a window that holds the opening, both iris
positions and the upper-lid band (the crop's top rows down to just below the lower lid) is
processed; it keeps a margin around everything that changes, so what the blur and the
interpolation taps read across its edges never reaches a written pixel.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from ..compiled import cubic_sample, cubic_weights, kernel, split_position
from ..eyecrop import CORNER_X0, CORNER_X1, CROP_H, CROP_W, opening_polygon
from ..types import EyeCrop, EyeRequest

# Share of the iris' vertical shift that the upper lid follows. Raising (correcting a downward
# look, the common case): the whole shift, as a real lid rides with the eye; a lid left low
# (0.6 before) made both gaze readers see the corrected eye as still looking down. Lowering:
# 0.6, since a lid that drops as far hides the top of the iris just moved and the eye reads
# as moved less (re-detected share of the asked change 0.59 -> 0.22 on a clip corrected down).
LID_FOLLOW_UP = 1.0
LID_FOLLOW_DOWN = 0.6
# A raised lid uncovers nothing new: the warp stretches the opening it has. Lids lowered over a
# far-down look leave an opening of a few pixels, and a lift of several times that stretched
# the lashes into a dark slot (55% of the lifted crops of a development clip whose speaker
# reads with lowered lids; under 4% on the others). A lid rises by at most this share of the
# opening's height in each column.
MAX_LID_LIFT = 0.5
# Vertical iris shifts are asked 1.3x the eyeball model's: the lids clip the moved iris and the
# warp then stretches the opening, so the visible iris centre moves less than the disc. Measured
# on the development clips, re-detection read ~60% of the asked vertical change without it.
VERTICAL_SHIFT_GAIN = 1.3
LIMBUS = 1.08  # the moved disc includes the dark ring around the iris
# The disc is moved sideways onto the iris seen in the pixels (_located_iris): searched this far
# from the face mesh's centre (times the iris radius), and taken where its contrast against the
# ring around it (mean R+G+B) beats the mesh's centre's by this much.
IRIS_SEARCH_X = 0.7
IRIS_LOCATE_GAIN = 20.0
IRIS_RADIUS_MAX = 1.3
# An eye looking at the camera shows no white below its iris: the lower lid covers the iris'
# bottom edge or meets it. An upward move may uncover at most this share of the iris radius
# between the iris and the lower lid; beyond that the eye reads as rolled up (a white band under
# the iris), which is what larger asks produced where the iris already met the lower lid (a
# child's eyes on a development clip, read by the face mesh as looking 17 deg down).
MAX_SCLERA_BELOW = 0.15
_AA = 4  # sub-pixel bits for anti-aliased polygon filling
_MARGIN = 4  # window margin around all that changes: blur (3 px) and cubic taps (2 px) stay inside
_UPPER = np.array([0, 1, 2, 3, 4, 5, 6, 7, 15])  # lid-contour indices, corner to corner
_LOWER = np.array([0, 8, 9, 10, 11, 12, 13, 14, 15])
# The hole left by the iris is filled with the white beside it (_sclera_fill), then softened
# with this blur (sigma 0.6 px) so rows blend and the fill meets its surroundings smoothly.
_FILL_BLUR = cv2.getGaussianKernel(7, 0.6).ravel().astype(np.float64)
SCLERA_SAMPLE_PX = 3.0  # width of the white sampled beside the iris on each row
_FALLBACK_SCLERA = np.array([200.0, 190.0, 185.0])  # when too little white shows to measure


def opening_masks(contours: Sequence[np.ndarray]) -> np.ndarray:
    """Anti-aliased masks (uint8, 255 = inside) of the eye openings, (n, CROP_H, CROP_W)."""
    polys = np.round(np.stack([opening_polygon(c) for c in contours]) * (1 << _AA)).astype(np.int32)
    mask = np.zeros((len(polys), CROP_H, CROP_W), np.uint8)
    for k, poly in enumerate(polys):
        cv2.fillPoly(mask[k], [poly], 255, lineType=cv2.LINE_AA, shift=_AA)
    return mask


def iris_shift(eye: EyeCrop, req: EyeRequest) -> tuple[float, float]:
    """Crop-pixel shift of the iris for the requested rotation (eyeball model)."""
    r = eye.eyeball_radius
    p0, y0 = math.radians(req.current_pitch), math.radians(req.current_yaw)
    p1, y1 = p0 + math.radians(req.delta_pitch), y0 + math.radians(req.delta_yaw)
    dx = r * (math.sin(y1) - math.sin(y0))
    dy = -r * (math.sin(p1) - math.sin(p0))  # crop y points down, pitch > 0 looks up
    return dx, VERTICAL_SHIFT_GAIN * dy


# -- the compiled kernel ----------------------------------------------------------------------
# Images inside are float64 (rows, cols, 3) windows of one crop, whose first column is crop
# column ``col0``.

@kernel
def _disc(rows: int, cols: int, col0: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """Feathered disc (1 px soft edge) of ``radius`` around (cx, cy) in crop pixels."""
    out = np.empty((rows, cols))
    for y in range(rows):
        for x in range(cols):
            d = math.sqrt((y - cy) ** 2 + (x + col0 - cx) ** 2)
            out[y, x] = min(max(radius + 0.5 - d, 0.0), 1.0)
    return out


@kernel
def _sclera_colour(pixels: np.ndarray, lum: np.ndarray, opening: np.ndarray, iris: np.ndarray) -> np.ndarray:
    """The colour of the white of the eye: the mean of the brighter half of the opening
    outside the iris (all of the opening if the iris covers nearly all of it)."""
    rows, cols = lum.shape
    sel = (opening > 0.9) & (iris < 0.05)
    if sel.sum() < 6:
        sel = opening > 0.5
    values = lum.ravel()[sel.ravel()]
    if len(values) < 3:
        return _FALLBACK_SCLERA.copy()
    median = np.sort(values)[len(values) // 2]
    total = np.zeros(3)
    count = 0
    for y in range(rows):
        for x in range(cols):
            if sel[y, x] and lum[y, x] >= median:
                for c in range(3):
                    total[c] += pixels[y, x, c]
                count += 1
    return total / count


@kernel
def _side_sample(pixels: np.ndarray, lum: np.ndarray, opening: np.ndarray, y: int, x_from: float,
                 x_to: float, least: float) -> tuple[bool, np.ndarray]:
    """Mean colour of the white of the eye on row ``y`` between columns ``x_from`` and
    ``x_to``: pixels well inside the opening and at least ``least`` bright (R+G+B)."""
    rows, cols = lum.shape
    total = np.zeros(3)
    count = 0
    for x in range(max(int(math.ceil(min(x_from, x_to))), 0), min(int(max(x_from, x_to)) + 1, cols)):
        if opening[y, x] > 0.9 and lum[y, x] >= least:
            for c in range(3):
                total[c] += pixels[y, x, c]
            count += 1
    return count > 0, total / max(count, 1)


@kernel
def _sclera_fill(pixels: np.ndarray, lum: np.ndarray, opening: np.ndarray, cx: float, cy: float,
                 radius: float, sclera: np.ndarray) -> np.ndarray:
    """Per row, the colour that replaces the iris (window columns; ``cx`` in them): the white
    of the eye just beside the iris on that row, the mean of both sides where both show. A real
    white is darker near the lids and the corners than in the middle; one flat colour (the
    brightest half's mean) left a bright, flat crescent where the iris had been. Rows with no
    white beside the iris take the nearest row's that has; with none at all, ``sclera``."""
    rows = lum.shape[0]
    least = 0.8 * (sclera[0] + sclera[1] + sclera[2])
    found = np.zeros((rows, 3))
    has = np.zeros(rows, np.bool_)
    for y in range(rows):
        half = radius * radius - (y - cy) ** 2
        if half <= 0.0:
            continue
        reach = math.sqrt(half) + 1.5  # clear of the limbus
        ok_l, left = _side_sample(pixels, lum, opening, y, cx - reach - SCLERA_SAMPLE_PX, cx - reach, least)
        ok_r, right = _side_sample(pixels, lum, opening, y, cx + reach, cx + reach + SCLERA_SAMPLE_PX, least)
        has[y] = ok_l or ok_r
        if ok_l and ok_r:
            found[y] = (left + right) / 2.0
        elif ok_l:
            found[y] = left
        elif ok_r:
            found[y] = right
    out = np.empty((rows, 3))
    for y in range(rows):
        out[y] = sclera
        for d in range(rows):
            if y - d >= 0 and has[y - d]:
                out[y] = found[y - d]
                break
            if y + d < rows and has[y + d]:
                out[y] = found[y + d]
                break
    return out


@kernel
def _iris_colour(pixels: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Mean colour of the visible iris; its darkest colour if hardly any iris shows."""
    rows, cols = seen.shape
    total = np.zeros(3)
    count = 0
    darkest = np.full(3, 255.0)
    for y in range(rows):
        for x in range(cols):
            inside = seen[y, x] > 0.8
            count += inside
            for c in range(3):
                v = pixels[y, x, c]
                darkest[c] = min(darkest[c], v)
                if inside:
                    total[c] += v
    return total / count if count >= 3 else darkest


@kernel
def _mirrored(i: int, n: int) -> int:
    """Index ``i`` reflected into [0, n) about the edge pixels (OpenCV's BORDER_REFLECT_101)."""
    i = abs(i)
    return 2 * (n - 1) - i if i >= n else i


@kernel
def _fill_blurred(image: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Separable Gaussian blur (``_FILL_BLUR``, mirrored edges) of ``image``, computed only
    where ``weight`` > 0 (elsewhere 0): the blurred fill is only ever used there."""
    rows, cols = weight.shape
    half = len(_FILL_BLUR) // 2
    ys, xs = np.nonzero(weight > 0.0)
    out = np.zeros_like(image)
    if len(ys) == 0:
        return out
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # Rows the vertical pass reads, blurred horizontally first.
    r0, r1 = max(y0 - half, 0), min(y1 + half, rows)
    tmp = np.zeros((rows, x1 - x0, 3))
    for y in range(r0, r1):
        for x in range(x0, x1):
            for t in range(-half, half + 1):
                xx = _mirrored(x + t, cols)
                k = _FILL_BLUR[t + half]
                for c in range(3):
                    tmp[y, x - x0, c] += k * image[y, xx, c]
    for y in range(y0, y1):
        for t in range(-half, half + 1):
            yy = _mirrored(y + t, rows)
            k = _FILL_BLUR[t + half]
            for x in range(x0, x1):
                for c in range(3):
                    out[y, x, c] += k * tmp[yy, x - x0, c]
    return out


@kernel
def _interp(xs: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """np.interp with ``xp`` sorted first (lid points may come in any order)."""
    order = np.argsort(xp, kind="mergesort")
    return np.interp(xs, xp[order], fp[order])


@kernel
def _lid_source_rows(y_up: float, y_lo: float, shift: float, rows: int) -> np.ndarray:
    """For one column, the source row of every output row when the upper lid moves by ``shift``.

    Piecewise linear: the crop top stays, the upper lid moves to y_up + shift, the lower lid
    and everything below stay. A shift that reaches the lower lid closes the eye; a closing
    lid may pass the lower lid by 1.5 px so no white slit is left.
    """
    new_up = min(max(y_up + shift, 1.0), y_lo + 1.5)
    above = y_up / max(new_up, 1e-3)
    below = (y_lo - y_up) / max(y_lo - new_up, 1e-3)
    offset = y_up - new_up * below
    stay = max(y_lo, new_up)
    src = np.empty(rows)
    for y in range(rows):
        if y >= stay:
            src[y] = y
        elif y <= new_up:
            src[y] = y * above
        else:
            src[y] = y * below + offset
    return src


@kernel
def _limited_rise(contour: np.ndarray, iris_x: float, iris_y: float, iris_r: float, dx: float,
                  dy: float) -> float:
    """``dy`` with an upward move (dy < 0) cut where it would show more than MAX_SCLERA_BELOW
    of white between the moved iris and the lower lid; never turned into a downward move."""
    if dy >= 0.0:
        return dy
    lower_lid = _interp(np.array([iris_x + dx]), contour[_LOWER, 0], contour[_LOWER, 1])[0]
    highest = lower_lid - MAX_SCLERA_BELOW * iris_r - (iris_y + iris_r)  # shift of the iris' bottom
    return max(dy, min(highest, 0.0))


@kernel
def _change_window(contour: np.ndarray, iris_x: float, iris_y: float, iris_r: float, dx: float,
                   dy: float) -> tuple[int, int, int]:
    """Rows [0, rows) and columns [col0, col1) of the crop that can change: the opening and
    the old and new iris disc, with margin."""
    x0, x1 = contour[:, 0].min(), contour[:, 0].max()
    y1 = contour[:, 1].max() + 1.5  # a closing lid passes the lower one by 1.5 px
    reach = iris_r + 1.0
    x0 = min(x0, iris_x - reach, iris_x + dx - reach)
    x1 = max(x1, iris_x + reach, iris_x + dx + reach)
    y1 = max(y1, iris_y + reach, iris_y + dy + reach)
    rows = min(max(math.ceil(y1) + _MARGIN, 1), CROP_H)
    col0 = min(max(math.floor(x0) - _MARGIN, 0), CROP_W - 1)
    col1 = min(max(math.ceil(x1) + _MARGIN, col0 + 1), CROP_W)
    return rows, col0, col1


@kernel
def _redirect_window(window: np.ndarray, lum: np.ndarray, mask: np.ndarray, contour: np.ndarray,
                     iris_x: float, iris_y: float, iris_r: float, dx: float, dy: float,
                     closing: float, col0: int, out: np.ndarray) -> None:
    """Redirect one crop's change window (uint8 (rows, cols, 3), its first column at crop x
    ``col0``; ``lum`` its R+G+B) into ``out`` (same shape)."""
    rows, cols = mask.shape
    pixels = window.astype(np.float64)
    opening = mask / 255.0
    old_iris = _disc(rows, cols, col0, iris_x, iris_y, iris_r)
    new_iris = _disc(rows, cols, col0, iris_x + dx, iris_y + dy, iris_r)
    seen = old_iris * opening

    # Eyeball without its iris: the white of the eye where the iris was, shaded as the white
    # beside it on the same row, softened by a slight blur.
    sclera = _sclera_colour(pixels, lum, opening, old_iris)
    fill = _sclera_fill(pixels, lum, opening, iris_x - col0, iris_y, iris_r, sclera)
    ball = np.empty_like(pixels)
    for y in range(rows):
        for x in range(cols):
            o = old_iris[y, x]
            for c in range(3):
                ball[y, x, c] = pixels[y, x, c] * (1.0 - o) + fill[y, c] * o
    blurred = _fill_blurred(ball, old_iris)

    # The iris itself, moved: sample the original at the pre-shift position. Where the moved
    # disc's source was hidden under a lid there is no iris texture to take, so those pixels
    # get the iris' mean colour instead of the lid's.
    iris_colour = _iris_colour(pixels, seen)
    eye = np.empty_like(pixels)
    moved = np.empty(3)
    for y in range(rows):
        y0, fy = split_position(y - dy)
        for x in range(cols):
            o, n, a = old_iris[y, x], new_iris[y, x], opening[y, x]
            if a == 0.0 or (n == 0.0 and o == 0.0):  # neither iris here: the pixel stays
                for c in range(3):
                    eye[y, x, c] = pixels[y, x, c]
                continue
            x0, fx = split_position(x - dx)
            valid = 0.0  # how much of the source is visible iris: bilinear taps
            for j in range(2):
                wy = fy if j else 1.0 - fy
                yy = y0 + j
                for i in range(2):
                    xx = x0 + i
                    if 0 <= yy < rows and 0 <= xx < cols:  # outside: no iris (weight 0)
                        valid += wy * (fx if i else 1.0 - fx) * seen[yy, xx]
            # Its colour: cubic taps (bilinear ones blurred the moved iris).
            cubic_sample(pixels, x0, fx, y0, fy, moved)
            for c in range(3):
                m = iris_colour[c] * (1.0 - valid) + moved[c] * valid
                b = ball[y, x, c] * (1.0 - o) + blurred[y, x, c] * o
                eye[y, x, c] = pixels[y, x, c] * (1.0 - a) + (b * (1.0 - n) + m * n) * a

    # Upper lid: follows vertical gaze, and closes for synthesised blinks. Only the opening's
    # columns move (the lid's share tapers to 0 at the corners); a shift this small would not
    # change a pixel after rounding, so the lid is left alone then.
    xs = np.arange(col0, col0 + cols).astype(np.float64)
    y_up = _interp(xs, contour[_UPPER, 0], contour[_UPPER, 1])
    y_lo = np.maximum(_interp(xs, contour[_LOWER, 0], contour[_LOWER, 1]), y_up)
    corner_ramp = 0.15 * (CORNER_X1 - CORNER_X0)
    follow = LID_FOLLOW_UP if dy < 0.0 else LID_FOLLOW_DOWN  # crop y points down: dy < 0 raises
    shifts = np.empty(cols)
    for x in range(cols):
        inside = min(max(min(xs[x] - CORNER_X0, CORNER_X1 - xs[x]) / corner_ramp, 0.0), 1.0)
        taper = math.sin(inside * math.pi / 2.0) ** 2
        lid = follow * dy
        if lid < 0.0:  # raising: the warp can only stretch what the opening shows
            lid = max(lid, -MAX_LID_LIFT * (y_lo[x] - y_up[x]))
        shifts[x] = taper * (lid + 1.5 * closing) + closing * (y_lo[x] - y_up[x])
    if np.abs(shifts).max() <= 0.05:
        for y in range(rows):
            for x in range(cols):
                for c in range(3):
                    out[y, x, c] = min(np.rint(eye[y, x, c]), 255.0)
        return
    for x in range(cols):
        src = _lid_source_rows(y_up[x], y_lo[x], shifts[x], rows)
        for y in range(rows):
            y0, fy = split_position(src[y])
            w = cubic_weights(fy)  # cubic taps down the column, edge rows repeat
            for c in range(3):
                value = 0.0
                for j in range(4):
                    value += w[j] * eye[min(max(y0 - 1 + j, 0), rows - 1), x, c]
                out[y, x, c] = min(max(np.rint(value), 0.0), 255.0)


@kernel
def _disc_contrast(lum: np.ndarray, mask: np.ndarray, cx: float, cy: float, radius: float,
                   stride: int = 1) -> float:
    """How much brighter the opening is in a thin ring just outside the disc (cx, cy, radius)
    than inside it (mean of R+G+B); very low where too little of either shows. ``stride`` 2
    reads every other row and column (a quarter of the work, for a coarse search)."""
    rows, cols = lum.shape
    inside = ring = 0.0
    n_inside = n_ring = 0
    in2, ring0, ring1 = (radius - 0.5) ** 2, (radius + 0.5) ** 2, (radius + 3.5) ** 2
    for y in range(max(int(cy - radius - 4.0), 0), min(int(cy + radius + 5.0), rows), stride):
        for x in range(max(int(cx - radius - 4.0), 0), min(int(cx + radius + 5.0), cols), stride):
            if mask[y, x] < 200:
                continue
            d2 = (x - cx) ** 2 + (y - cy) ** 2
            if d2 < in2:
                inside += lum[y, x]
                n_inside += 1
            elif ring0 < d2 < ring1:
                ring += lum[y, x]
                n_ring += 1
    if n_inside * stride * stride < 8 or n_ring * stride * stride < 4:
        return -1e9
    return ring / n_ring - inside / n_inside


@kernel
def _luminance(crop: np.ndarray) -> np.ndarray:
    """R+G+B of every pixel of a uint8 (rows, cols, 3) image, as float64 (rows, cols)."""
    rows, cols = crop.shape[:2]
    lum = np.empty((rows, cols))
    for y in range(rows):
        for x in range(cols):
            lum[y, x] = float(crop[y, x, 0]) + float(crop[y, x, 1]) + float(crop[y, x, 2])
    return lum


@kernel
def _located_iris(lum: np.ndarray, mask: np.ndarray, iris_x: float, iris_y: float,
                  radius: float) -> float:
    """Horizontal centre of the iris disc to move, found in the crop's pixels near the face
    mesh's (the vertical centre stays the mesh's).

    The mesh's iris centre can trail the real iris sideways by a few pixels of a 64 px crop
    on eye-only glances; a disc cut there leaves part of the real iris behind, which shows as
    a ghost iris beside the moved one. The disc goes where it is darkest against a thin ring
    just outside it: within ±IRIS_SEARCH_X x radius of the mesh's centre, 2 px apart and then
    1 px around the best, and only where that clearly beats the mesh's centre
    (IRIS_LOCATE_GAIN). Only sideways: up and down the lids hide the iris' edges and the dark
    lashes of the upper lid drew the search 2-4 px too high, which left the real iris' bottom
    behind as a dark arc under the moved one. ``lum``: the crop's R+G+B (_luminance)."""
    coarse, bx = -1e9, iris_x
    reach = int(IRIS_SEARCH_X * radius)
    for i in range(-reach, reach + 1, 2):
        s = _disc_contrast(lum, mask, iris_x + i, iris_y, radius, 2)
        if s > coarse:
            coarse, bx = s, iris_x + i
    base = _disc_contrast(lum, mask, iris_x, iris_y, radius)
    best, cx = base, bx
    for i in range(-1, 2):
        s = _disc_contrast(lum, mask, cx + i, iris_y, radius)
        if s > best:
            best, bx = s, cx + i
    return bx if best >= base + IRIS_LOCATE_GAIN else iris_x


@kernel
def _iris_radius(lum: np.ndarray, mask: np.ndarray, iris_x: float, iris_y: float, radius: float) -> float:
    """Radius of the disc to move: the mesh's (``radius``), or larger where the pixels show
    a larger iris, i.e. where a disc up to IRIS_RADIUS_MAX times as large, 0.5 px apart, has
    the best contrast against the ring just outside it, clearly (IRIS_LOCATE_GAIN) better
    than the mesh's size has. The face mesh's iris ring can be smaller than the iris (a
    child's eyes on a development clip): a disc of its size moved the iris' middle and left
    its rim behind as a dark ring."""
    base = _disc_contrast(lum, mask, iris_x, iris_y, radius)
    best, chosen = base, radius
    steps = int((IRIS_RADIUS_MAX - 1.0) * radius / 0.5)
    for k in range(1, steps + 1):
        r = radius + 0.5 * k
        s = _disc_contrast(lum, mask, iris_x, iris_y, r)
        if s > best:
            best, chosen = s, r
    if best < base + IRIS_LOCATE_GAIN:
        return radius  # no clearly larger iris (lashes and glasses' rims darken rings too)
    # A larger disc found in the pixels ends on the iris' last dark pixels; half a pixel more
    # takes them whole through the disc's 1 px soft edge (LIMBUS does that for the mesh's).
    return chosen + 0.5


@kernel
def iris_placement(lum: np.ndarray, mask: np.ndarray, contour: np.ndarray, iris_x: float, iris_y: float,
                   iris_r: float, dx: float, dy: float) -> tuple[float, float, float]:
    """Where the disc is cut (its x; y stays the mesh's), its radius, and the vertical shift
    it gets: _located_iris, _iris_radius (then _located_iris again at a larger radius), and
    _limited_rise."""
    x = _located_iris(lum, mask, iris_x, iris_y, iris_r)
    r = _iris_radius(lum, mask, x, iris_y, iris_r)
    if r > iris_r:  # a larger iris: locate it again with its own size
        x = _located_iris(lum, mask, iris_x, iris_y, r)
    return x, r, _limited_rise(contour, x, iris_y, r, dx, dy)


@kernel
def _redirect_crops(crops: np.ndarray, masks: np.ndarray, contours: np.ndarray,
                    params: np.ndarray) -> np.ndarray:
    """Redirect n crops ((n, H, W, 3) uint8, opening masks (n, H, W) uint8, lid contours
    (n, 16, 2)); ``params`` rows: iris x, y, radius, shift x, y (crop pixels), closing 0..1."""
    out = crops.copy()
    for k in range(len(crops)):
        iris_x, iris_y, iris_r, dx, dy, closing = params[k]
        lum = _luminance(crops[k])
        iris_x, iris_r, dy = iris_placement(lum, masks[k], contours[k], iris_x, iris_y, iris_r, dx, dy)
        rows, col0, col1 = _change_window(contours[k], iris_x, iris_y, iris_r, dx, dy)
        _redirect_window(crops[k, :rows, col0:col1], lum[:rows, col0:col1], masks[k, :rows, col0:col1],
                         contours[k], iris_x, iris_y, iris_r, dx, dy, closing, col0,
                         out[k, :rows, col0:col1])
    return out


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
            params = np.array([(float(e.iris_center[0]), float(e.iris_center[1]),
                                max(e.iris_radius, 1.0) * LIMBUS, dx, dy, closing)
                               for _, e, dx, dy, closing in todo])
            contours = [e.lid_contour for e in eyes]
            done = _redirect_crops(np.stack([e.pixels for e in eyes]), opening_masks(contours),
                                   np.stack(contours).astype(np.float64), params)
            for k, (i, *_) in enumerate(todo):
                out[i] = done[k]
        return out  # type: ignore[return-value]
