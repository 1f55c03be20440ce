"""Draws the tray icons (assets/icons/*.png) with OpenCV: run `python assets/make_icons.py`.

An eye looking straight out (on) and a grey eye with a slash (off), drawn at 4x and
downsampled for smooth edges, with a transparent background.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZES = (32, 64, 256)
SUPERSAMPLE = 4


def draw_eye(size: int, on: bool) -> np.ndarray:
    """RGBA image of the icon."""
    s = size * SUPERSAMPLE
    img = np.zeros((s, s, 4), np.uint8)
    c = s // 2
    # Almond-shaped eye: the intersection of two large circles.
    r = int(s * 0.62)
    off = int(s * 0.36)
    mask_a = np.zeros((s, s), np.uint8)
    mask_b = np.zeros((s, s), np.uint8)
    cv2.circle(mask_a, (c, c + off), r, 255, -1)
    cv2.circle(mask_b, (c, c - off), r, 255, -1)
    almond = cv2.bitwise_and(mask_a, mask_b)
    outline = cv2.dilate(almond, np.ones((s // 16, s // 16), np.uint8))
    ink = (40, 120, 220) if on else (120, 120, 120)
    img[outline > 0] = (*ink, 255)
    img[almond > 0] = (255, 255, 255, 255)
    iris = (30, 140, 230) if on else (150, 150, 150)
    cv2.circle(img, (c, c), int(s * 0.19), (*iris, 255), -1, cv2.LINE_AA)
    cv2.circle(img, (c, c), int(s * 0.08), (20, 20, 30, 255), -1, cv2.LINE_AA)
    cv2.circle(img, (c - int(s * 0.06), c - int(s * 0.06)), int(s * 0.035),
               (255, 255, 255, 255), -1, cv2.LINE_AA)
    if not on:
        t = max(2, s // 12)
        cv2.line(img, (int(s * 0.18), int(s * 0.82)), (int(s * 0.82), int(s * 0.18)),
                 (255, 255, 255, 255), t + s // 16, cv2.LINE_AA)
        cv2.line(img, (int(s * 0.18), int(s * 0.82)), (int(s * 0.82), int(s * 0.18)),
                 (200, 50, 50, 255), t, cv2.LINE_AA)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def main() -> None:
    out = Path(__file__).resolve().parent / "icons"
    out.mkdir(exist_ok=True)
    for on in (True, False):
        name = "eyecontact-on" if on else "eyecontact-off"
        for size in SIZES:
            rgba = draw_eye(size, on)
            suffix = "" if size == 64 else f"-{size}"
            cv2.imwrite(str(out / f"{name}{suffix}.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    print(f"wrote icons to {out}")


if __name__ == "__main__":
    main()
