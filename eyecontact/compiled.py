"""Compiled per-pixel kernels: the decorator every stage uses, and sampling helpers they share.

The stages that touch pixels of small images (the analytic redirector, compositing) are numba
kernels. At eye-crop size a numpy or OpenCV call costs mostly its fixed overhead, and that
overhead roughly doubles when the call runs right after the face-mesh graph, which pushes this
code out of the CPU caches: a few small compiled loops are several times cheaper than the
dozens of library calls they replace. Kernels are compiled on first use and cached on disk.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
from numba import njit

F = TypeVar("F", bound=Callable)

SUBPIXEL_BITS = 5  # sampling positions are rounded to 1/32 px, as OpenCV's remap and warps do
_SUBPIXEL = float(1 << SUBPIXEL_BITS)
_SUBPIXEL_MASK = (1 << SUBPIXEL_BITS) - 1


def kernel(fn: F) -> F:
    """Compile ``fn`` with numba (releasing the GIL), cached on disk between runs."""
    try:
        return njit(cache=True, nogil=True)(fn)  # type: ignore[return-value]
    except RuntimeError:  # no writable cache location (read-only install and home): compile per run
        return njit(nogil=True)(fn)  # type: ignore[return-value]


@kernel
def split_position(v: float) -> tuple[int, float]:
    """Integer part and 1/32-rounded fraction of a sampling position."""
    q = int(np.rint(v * _SUBPIXEL))
    return q >> SUBPIXEL_BITS, (q & _SUBPIXEL_MASK) / _SUBPIXEL


# Keys' cubic convolution with a = -0.75, OpenCV's INTER_CUBIC. Resampling an eye crop out of the
# frame and back with bilinear taps kept 54-70% of the eye opening's detail (mean |Laplacian|) on
# the development clips, with these taps 82-93%: the eyes no longer come back visibly soft.
_CUBIC_A = -0.75


@kernel
def cubic_weights(f: float) -> tuple[float, float, float, float]:
    """Weights of the taps at -1, 0, 1 and 2 pixels for a sample a fraction ``f`` (0..1) past
    the tap at 0. They sum to 1; some are negative (the kernel sharpens a little)."""
    a = _CUBIC_A
    g = 1.0 - f
    w0 = ((a * (f + 1.0) - 5.0 * a) * (f + 1.0) + 8.0 * a) * (f + 1.0) - 4.0 * a
    w1 = ((a + 2.0) * f - (a + 3.0)) * f * f + 1.0
    w2 = ((a + 2.0) * g - (a + 3.0)) * g * g + 1.0
    return w0, w1, w2, 1.0 - w0 - w1 - w2


@kernel
def cubic_sample(image: np.ndarray, x0: int, fx: float, y0: int, fy: float, out: np.ndarray) -> None:
    """The colour of ``image`` ((rows, cols, 3)) a fraction (``fx``, ``fy``) past pixel
    (``x0``, ``y0``), from cubic taps (edge pixels repeat), clipped to 0..255, into ``out``."""
    rows, cols = image.shape[:2]
    wx, wy = cubic_weights(fx), cubic_weights(fy)
    out[:] = 0.0
    for j in range(4):
        yy = min(max(y0 - 1 + j, 0), rows - 1)
        for i in range(4):
            xx = min(max(x0 - 1 + i, 0), cols - 1)
            w = wy[j] * wx[i]
            for c in range(3):
                out[c] += w * image[yy, xx, c]
    for c in range(3):
        out[c] = min(max(out[c], 0.0), 255.0)


_warmed = False  # set once every kernel has run in this process


def warm_up(notice: Callable[[], None] | None = None, notice_after_s: float = 1.0) -> float:
    """Compile every kernel now (or load it from the disk cache), so the cost falls on start-up
    and not on the first frame with a face. Returns the seconds it took; 0 once done.

    ``notice`` is called if this takes longer than ``notice_after_s`` (a first-run compile
    takes some seconds; loading from the cache a fraction of one), so a user can be told why
    nothing seems to happen.
    """
    global _warmed
    if _warmed:
        return 0.0
    import threading
    import time

    start = time.perf_counter()
    timer = threading.Timer(notice_after_s, notice) if notice is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        _run_every_kernel()
    finally:
        if timer is not None:
            timer.cancel()
    _warmed = True
    return time.perf_counter() - start


def _run_every_kernel() -> None:
    from .composite import composite_eyes
    from .eyecrop import CROP_H, CROP_W, CORNER_X0, CORNER_X1, CORNER_Y
    from .redirect.analytic import AnalyticRedirector
    from .smoothing import landmark_filter
    from .types import EyeCrop, EyeRequest

    # A plain drawn eye: grey skin, an almond opening, a dark iris in the middle.
    pixels = np.full((CROP_H, CROP_W, 3), 150, np.uint8)
    xs = np.linspace(CORNER_X0, CORNER_X1, 9)
    half = 6.0 * np.sin(np.linspace(0.0, np.pi, 9))
    contour = np.concatenate([np.stack([xs, CORNER_Y - half], 1)[:8], np.stack([xs, CORNER_Y + half], 1)[1:]])
    centre = np.array([(CORNER_X0 + CORNER_X1) / 2.0, CORNER_Y])
    pixels[int(CORNER_Y) - 4:int(CORNER_Y) + 4, int(centre[0]) - 4:int(centre[0]) + 4] = 40
    to_frame = np.array([[1.0, 0.0, 10.0], [0.0, 1.0, 10.0]])
    to_crop = np.array([[1.0, 0.0, -10.0], [0.0, 1.0, -10.0]])
    eye = EyeCrop("right", pixels, to_crop, to_frame, contour, centre, 5.0, 12.0)
    moved = AnalyticRedirector().redirect([eye], [EyeRequest(-10.0, 5.0, 8.0, -4.0, 0.8)])
    composite_eyes(np.zeros((CROP_H + 20, CROP_W + 20, 3), np.uint8), [eye], moved)
    smoother = landmark_filter()
    smoother(contour, 0.0)
    smoother(contour + 1.0, 0.04)
