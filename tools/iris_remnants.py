"""Count what the analytic warp leaves of the real iris: dark pixels outside the moved iris.

    python tools/iris_remnants.py CLIP.mp4 [CLIP2.mp4 ...]

A warp that cuts the iris from the wrong place (landmarks off the eye, a disc placed on the
lashes) leaves part of the real iris behind: a ghost iris beside the moved one or a dark arc
under it. Per corrected eye crop, this counts the pixels of the eye opening that are darker
than halfway between the iris and the white of the eye, lie outside the iris disc (plus 1 px)
and below the top quarter of the opening (where lashes are dark anyway): in the input around
the iris where it was, in the output around where it was moved to. The output's count minus
the input's is what the warp added; near 0 is clean.

Runs the CLI's pipeline with synthesised blinks off and the analytic redirector, and asks the
redirector's own helper (analytic.iris_placement) where it cut and put each iris.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import av
import numpy as np

from eyecontact.config import ControlSettings, PipelineSettings
from eyecontact.pipeline import EyePlan, Pipeline
from eyecontact.redirect import analytic


def dark_outside_disc(pixels: np.ndarray, opening: np.ndarray, cx: float, cy: float, radius: float) -> int | None:
    rows, cols = opening.shape
    ys, xs = np.nonzero(opening)
    if len(ys) < 20:
        return None
    lum = pixels.astype(np.float64).sum(axis=2)
    yy, xx = np.mgrid[:rows, :cols]
    d2 = (xx - cx) ** 2 + (yy - cy) ** 2
    iris = (d2 <= radius * radius) & opening
    if iris.sum() < 5:
        return None
    threshold = (np.median(lum[iris]) + np.percentile(lum[opening], 90)) / 2.0
    top = ys.min() + 0.25 * (ys.max() - ys.min())
    counted = opening & (d2 > (radius + 1.0) ** 2) & (yy > top)
    return int((lum[counted] < threshold).sum())


def added_by_warp(plan: EyePlan, output: np.ndarray) -> int | None:
    eye = plan.crop
    dx, dy = analytic.iris_shift(eye, plan.request)
    if abs(dx) + abs(dy) < 1.0:
        return None  # hardly moved: nothing to judge
    radius = max(eye.iris_radius, 1.0) * analytic.LIMBUS
    contour = eye.lid_contour.astype(np.float64)
    mask = analytic.opening_masks([eye.lid_contour])[0]
    cy = float(eye.iris_center[1])
    # Counted outside the mesh's disc size, whatever size the warp cut: one fixed measure
    # compares versions of the warp fairly.
    cx, _, dy = analytic.iris_placement(analytic._luminance(eye.pixels), mask, contour,
                                        float(eye.iris_center[0]), cy, radius, dx, dy)
    opening = mask > 200
    before = dark_outside_disc(eye.pixels, opening, cx, cy, radius)
    after = dark_outside_disc(output, opening, cx + dx, cy + dy, radius)
    return None if before is None or after is None else after - before


def measure(clip: Path) -> dict:
    pipeline = Pipeline(PipelineSettings(redirector="analytic", control=ControlSettings(blinks="off", seed=0)))
    added: list[int] = []
    redirect = pipeline._redirect

    def recording(plans: list[EyePlan]) -> list[np.ndarray]:
        outputs = redirect(plans)
        added.extend(a for a in (added_by_warp(p, o) for p, o in zip(plans, outputs)) if a is not None)
        return outputs

    pipeline._redirect = recording  # type: ignore[method-assign]
    with av.open(str(clip)) as container:
        fps = float(container.streams.video[0].average_rate or 30)
        for i, frame in enumerate(container.decode(video=0)):
            pipeline.process(frame.to_ndarray(format="rgb24"), i / fps, in_place=True)
    pipeline.close()
    values = np.array(added, dtype=np.float64)
    return {"clip": clip.name, "crops": len(values),
            "dark_px_added_mean": round(float(values.mean()), 1) if len(values) else None,
            "dark_px_added_p90": round(float(np.percentile(values, 90)), 1) if len(values) else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path)
    for clip in ap.parse_args().clips:
        print(json.dumps(measure(clip)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
