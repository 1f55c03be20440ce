"""Blinks: detect the person's real blinks, and synthesise natural ones when none can be seen.

Real blinks matter because a corrected eye must close when the real eye closes (never be held
open), and reopen without a pop. Synthetic blinks matter because a fully corrected face that
never blinks reads as a stare; people reading with lowered lids do blink, but the camera cannot
see it, so after a while without a visible blink we add some (blinks="auto").

Apertures are lid opening / eye width (about 0.25-0.4 open, < 0.1 closed), per eye.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

LidPhase = Literal["open", "blink", "closed"]


# --------------------------------------------------------------------------------------------
# Real blink detection
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlinkDetectorParams:
    baseline_window_s: float = 20.0  # history for the open-aperture baseline
    baseline_percentile: float = 90.0  # high percentile: blinks and glances down barely move it
    min_history_s: float = 0.5  # no decisions before this much history (no baseline yet)
    close_ratio: float = 0.4  # both eyes below this share of their baseline = closed
    min_drop: float = 0.3  # ... and the more open eye fell by this much of its baseline
    min_pre_open: float = 0.75  # ... from at least this share of its baseline (eyes were open)
    fast_close_s: float = 0.17  # ... within this time: a blink closes in ~100 ms, looking down
    # with lowered lids takes longer (robustness against reading / glancing down)
    reopen_fraction: float = 0.45  # reopened once back up this share of the way to pre-blink
    max_blink_s: float = 0.6  # closed for longer: not a blink but lids kept low or shut
    reopen_from_closed_ratio: float = 0.5  # leave the long-closure phase above this ratio


@dataclass(frozen=True)
class BlinkEvent:
    start_s: float  # when the closure was detected (eyes already mostly closed)
    end_s: float  # when the eyes were seen reopening


@dataclass(frozen=True)
class LidObservation:
    """What the detector concluded for one frame."""

    phase: LidPhase  # open | blink (a real blink in progress) | closed (lids low for long)
    openness: float | None  # relative aperture of the more open visible eye (1 = baseline)
    baseline: dict[str, float | None]  # per-eye open aperture
    blink_started: bool = False  # a blink onset was detected on this frame
    blink_ended: BlinkEvent | None = None  # a blink completed on this frame


class BlinkDetector:
    """Detects real blinks from the per-eye lid aperture over time, for one face.

    A blink is both visible eyes closing fast (the more open eye drops from near its baseline
    to below ``close_ratio`` of it within ``fast_close_s``) and reopening within
    ``max_blink_s``. Lowering the lids to look down is slow and is not counted; a closure that
    lasts too long turns into the "closed" phase and is not counted as a blink either.
    """

    def __init__(self, params: BlinkDetectorParams | None = None) -> None:
        self.params = params or BlinkDetectorParams()
        self.events: list[BlinkEvent] = []
        self.reset()

    def reset(self) -> None:
        self._hist: dict[str, deque[tuple[float, float]]] = {"right": deque(), "left": deque()}
        # (t, openness of the more open eye, which eyes were measured)
        self._recent: deque[tuple[float, float, frozenset[str]]] = deque()
        self._phase: LidPhase = "open"
        self._blink_start = 0.0
        self._pre = 1.0
        self._min = 1.0
        self._last_t: float | None = None
        self._updates = 0
        self._base_cache: dict[str, tuple[float | None, int]] = {}

    @property
    def phase(self) -> LidPhase:
        return self._phase

    BASELINE_EVERY = 8  # frames between recomputations: a 20 s percentile barely moves per frame

    def baseline(self, side: str) -> float | None:
        cached = self._base_cache.get(side)
        if cached is not None and cached[0] is not None and self._updates - cached[1] < self.BASELINE_EVERY:
            return cached[0]
        hist = self._hist[side]
        if len(hist) < 3 or hist[-1][0] - hist[0][0] < self.params.min_history_s:
            value = None
        else:
            value = float(np.percentile([a for _, a in hist], self.params.baseline_percentile))
        self._base_cache[side] = (value, self._updates)
        return value

    def update(self, t: float, apertures: dict[str, float | None]) -> LidObservation:
        """Feed one frame: ``apertures`` maps "right"/"left" to the aperture, None if unseen."""
        p = self.params
        if self._last_t is not None and t < self._last_t:
            self.reset()  # time ran backwards (new clip, looped file): start over
        self._last_t = t
        self._updates += 1

        ratios: list[float] = []
        sides: set[str] = set()
        baselines: dict[str, float | None] = {}
        for side in ("right", "left"):
            a = apertures.get(side)
            hist = self._hist[side]
            if a is not None and math.isfinite(a):
                hist.append((t, float(a)))
            while hist and t - hist[0][0] > p.baseline_window_s:
                hist.popleft()
            base = self.baseline(side)
            baselines[side] = base
            if a is not None and math.isfinite(a) and base is not None and base > 1e-6:
                ratios.append(float(a) / base)
                sides.add(side)

        if not ratios:
            # Nothing measurable this frame: keep the phase, but a blink can't last forever.
            if self._phase == "blink" and t - self._blink_start > p.max_blink_s:
                self._phase = "closed"
            return LidObservation(self._phase, None, baselines)

        m = max(ratios)  # both eyes closed <=> the more open one is closed
        seen = frozenset(sides)
        self._recent.append((t, m, seen))
        while self._recent and t - self._recent[0][0] > p.fast_close_s:
            self._recent.popleft()
        # Only compare like with like: if the more open eye just went out of view, the drop
        # of the remaining eye's value is not a closure.
        peak = max(v for _, v, s in self._recent if s == seen)

        started = False
        ended: BlinkEvent | None = None
        if self._phase in ("open", "closed"):
            if m < p.close_ratio and peak - m >= p.min_drop and peak >= p.min_pre_open:
                self._phase = "blink"
                self._blink_start, self._pre, self._min = t, peak, m
                started = True
            elif self._phase == "open" and m < p.close_ratio:
                # Slowly lowered below the closed level: lids kept low, not a blink.
                self._phase = "closed"
            elif self._phase == "closed" and m >= p.reopen_from_closed_ratio:
                self._phase = "open"
        elif self._phase == "blink":
            self._min = min(self._min, m)
            reopen_level = self._min + p.reopen_fraction * (self._pre - self._min)
            if m >= reopen_level:
                ended = BlinkEvent(self._blink_start, t)
                self.events.append(ended)
                self._phase = "open" if m >= p.close_ratio else "closed"
                # Looking down right after a blink is common: the phase may be "closed" then,
                # but the blink itself counted.
            elif t - self._blink_start > p.max_blink_s:
                self._phase = "closed"
        return LidObservation(self._phase, m, baselines, started, ended)


# --------------------------------------------------------------------------------------------
# Synthetic blinks
# --------------------------------------------------------------------------------------------


def _ease(u: float) -> float:
    """Smooth 0->1 (cosine ease): no velocity jump at either end."""
    u = min(max(u, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * u)


@dataclass(frozen=True)
class BlinkProfile:
    """Openness over one blink: a fast close, a short closed phase, a slower reopening."""

    start_s: float
    close_s: float = 0.10
    closed_s: float = 0.045
    open_s: float = 0.20
    depth: float = 1.0  # 1 = lids fully closed at the bottom

    @property
    def end_s(self) -> float:
        return self.start_s + self.close_s + self.closed_s + self.open_s

    def openness(self, t: float) -> float:
        """Lid openness in 0..1 at time t (1 outside the blink)."""
        u = t - self.start_s
        if u <= 0.0 or t >= self.end_s:
            return 1.0
        if u < self.close_s:
            closing = _ease(u / self.close_s)
        elif u < self.close_s + self.closed_s:
            closing = 1.0
        else:
            closing = 1.0 - _ease((u - self.close_s - self.closed_s) / self.open_s)
        return float(1.0 - self.depth * closing)


@dataclass(frozen=True)
class BlinkSynthParams:
    rate_per_min: float = 17.0  # people blink ~15-20 times a minute in conversation
    min_gap_s: float = 1.2  # never two blinks closer than this
    gamma_shape: float = 3.0  # interval spread: shape 3 gives irregular but not bursty timing
    idle_before_auto_s: float = 7.0  # blinks="auto": synthesise after this long without one
    close_s: tuple[float, float] = (0.08, 0.12)
    closed_s: tuple[float, float] = (0.03, 0.06)
    open_s: tuple[float, float] = (0.15, 0.25)


class BlinkSynthesizer:
    """Schedules synthetic blinks at a natural rate; deterministic for a given generator.

    mode "off": never; "always": at the natural rate, skipping any that would come too soon
    after a real blink; "auto": only once no real blink has been seen for
    ``idle_before_auto_s``, and only until the next real one.
    """

    def __init__(self, mode: str, rng: np.random.Generator, fps_hint: float = 30.0,
                 params: BlinkSynthParams | None = None) -> None:
        if mode not in ("off", "auto", "always"):
            raise ValueError(f"blinks must be off, auto or always, not {mode!r}")
        self.mode = mode
        self.rng = rng
        self.params = params or BlinkSynthParams()
        # At low frame rates a 30 ms closed phase could fall between two frames: make every
        # phase last at least one frame so each blink is actually seen.
        self._frame_s = 1.0 / max(fps_hint, 1.0)
        self.current: BlinkProfile | None = None
        self.history: list[BlinkProfile] = []
        self._next: float | None = None
        self._last_real: float | None = None
        self._start: float | None = None

    def set_mode(self, mode: str) -> None:
        """Switch off/auto/always while running; a blink in progress finishes."""
        if mode not in ("off", "auto", "always"):
            raise ValueError(f"blinks must be off, auto or always, not {mode!r}")
        if mode != self.mode:
            self.mode = mode
            self._next = None

    def interval(self) -> float:
        """One random gap between blink starts (min gap + gamma), mean = 60 / rate."""
        p = self.params
        mean_extra = max(60.0 / p.rate_per_min - p.min_gap_s, 0.05)
        return p.min_gap_s + float(self.rng.gamma(p.gamma_shape, mean_extra / p.gamma_shape))

    def make_profile(self, start_s: float) -> BlinkProfile:
        p = self.params
        f = self._frame_s
        return BlinkProfile(
            start_s=start_s,
            close_s=max(float(self.rng.uniform(*p.close_s)), f),
            closed_s=max(float(self.rng.uniform(*p.closed_s)), f),
            open_s=max(float(self.rng.uniform(*p.open_s)), 2 * f),
        )

    def note_real_blink(self, t: float) -> None:
        """A real blink was seen at t: "auto" stops synthesising, "always" keeps its distance."""
        self._last_real = t
        self.current = None  # the real eye closes: a synthetic one on top would double it
        if self.mode == "always" and self._next is not None:
            self._next = max(self._next, t + self.params.min_gap_s)
        elif self.mode == "auto":
            self._next = None

    def update(self, t: float, allowed: bool = True) -> float:
        """Openness (0..1) of the synthetic blink at t, 1.0 when none is running.

        ``allowed``: whether a new blink may start now (e.g. the face is being corrected and the
        real eyes are open); a running blink always finishes so it never cuts off half-closed.
        """
        if self.mode == "off":
            if self.current is not None and self.current.start_s <= t < self.current.end_s:
                return self.current.openness(t)  # switched off mid-blink: let it finish
            self.current = None
            return 1.0
        if self._start is None or t < self._start:
            self._start = t
            self._next = None
            self.current = None
        if self.current is not None:
            if t < self.current.end_s:
                return self.current.openness(t)
            self.current = None

        if self.mode == "auto":
            idle_since = self._last_real if self._last_real is not None else self._start
            if t - idle_since < self.params.idle_before_auto_s:
                self._next = None
                return 1.0
            if self._next is None:
                # Overdue already: start soon, but at a random moment, not on a fixed tick.
                self._next = t + float(self.rng.uniform(0.0, 1.0))
        elif self._next is None:
            self._next = t + self.interval()

        if t >= self._next:
            self._next = t + self.interval()
            if allowed:
                self.current = self.make_profile(t)
                self.history.append(self.current)
                return self.current.openness(t)
        return 1.0


@dataclass
class BlinkStats:
    """Summary of a list of blinks (for tests and reports)."""

    count: int
    rate_per_min: float
    mean_interval_s: float
    min_interval_s: float
    intervals: list[float] = field(default_factory=list)


def blink_stats(starts: list[float], duration_s: float) -> BlinkStats:
    iv = list(np.diff(np.asarray(starts, dtype=np.float64))) if len(starts) > 1 else []
    return BlinkStats(
        count=len(starts),
        rate_per_min=60.0 * len(starts) / duration_s if duration_s > 0 else 0.0,
        mean_interval_s=float(np.mean(iv)) if iv else 0.0,
        min_interval_s=float(np.min(iv)) if iv else 0.0,
        intervals=[float(x) for x in iv],
    )
