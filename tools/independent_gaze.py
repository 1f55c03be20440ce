"""Measure gaze redirection with an estimator that shares nothing with eyecontact.

    python tools/independent_gaze.py INPUT.mp4 CORRECTED.mp4 [CORRECTED2.mp4 ...] [--json F]

eyecontact's own clip report (tools/clip_report.py) re-detects the iris with the same
MediaPipe face mesh and eyeball model that chose the correction, so it can agree with itself.
This script reads the gaze with GazeFollower's appearance-based network instead: a CNN that
looks at the face and eye pixels (trained on millions of webcam images of people looking at
known screen points) and returns where on the screen plane the person looks, in cm from the
camera (x to the right as the person sees the screen, y up). Its face and eye boxes come from
its own MediaPipe Tasks landmarker, not from eyecontact's face mesh.

Read its figures with two limits in mind (measured on the six development clips):
- uncalibrated, it compresses gaze: vertical ranges come out about a third of the ranges
  another independent estimator gave for the same clips, horizontal ones nearly flat; a
  change it reports is therefore a lower bound of the real change;
- its zero is its training set's typical screen position, so who looks 10-20 deg below the
  camera by its reading is only roughly who does.

It is not a dependency of eyecontact: its weights are licensed CC BY-NC-SA 4.0 and its package
pins another OpenCV build. Install it beside the project in a separate environment:

    python3 -m venv .venv-eval
    .venv-eval/bin/pip install mediapipe==0.10.21 MNN av pygame screeninfo pandas
    .venv-eval/bin/pip install --no-deps gazefollower==1.1.0

then process a clip with eyecontact and compare:

    .venv/bin/eyecontact process clip.mp4 -o fixed.mp4 --seed 0 --report fixed.json
    .venv-eval/bin/python tools/independent_gaze.py clip.mp4 fixed.mp4 --decisions fixed.json

(--decisions is optional: with it the figures are also given over the frames eyecontact
corrected at full share, which tells the redirector's effect apart from the controller's
decisions. --reference-pitch P5 P95, the clip's vertical gaze range by another estimator,
adds every figure again with this network's vertical angles mapped onto that range, which
undoes most of its compression on that clip.)

Degrees: the network gives a point on the screen plane, not an angle. The angle between the
gaze and the camera is atan(distance of that point from the camera / viewing distance).
The viewing distance is not known for recorded clips; it is a parameter (--distance-cm,
default 50 cm, a laptop at arm's length) and the summary also gives the figures at 40 and
65 cm so the reader sees how much they depend on it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import json
import math
import os
import sys
from pathlib import Path

import av
import numpy as np

# The acceptance case: the person looks 10-20 degrees below the camera and at most 10 to the side.
BELOW_MIN_DEG, BELOW_MAX_DEG, SIDE_MAX_DEG = 10.0, 20.0, 10.0
AT_CAMERA_MAX_DEG = 5.0


@contextlib.contextmanager
def _stdout_silenced():
    """Silence what the estimator's packages print (Python and native code alike, on loading
    and on some frames), so this tool's stdout carries its JSON lines only."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 1)
            yield
    finally:
        _flush_native_stdout()  # native code buffers its output: let it go to /dev/null
        os.dup2(saved, 1)
        os.close(saved)


def _flush_native_stdout() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to ask (not a POSIX system)
        pass


class IndependentGaze:
    """GazeFollower's landmarker and gaze network, one frame at a time (RGB in)."""

    def __init__(self) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        with _stdout_silenced():
            from gazefollower.face_alignment import MediaPipeFaceAlignment
            from gazefollower.gaze_estimator import MGazeNetGazeEstimator

            # No smoothing: every frame is read on its own, so input and output frames are
            # compared one to one.
            self._faces = MediaPipeFaceAlignment(enable_filter=False)
            self._gaze = MGazeNetGazeEstimator()

    def point_cm(self, rgb: np.ndarray, timestamp_ms: int) -> tuple[float, float] | None:
        # GazeFollower's own camera loop hands RGB frames to both stages; do the same. (Where
        # its landmarker finds no face it loads a fallback detector, which prints.)
        with _stdout_silenced():
            face = self._faces.detect(timestamp_ms, rgb)
            if not face.status or not face.can_gaze_estimation:
                return None
            gaze = self._gaze.detect(rgb, face)
        if not gaze.status:
            return None
        x, y = (float(v) for v in gaze.raw_gaze_coordinates[:2])
        return x, y

    def close(self) -> None:
        self._faces.release()


