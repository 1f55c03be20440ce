"""The learned redirector: one ONNX Runtime run per frame turns every eye crop into its redirected
version (the warp itself, grid_sample, is inside the graph).

The model file is verified before use: it must exist, match the sha256 recorded next to it
(``gaze_redirect.sha256``), and declare the crop size and model generation this code expects.
Every failure is a ``ModelError`` with a message saying what is wrong, so ``load_redirector``
can fall back to the analytic redirector.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..eyecrop import CROP_H, CROP_W
from ..providers import ProviderError, create_session
from ..types import EyeCrop, EyeRequest

log = logging.getLogger(__name__)

SUPPORTED_MAJOR = "1"  # model_version major this code can drive (input/output layout)
INPUTS = ("crops", "condition")
OUTPUT = "redirected"


class ModelError(Exception):
    """The model file is missing, damaged, or not one this version of eyecontact can use."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def recorded_sha256(model_path: Path) -> str:
    """The checksum written by the exporter next to the model (``<name>.sha256``)."""
    sha_path = model_path.with_suffix(".sha256")
    if not sha_path.is_file():
        raise ModelError(f"no checksum file {sha_path} next to the model")
    text = sha_path.read_text().split()
    if not text or len(text[0]) != 64:
        raise ModelError(f"checksum file {sha_path} is malformed")
    return text[0].lower()


class OnnxRedirector:
    name = "model"

    def __init__(self, path: str | Path, device: str = "auto") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        expected = recorded_sha256(self.path)
        actual = file_sha256(self.path)
        if actual != expected:
            raise ModelError(f"model file {self.path} is damaged or was altered: sha256 {actual[:12]}... "
                             f"does not match the recorded {expected[:12]}...")
        try:
            self.session, self.provider = create_session(self.path, device)
        except ProviderError:
            raise  # a device the user asked for explicitly: not a model problem, don't hide it
        except Exception as exc:  # onnxruntime raises its own error types for unreadable graphs
            raise ModelError(f"model file {self.path} could not be loaded: {exc}") from exc
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self._check_metadata()
        self.max_delta_pitch = float(self.metadata.get("max_delta_pitch", 20.0))
        self.max_delta_yaw = float(self.metadata.get("max_delta_yaw", 25.0))
        self.version = self.metadata["model_version"]
        log.info("learned redirector %s v%s on %s", self.path.name, self.version, self.provider)

    def _check_metadata(self) -> None:
        meta = self.metadata
        missing = [k for k in ("model_version", "crop_w", "crop_h") if k not in meta]
        if missing:
            raise ModelError(f"model {self.path} lacks metadata {', '.join(missing)}")
        if (meta["crop_w"], meta["crop_h"]) != (str(CROP_W), str(CROP_H)):
            raise ModelError(f"model {self.path} was trained for {meta['crop_w']}x{meta['crop_h']} crops, "
                             f"this eyecontact uses {CROP_W}x{CROP_H}")
        if meta["model_version"].split(".")[0] != SUPPORTED_MAJOR:
            raise ModelError(f"model {self.path} is version {meta['model_version']}; this eyecontact "
                             f"needs version {SUPPORTED_MAJOR}.x")
        names = tuple(i.name for i in self.session.get_inputs())
        outputs = tuple(o.name for o in self.session.get_outputs())
        if names != INPUTS or outputs[:1] != (OUTPUT,):
            raise ModelError(f"model {self.path} has inputs {names} / outputs {outputs}, "
                             f"expected {INPUTS} / ({OUTPUT!r},)")

    def conditions(self, requests: Sequence[EyeRequest]) -> np.ndarray:
        """(N, 3) float32 network condition, deltas clipped to the range the model was trained on."""
        return np.array([[np.clip(r.delta_pitch, -self.max_delta_pitch, self.max_delta_pitch),
                          np.clip(r.delta_yaw, -self.max_delta_yaw, self.max_delta_yaw),
                          np.clip(r.openness, 0.0, 1.0)] for r in requests], dtype=np.float32)

    def redirect(self, crops: Sequence[EyeCrop], requests: Sequence[EyeRequest]) -> list[np.ndarray]:
        if len(crops) != len(requests):
            raise ValueError(f"{len(crops)} crops but {len(requests)} requests")
        out = [c.pixels.copy() for c in crops]
        # Crops asked for no change are returned bit-exact without running the network.
        todo = [i for i, r in enumerate(requests)
                if r.delta_pitch != 0.0 or r.delta_yaw != 0.0 or r.openness != 1.0]
        if not todo:
            return out
        batch = np.stack([crops[i].pixels for i in todo]).astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        cond = self.conditions([requests[i] for i in todo])
        result = self.session.run([OUTPUT], {"crops": np.ascontiguousarray(batch), "condition": cond})[0]
        pixels = np.clip(result.transpose(0, 2, 3, 1) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        for k, i in enumerate(todo):
            out[i] = pixels[k]
        return out
