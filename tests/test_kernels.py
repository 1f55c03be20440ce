"""The compiled pixel kernels are ready before the first face: no compile mid-stream."""

from __future__ import annotations

from eyecontact import composite, smoothing
from eyecontact.config import PipelineSettings
from eyecontact.pipeline import Pipeline
from eyecontact.redirect import analytic

KERNELS = {
    "redirect": analytic._redirect_crops,
    "composite": composite._composite,
    "smoothing": smoothing._one_euro_step,
}


def test_pipeline_start_compiles_every_kernel_a_stream_uses(astronaut_frames):
    pipe = Pipeline(PipelineSettings(redirector="analytic"))
    try:
        ready = {name: list(k.signatures) for name, k in KERNELS.items()}
        assert all(ready.values()), ready
        corrected = 0
        for i, frame in enumerate(astronaut_frames[:20]):
            _, result = pipe.process(frame, i / 30.0)
            corrected += result.faces[0].corrected
        assert corrected >= 10
        # Every call on real frames used a signature compiled at start-up.
        assert {name: list(k.signatures) for name, k in KERNELS.items()} == ready
    finally:
        pipe.close()