def read_points(path: Path, estimator: IndependentGaze) -> list[tuple[float, float] | None]:
    points: list[tuple[float, float] | None] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for i, frame in enumerate(container.decode(stream)):
            ms = int(round(float(frame.time) * 1000)) if frame.time is not None else i
            points.append(estimator.point_cm(frame.to_ndarray(format="rgb24"), ms))
    return points


def angles_deg(point: tuple[float, float], distance_cm: float) -> tuple[float, float, float]:
    """(offset from the camera, degrees below it, degrees to the side) of a screen-plane point."""
    x, y = point
    offset = math.degrees(math.atan(math.hypot(x, y) / distance_cm))
    below = math.degrees(math.atan(-y / distance_cm))
    side = abs(math.degrees(math.atan(x / distance_cm)))
    return offset, below, side


def _median(values: list[float]) -> float | None:
    return round(float(np.median(values)), 2) if values else None


def summarise(before: list, after: list, distance_cm: float, full_share: list[bool] | None = None) -> dict:
    """Medians over the frames read in both videos. ``full_share``: per frame, whether
    eyecontact corrected it at full share (from its --report); adds the same medians over
    those frames alone, which separate what the redirector does from what the controller
    decided."""
    full = full_share if full_share is not None else [False] * len(before)
    pairs = [(b, a, f) for b, a, f in zip(before, after, full) if b is not None and a is not None]
    below_gain, range_gain, at_camera_before, at_camera_after, moved_cm = [], [], [], [], []
    full_below, full_range = [], []
    for b, a, f in pairs:
        off_b, down_b, side_b = angles_deg(b, distance_cm)
        off_a, _, _ = angles_deg(a, distance_cm)
        moved_cm.append(math.hypot(b[0] - a[0], b[1] - a[1]))
        if BELOW_MIN_DEG <= down_b <= BELOW_MAX_DEG and side_b <= SIDE_MAX_DEG:
            below_gain.append(off_b - off_a)
            if f:
                full_below.append(off_b - off_a)
        if 8.0 <= off_b <= 20.0:
            range_gain.append(off_b - off_a)
            if f:
                full_range.append(off_b - off_a)
        if off_b < AT_CAMERA_MAX_DEG:
            at_camera_before.append(off_b)
            at_camera_after.append(off_a)
    full_share_figures = {} if full_share is None else {
        "full_share_below_frames": len(full_below),
        "full_share_below_improvement_median": _median(full_below),
        "full_share_in_range_frames": len(full_range),
        "full_share_in_range_improvement_median": _median(full_range),
    }
    return {
        "distance_cm": distance_cm,
        "frames_read": len(pairs),
        "below_frames": len(below_gain),
        "below_improvement_median": _median(below_gain),
        "in_range_frames": len(range_gain),
        "in_range_improvement_median": _median(range_gain),
        "at_camera_frames": len(at_camera_after),
        "at_camera_offset_before_median": _median(at_camera_before),
        "at_camera_offset_after_median": _median(at_camera_after),
        "point_moved_cm_median": _median(moved_cm),
        **full_share_figures,
    }


def _angles(points: list, distance_cm: float) -> np.ndarray:
    """(yaw, pitch) in degrees (to the right on screen, up > 0) of the points read, (n, 2)."""
    read = np.array([p for p in points if p is not None], float).reshape(-1, 2)
    return np.degrees(np.arctan(read / distance_cm))


def vertical_calibration(before: list, distance_cm: float, reference_p5_p95: tuple[float, float]
                         ) -> tuple[float, float]:
    """(gain, offset) of the affine map that gives the input's vertical gaze angles (degrees,
    looking up > 0) the 5th..95th percentile range another estimator measured on the same clip.
    This network compresses vertical gaze by a clip-dependent factor; on a clip with such a
    reference the calibrated figures are on that estimator's scale."""
    p5, p95 = np.percentile(_angles(before, distance_cm)[:, 1], [5, 95])
    r5, r95 = reference_p5_p95
    gain = (r95 - r5) / max(p95 - p5, 1e-6)
    return float(gain), float(r5 - gain * p5)


