"""The one interface every redirector implements, and the factory that picks one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ..types import EyeCrop, EyeRequest

log = logging.getLogger(__name__)


class Redirector(Protocol):
    """Turns eye crops into redirected eye crops.

    ``redirect`` receives every eye of every face of one frame as one batch (so a network runs
    once per frame) and returns one (CROP_H, CROP_W, 3) uint8 array per crop. A redirector never
    changes a crop it is asked to change by zero degrees with openness 1 by more than rounding.
    """

    name: str
    provider: str  # where it runs: "CPUExecutionProvider", "CUDAExecutionProvider", "numpy"

    def redirect(self, crops: Sequence[EyeCrop], requests: Sequence[EyeRequest]) -> list[np.ndarray]:
        ...


class IdentityRedirector:
    """Returns the crops unchanged: for tests and for measuring the pipeline's own cost."""

    name = "identity"
    provider = "numpy"

    def redirect(self, crops: Sequence[EyeCrop], requests: Sequence[EyeRequest]) -> list[np.ndarray]:
        return [c.pixels.copy() for c in crops]


MODEL_FILENAME = "gaze_redirect.onnx"


def default_model_path() -> Path:
    """The shipped model: models/ of a source checkout, else the copy installed as package data."""
    checkout = Path(__file__).resolve().parents[2] / "models" / MODEL_FILENAME
    if checkout.is_file():
        return checkout
    from importlib import resources

    try:
        return Path(str(resources.files("eyecontact.models") / MODEL_FILENAME))
    except ModuleNotFoundError:  # neither a checkout nor an installed model: reported on load
        return checkout


def load_redirector(kind: str = "auto", model_path: str | Path | None = None,
                    device: str = "auto") -> Redirector:
    """``kind``: auto (the model if it loads, else analytic) | model | analytic | identity.

    A missing or invalid model never stops the caller under ``auto``: it logs why and returns
    the analytic redirector.
    """
    from .analytic import AnalyticRedirector

    if kind == "analytic":
        return AnalyticRedirector()
    if kind == "identity":
        return IdentityRedirector()
    if kind not in ("auto", "model"):
        raise ValueError(f"unknown redirector {kind!r}: choose auto, model, analytic or identity")
    try:
        from .onnx_model import OnnxRedirector, ModelError
    except ImportError as exc:  # the learned model is not part of this build
        if kind == "model":
            raise
        log.info("learned redirector unavailable (%s); using the analytic one", exc)
        return AnalyticRedirector()
    path = Path(model_path) if model_path else default_model_path()
    try:
        return OnnxRedirector(path, device=device)
    except ModelError as exc:
        if kind == "model":
            raise
        log.warning("%s; falling back to the analytic redirector", exc)
        return AnalyticRedirector()
