"""`eyecontact bench`: per-stage timings on a real face at common webcam resolutions.

The face is scikit-image's astronaut photograph, moved slightly every frame so the tracker
works as it does on video. Landmarks alone run on a second landmarker in the same loop,
interleaved with the pipeline, so their ratio is measured under the same machine load.
The pipeline runs in place, as `eyecontact process` runs it on the frames it decodes.
"""

from __future__ import annotations

import time
import numpy as np

from .config import PipelineSettings
from .landmarks import FaceLandmarker
from .pipeline import STAGES, Pipeline
from .synthetic import moving_face_frames

RESOLUTIONS = ((640, 480), (1280, 720), (1920, 1080))


def _summary(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"median": round(float(np.median(arr)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


def run_bench(settings: PipelineSettings, frames: int = 120, warmup: int = 15,
              resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS) -> dict:
    pipeline = Pipeline(settings)
    report: dict = {"provider": pipeline.redirector_provider, "redirector": pipeline.redirector.name,
                    "frames": frames, "resolutions": {}}
    try:
        for width, height in resolutions:
            landmarks_only = FaceLandmarker(max_faces=settings.max_faces)
            stage_ms: dict[str, list[float]] = {s: [] for s in STAGES}
            total_ms: list[float] = []
            land_ms: list[float] = []
            corrected = 0
            for i, frame in enumerate(moving_face_frames(width, height, frames + warmup)):
                t0 = time.perf_counter()
                landmarks_only.detect(frame)
                t1 = time.perf_counter()
                _, result = pipeline.process(frame, i / 30.0, in_place=True)
                t2 = time.perf_counter()
                if i < warmup:
                    continue
                land_ms.append((t1 - t0) * 1000.0)
                total_ms.append((t2 - t1) * 1000.0)
                corrected += int(any(f.corrected for f in result.faces))
                for s in STAGES:
                    stage_ms[s].append(pipeline.timer.ms[s])
            landmarks_only.close()
            pipe_med = float(np.median(total_ms))
            land_med = float(np.median(land_ms))
            report["resolutions"][f"{width}x{height}"] = {
                "pipeline_ms_median": round(pipe_med, 3),
                "pipeline_ms_p95": round(float(np.percentile(total_ms, 95)), 3),
                "landmarks_ms_median": round(land_med, 3),
                "ratio_pipeline_to_landmarks": round(pipe_med / land_med, 3),
                "frames_corrected": corrected,
                "stages": {s: _summary(v) for s, v in stage_ms.items()},
            }
    finally:
        pipeline.close()
    return report


def format_bench(report: dict) -> str:
    lines = [f"redirector: {report['redirector']}  provider: {report['provider']}  "
             f"frames per resolution: {report['frames']}"]
    for res, r in report["resolutions"].items():
        lines.append(f"\n{res}: pipeline median {r['pipeline_ms_median']:.2f} ms (p95 "
                     f"{r['pipeline_ms_p95']:.2f}), landmarks alone {r['landmarks_ms_median']:.2f} ms, "
                     f"ratio {r['ratio_pipeline_to_landmarks']:.2f}x, corrected {r['frames_corrected']} frames")
        for stage, s in r["stages"].items():
            lines.append(f"  {stage:<10} median {s['median']:7.3f} ms   p95 {s['p95']:7.3f} ms")
    return "\n".join(lines)
