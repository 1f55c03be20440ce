"""Generated test media with a real face: scikit-image's astronaut photograph (public domain).

Used by the benchmark, the tests and the shipped sample: a head-and-shoulders crop of the photo
drifting and turning slightly over a plain background, optionally with a sine-tone audio track.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np


def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def astronaut_head() -> np.ndarray:
    return astronaut_rgb()[10:270, 115:345]


def moving_face_frames(width: int, height: int, count: int, face_fraction: float = 0.75,
                       seed: int = 0, roll_deg: float = 4.0) -> Iterator[np.ndarray]:
    """Frames with the head filling ``face_fraction`` of the height, drifting and rolling gently."""
    head = astronaut_head()
    scale = face_fraction * height / head.shape[0]
    head = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    colour = rng.integers(70, 110, size=3).astype(np.uint8)
    background = np.empty((height, width, 3), np.uint8)
    background[:] = colour
    hh, hw = head.shape[:2]
    for i in range(count):
        dx = 0.03 * width * np.sin(i / 15.0)
        dy = 0.02 * height * np.cos(i / 21.0)
        angle = roll_deg * np.sin(i / 25.0)
        m = cv2.getRotationMatrix2D((hw / 2.0, hh / 2.0), angle, 1.0)
        m[:, 2] += ((width - hw) / 2.0 + dx, (height - hh) / 2.0 + dy)
        yield cv2.warpAffine(head, m, (width, height), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_TRANSPARENT, dst=background.copy())


def write_clip(path: str | Path, frames: Iterator[np.ndarray] | list[np.ndarray], fps: int = 30,
               audio_seconds: float | None = None, codec: str = "libx264", crf: int = 20) -> None:
    """Encode frames (RGB) to ``path`` with PyAV; with ``audio_seconds``, add a 440 Hz AAC track."""
    import av

    frames = iter(frames)
    first = next(frames)
    h, w = first.shape[:2]
    with av.open(str(path), mode="w") as out:
        v = out.add_stream(codec, rate=fps, options={"crf": str(crf), "preset": "veryfast"})
        v.width, v.height = w, h
        v.pix_fmt = "yuv444p" if (w % 2 or h % 2) else "yuv420p"
        a = None
        if audio_seconds:
            a = out.add_stream("aac", rate=44100)
            a.layout = "mono"
        for i, frame in enumerate([first] + list(frames)):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            for p in v.encode(vf):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
        if a is not None and audio_seconds:
            rate, block = 44100, 1024
            t = np.arange(int(rate * audio_seconds)) / rate
            tone = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
            for start in range(0, len(tone), block):
                chunk = tone[start:start + block]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                af.sample_rate = rate
                af.pts = start
                af.time_base = Fraction(1, rate)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)


def looking_down(frames: Iterator[np.ndarray], pitch_deg: float) -> Iterator[np.ndarray]:
    """The same frames with the eyes turned ``pitch_deg`` below the camera (by the analytic
    redirector aimed off-camera): a person reading from the screen below the webcam."""
    from .config import ControlSettings, PipelineSettings
    from .pipeline import Pipeline

    control = ControlSettings(gaze_low_deg=90.0, gaze_high_deg=91.0, blinks="off")
    pipe = Pipeline(PipelineSettings(redirector="analytic", aim_offset_deg=(pitch_deg, 0.0),
                                     control=control, smoothing=False))
    try:
        for i, frame in enumerate(frames):
            yield pipe.process(frame, i / 30.0)[0]
    finally:
        pipe.close()


def main(argv: list[str] | None = None) -> int:
    """python -m eyecontact.synthetic OUT.mp4 [WIDTHxHEIGHT] [SECONDS] [GAZE_PITCH_DEG]"""
    import sys

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path("sample.mp4")
    width, height = (int(v) for v in (args[1] if len(args) > 1 else "640x480").split("x"))
    seconds = float(args[2]) if len(args) > 2 else 4.0
    pitch = float(args[3]) if len(args) > 3 else 0.0
    fps = 30
    frames = moving_face_frames(width, height, int(seconds * fps))
    if pitch:
        frames = looking_down(frames, pitch)
    write_clip(out, frames, fps=fps, audio_seconds=seconds)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
