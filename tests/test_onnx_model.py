"""The shipped learned redirector: loads, keeps unchanged eyes unchanged, moves the iris the
right way, batches both eyes, and refuses damaged or foreign model files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from eyecontact.eyecrop import CROP_H, CROP_W
from eyecontact.redirect.base import default_model_path, load_redirector
from eyecontact.redirect.onnx_model import ModelError, OnnxRedirector
from eyecontact.types import EyeCrop, EyeRequest

# The renderer lives in the training package (numpy/OpenCV only, no torch).
render = pytest.importorskip("eyecontact_train.render")

MODEL = default_model_path()
needs_model = pytest.mark.skipif(not MODEL.is_file(), reason="models/gaze_redirect.onnx not built")


def make_crop(pixels: np.ndarray, side: str = "right") -> EyeCrop:
    eye = np.eye(2, 3)
    return EyeCrop(side=side, pixels=pixels, frame_to_crop=eye, crop_to_frame=eye,
                   lid_contour=np.zeros((16, 2), np.float32), iris_center=np.array([32.0, 19.0]),
                   iris_radius=8.0, eyeball_radius=13.4)


def request(dp: float = 0.0, dy: float = 0.0, openness: float = 1.0) -> EyeRequest:
    return EyeRequest(current_pitch=0.0, current_yaw=0.0, delta_pitch=dp, delta_yaw=dy, openness=openness)


@pytest.fixture(scope="module")
def model() -> OnnxRedirector:
    if not MODEL.is_file():
        pytest.skip("models/gaze_redirect.onnx not built")
    return OnnxRedirector(MODEL, device="cpu")


@needs_model
def test_loads_with_metadata(model: OnnxRedirector) -> None:
    assert model.provider == "CPUExecutionProvider"
    assert model.metadata["crop_w"] == str(CROP_W) and model.metadata["crop_h"] == str(CROP_H)
    assert model.version.startswith("1.")
    assert MODEL.stat().st_size <= 5 * 1024 * 1024


@needs_model
def test_zero_condition_is_identity(model: OnnxRedirector) -> None:
    pixels = render.render_pair(11).source
    out = model.redirect([make_crop(pixels)], [request()])[0]
    assert np.array_equal(out, pixels)
    # The network itself (bypassing the shortcut) is the identity for a zero condition too.
    x = pixels.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    y = model.session.run(None, {"crops": x, "condition": np.array([[0, 0, 1]], np.float32)})[0]
    assert np.abs(y - x).max() < 0.5 / 255


@needs_model
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_positive_yaw_moves_the_iris_right(model: OnnxRedirector, seed: int) -> None:
    app = render.tidy_appearance(seed)
    pixels = render.render_eye(app, render.EyeState(0.0, -8.0, 1.0))
    right, left = model.redirect([make_crop(pixels), make_crop(pixels)], [request(dy=15), request(dy=-15)])
    x0 = render.dark_centroid(pixels)[0]
    assert render.dark_centroid(right)[0] > x0 + 1.0
    assert render.dark_centroid(left)[0] < x0 - 1.0


@needs_model
def test_both_eyes_in_one_batch_match_single_runs(model: OnnxRedirector) -> None:
    a, b = render.render_pair(21).source, render.render_pair(22).source
    reqs = [request(5, 10), request(-3, -12)]
    both = model.redirect([make_crop(a, "right"), make_crop(b, "left")], reqs)
    assert len(both) == 2 and all(o.shape == (CROP_H, CROP_W, 3) and o.dtype == np.uint8 for o in both)
    single = [model.redirect([make_crop(p)], [r])[0] for p, r in zip((a, b), reqs)]
    for x, y in zip(both, single):
        assert np.abs(x.astype(int) - y.astype(int)).max() <= 1
    assert model.redirect([], []) == []


@needs_model
def test_out_of_range_deltas_are_clipped(model: OnnxRedirector) -> None:
    cond = model.conditions([request(90, -90, 3.0)])
    assert cond[0].tolist() == [model.max_delta_pitch, -model.max_delta_yaw, 1.0]


# ----------------------------------------------------------------------------- bad files


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "gaze_redirect.onnx"
    shutil.copy(MODEL, dst)
    shutil.copy(MODEL.with_suffix(".sha256"), dst.with_suffix(".sha256"))
    return dst


def _rewrite_sha(path: Path) -> None:
    path.with_suffix(".sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "  x\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        OnnxRedirector(tmp_path / "nope.onnx")


@needs_model
def test_missing_checksum(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    path.with_suffix(".sha256").unlink()
    with pytest.raises(ModelError, match="checksum"):
        OnnxRedirector(path)


@needs_model
def test_truncated_file(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged|altered"):
        OnnxRedirector(path)
    _rewrite_sha(path)  # even with a matching checksum, half a graph must not load
    with pytest.raises(ModelError):
        OnnxRedirector(path)


@needs_model
def test_altered_bytes(tmp_path: Path) -> None:
    path = _copy(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="altered"):
        OnnxRedirector(path)


@needs_model
@pytest.mark.parametrize("key,value,match", [("crop_w", "32", "crops"), ("model_version", "2.0.0", "version")])
def test_wrong_metadata(tmp_path: Path, key: str, value: str, match: str) -> None:
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(str(MODEL))
    for prop in proto.metadata_props:
        if prop.key == key:
            prop.value = value
    path = tmp_path / "gaze_redirect.onnx"
    onnx.save(proto, str(path))
    _rewrite_sha(path)
    with pytest.raises(ModelError, match=match):
        OnnxRedirector(path)


def test_auto_falls_back_to_analytic(tmp_path: Path) -> None:
    pytest.importorskip("eyecontact.redirect.analytic")
    bad = tmp_path / "gaze_redirect.onnx"
    bad.write_bytes(b"not a model")
    _rewrite_sha(bad)
    assert load_redirector("auto", bad).name == "analytic"
    assert load_redirector("auto", tmp_path / "missing.onnx").name == "analytic"
    with pytest.raises(ModelError):
        load_redirector("model", bad)


# ----------------------------------------------------------------------------- training side


def test_untrained_network_is_identity_and_exports(tmp_path: Path) -> None:
    """Identity holds by construction (any weights), and an export loads in the runtime."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from eyecontact_train.export import export
    from eyecontact_train.model import GazeWarpNet

    torch.manual_seed(0)
    net = GazeWarpNet().eval()
    for p in net.parameters():  # large random weights: identity must not depend on training
        torch.nn.init.normal_(p, std=0.5)
    x = torch.rand(2, 3, CROP_H, CROP_W)
    with torch.no_grad():
        y = net(x, torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))
        moved = net(x, torch.tensor([[10.0, 0.0, 1.0], [0.0, -10.0, 0.5]]))
    assert float((y - x).abs().max()) < 1e-5
    assert float((moved - x).abs().max()) > 1e-3
    path = tmp_path / "gaze_redirect.onnx"
    export(net, path)
    red = OnnxRedirector(path, device="cpu")
    assert red.metadata["crop_w"] == str(CROP_W) and red.metadata["training_commit"]