def calibrated(points: list, distance_cm: float, gain: float, offset: float) -> list:
    """``points`` with their vertical angle mapped by ``gain * angle + offset`` (horizontal kept)."""
    out = []
    for p in points:
        if p is None:
            out.append(None)
            continue
        angle = gain * math.degrees(math.atan(p[1] / distance_cm)) + offset
        out.append((p[0], distance_cm * math.tan(math.radians(max(min(angle, 80.0), -80.0)))))
    return out


def full_share_frames(report_path: Path) -> list[bool]:
    """Per frame of an ``eyecontact process --report FILE.json``: was its first face corrected
    at (nearly) full share?"""
    frames = json.loads(report_path.read_text())["frames"]
    return [bool(f["faces"]) and bool(f["faces"][0].get("corrected"))
            and (f["faces"][0].get("share") or 0.0) >= 0.95 for f in frames]


def spread(points: list, distance_cm: float) -> dict:
    """5th..95th percentile of the gaze angles of a clip (yaw > 0: to the right on screen)."""
    angles = _angles(points, distance_cm)
    if not len(angles):
        return {}
    yaw, pitch = angles[:, 0], angles[:, 1]
    return {
        "yaw_p5_p95": [round(float(np.percentile(yaw, 5)), 1), round(float(np.percentile(yaw, 95)), 1)],
        "pitch_p5_p95": [round(float(np.percentile(pitch, 5)), 1), round(float(np.percentile(pitch, 95)), 1)],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path, help="the original clip")
    ap.add_argument("corrected", type=Path, nargs="+", help="one or more processed versions of it")
    ap.add_argument("--distance-cm", type=float, default=50.0,
                    help="viewing distance used to turn screen points into angles (default 50)")
    ap.add_argument("--json", type=Path, help="also write per-frame points and the summary here")
    ap.add_argument("--reference-pitch", type=float, nargs=2, metavar=("P5", "P95"),
                    help="5th and 95th percentile of the input's vertical gaze (degrees, up > 0) "
                         "by another estimator: also report every figure with this network's "
                         "vertical angles mapped onto that range")
    ap.add_argument("--decisions", type=Path, nargs="+", metavar="REPORT.json",
                    help="eyecontact's --report JSON of each corrected file: adds the figures over "
                         "the frames it corrected at full share")
    args = ap.parse_args(argv)
    if args.decisions and len(args.decisions) != len(args.corrected):
        print("independent_gaze: give one --decisions report per corrected file", file=sys.stderr)
        return 2
    for path in [args.input, *args.corrected, *(args.decisions or [])]:
        if not path.is_file():
            print(f"independent_gaze: no such file: {path}", file=sys.stderr)
            return 2
    try:
        estimator = IndependentGaze()
    except ImportError as err:
        print(f"independent_gaze: GazeFollower is not installed ({err}); see the top of this file",
              file=sys.stderr)
        return 2
    before = read_points(args.input, estimator)
    result: dict = {"input": args.input.name, "input_spread": spread(before, args.distance_cm),
                    "input_points_cm": before, "outputs": []}
    for k, path in enumerate(args.corrected):
        full = full_share_frames(args.decisions[k]) if args.decisions else None
        after = read_points(path, estimator)
        if len(after) != len(before):
            print(f"independent_gaze: {path} has {len(after)} frames, the input {len(before)}",
                  file=sys.stderr)
        summary = {d: summarise(before, after, d, full) for d in sorted({args.distance_cm, 40.0, 65.0})}
        line = {"input": args.input.name, "output": path.name, **summary[args.distance_cm],
                "below_improvement_median_at_40_65cm": [summary[40.0]["below_improvement_median"],
                                                        summary[65.0]["below_improvement_median"]]}
        entry = {"output": path.name, "summary": summary, "points_cm": after}
        if args.reference_pitch:
            gain, offset = vertical_calibration(before, args.distance_cm, tuple(args.reference_pitch))
            cal = summarise(calibrated(before, args.distance_cm, gain, offset),
                            calibrated(after, args.distance_cm, gain, offset), args.distance_cm, full)
            line["calibrated"] = entry["calibrated"] = {"vertical_gain": round(gain, 3),
                                                        "vertical_offset_deg": round(offset, 2), **cal}
        print(json.dumps(line))
        result["outputs"].append(entry)
    estimator.close()
    if args.json:
        args.json.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
