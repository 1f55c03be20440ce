"""Make the README's before/after picture from the shipped sample.

    python tools/readme_picture.py [--frame 60] [--scale 2] [-o assets/before_after.png]

Corrects assets/sample.mp4 with the default settings (synthesised blinks seeded, so the
picture repeats exactly), takes one frame before and after, crops both around the face and
puts them side by side, enlarged (the sample's face is small) so the eyes can be seen.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

from eyecontact.config import ControlSettings, PipelineSettings
from eyecontact.landmarks import FaceLandmarker
from eyecontact.pipeline import Pipeline
from eyecontact.video import EncodeOptions, process_video

ROOT = Path(__file__).resolve().parent.parent
GAP_PX = 10  # white between the two halves


def nth_frame(path: Path, index: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == index:
                return frame.to_ndarray(format="rgb24")
    raise SystemExit(f"{path} has no frame {index}")


def face_box(frame: np.ndarray) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 around the face mesh, widened so hair and shoulders frame it."""
    landmarker = FaceLandmarker(static_images=True)
    faces = landmarker.detect(frame)
    landmarker.close()
    if not faces:
        raise SystemExit("no face found in the chosen frame")
    pts = faces[0].points
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    w, h = x1 - x0, y1 - y0
    box = (x0 - 0.45 * w, y0 - 0.55 * h, x1 + 0.45 * w, y1 + 0.35 * h)
    height, width = frame.shape[:2]
    return (max(int(box[0]), 0), max(int(box[1]), 0), min(int(box[2]), width), min(int(box[3]), height))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frame", type=int, default=60)
    ap.add_argument("--scale", type=float, default=2.0, help="enlargement of both halves")
    ap.add_argument("-o", "--output", type=Path, default=ROOT / "assets" / "before_after.png")
    args = ap.parse_args()
    sample = ROOT / "assets" / "sample.mp4"
    with tempfile.TemporaryDirectory() as tmp:
        corrected = Path(tmp) / "corrected.mp4"
        pipeline = Pipeline(PipelineSettings(control=ControlSettings(seed=0)))
        process_video(sample, corrected, pipeline.process, EncodeOptions(), progress=False)
        pipeline.close()
        before, after = nth_frame(sample, args.frame), nth_frame(corrected, args.frame)
    x0, y0, x1, y1 = face_box(before)
    halves = [cv2.resize(image[y0:y1, x0:x1], None, fx=args.scale, fy=args.scale,
                         interpolation=cv2.INTER_CUBIC) for image in (before, after)]
    gap = np.full((halves[0].shape[0], GAP_PX, 3), 255, np.uint8)
    picture = np.hstack([halves[0], gap, halves[1]])
    cv2.imwrite(str(args.output), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.output} ({picture.shape[1]}x{picture.shape[0]}, frame {args.frame})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
