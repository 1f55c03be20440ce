"""ONNX export of a trained GazeWarpNet, with the metadata and checksum the runtime verifies."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from eyecontact.eyecrop import CROP_H, CROP_W

from . import render
from .model import GazeWarpNet

MODEL_VERSION = "1.0.0"
OPSET = 17  # GridSample needs >= 16


def training_commit() -> str:
    """HEAD of the checkout, "uncommitted" when there is none or the tree is dirty."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "eyecontact_train"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uncommitted"
    return f"{head}-dirty" if dirty else head


def metadata(extra: dict[str, str] | None = None) -> dict[str, str]:
    meta = {
        "model_name": "eyecontact-gaze-redirect",
        "model_version": MODEL_VERSION,
        "crop_w": str(CROP_W),
        "crop_h": str(CROP_H),
        "input_crops": "float32 (N,3,crop_h,crop_w) RGB, values in [0,1] (uint8 / 255), crop frame of eyecontact.eyecrop",
        "input_condition": "float32 (N,3): delta_pitch_deg, delta_yaw_deg, openness (1 = keep lids, 0 = closed)",
        "output_redirected": "float32 (N,3,crop_h,crop_w) RGB in [0,1]",
        "angle_convention": "degrees in the crop frame; pitch > 0 looks up, yaw > 0 looks towards the image right",
        "max_delta_pitch": str(render.MAX_DELTA_PITCH),
        "max_delta_yaw": str(render.MAX_DELTA_YAW),
        "render_version": str(render.RENDER_VERSION),
        "training_commit": training_commit(),
    }
    meta.update(extra or {})
    return meta


def sha256_of(path: Path) -> str:
    from eyecontact.redirect.onnx_model import file_sha256  # the same check the runtime makes

    return file_sha256(path)


def export(model: GazeWarpNet, path: Path, extra_meta: dict[str, str] | None = None) -> str:
    """Write ``path`` (ONNX, dynamic batch) and ``path.with_suffix('.sha256')``; return the sha."""
    model = model.cpu().eval()
    crops = torch.rand(2, 3, CROP_H, CROP_W)
    cond = torch.tensor([[5.0, -8.0, 1.0], [0.0, 0.0, 1.0]])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but handles GridSample well
        warnings.simplefilter("ignore", DeprecationWarning)
        _export_graph(model, crops, cond, tmp)
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    for k, v in metadata(extra_meta).items():
        proto.metadata_props.add(key=k, value=v)
    proto.doc_string = "eyecontact learned gaze redirector; see models/README.md"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    tmp.unlink()
    _check_against_torch(model, path)
    digest = sha256_of(path)
    path.with_suffix(".sha256").write_text(f"{digest}  {path.name}\n")
    return digest


def _export_graph(model: GazeWarpNet, crops: torch.Tensor, cond: torch.Tensor, path: Path) -> None:
    torch.onnx.export(
        model, (crops, cond), str(path), input_names=["crops", "condition"],
        output_names=["redirected"], opset_version=OPSET, do_constant_folding=True,
        dynamic_axes={"crops": {0: "batch"}, "condition": {0: "batch"}, "redirected": {0: "batch"}},
        dynamo=False,
    )


def _check_against_torch(model: GazeWarpNet, path: Path) -> None:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    crops = rng.uniform(0, 1, (3, 3, CROP_H, CROP_W)).astype(np.float32)
    cond = np.array([[10, -15, 1], [0, 0, 1], [-5, 5, 0.3]], np.float32)
    got = sess.run(None, {"crops": crops, "condition": cond})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(crops), torch.from_numpy(cond)).numpy()
    err = float(np.abs(got - want).max())
    if err > 1e-3:
        raise RuntimeError(f"ONNX export differs from torch by {err}")


def export_checkpoint(checkpoint: Path, out: Path) -> str:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = GazeWarpNet(**state.get("model_args", {}))
    model.load_state_dict(state["model"])
    args = state.get("args", {})
    extra = {"training_steps": str(state.get("step", "")),
             "training_seconds": f"{state.get('elapsed', 0.0):.0f}",
             "training_pairs": str(args.get("pairs", "")), "training_device": str(args.get("device", ""))}
    return export(model, out, extra)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="eyecontact_train export")
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("models/gaze_redirect.onnx"))
    args = ap.parse_args(argv)
    print(json.dumps({"path": str(args.out), "sha256": export_checkpoint(args.checkpoint, args.out)}))
