"""Generated eyelid apertures with known blinks, shared by the blink and controller tests."""

from __future__ import annotations

OPEN = 0.32  # a typical open-eye aperture (lid opening / eye width)
SHUT = 0.03


def blink_shape(u: float, close: float = 0.08, shut: float = 0.06, reopen: float = 0.16,
                low: float = SHUT, top: float = OPEN) -> float:
    """Aperture ``u`` seconds into a blink: top -> low (close) -> held (shut) -> top (reopen)."""
    if u < 0 or u > close + shut + reopen:
        return top
    if u < close:
        k = u / close
    elif u < close + shut:
        k = 1.0
    else:
        k = 1.0 - (u - close - shut) / reopen
    return top - k * (top - low)
