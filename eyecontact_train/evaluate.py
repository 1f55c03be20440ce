"""Figures for the model card: held-out synthetic pairs with known targets, real-crop cycle
error, inference time, and a picture of before / analytic / model / target crops.

Methods compared on the same inputs: identity (no change), the analytic redirector, the model.
Errors are against the rendered target, in 0..255 units, over the whole crop and over the eye
region (both lid openings, dilated by 2 px) where the change actually happens.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from pathlib import Path

import cv2
import numpy as np

from eyecontact.eyecrop import CROP_H, CROP_W, opening_polygon
from eyecontact.types import EyeCrop, EyeRequest

from . import data, render
from .train import EVAL_SEED_BASE

EVAL_PAIRS = 600
_IDENTITY = np.eye(2, 3)


def synthetic_crop(pair: render.Pair, pixels: np.ndarray | None = None) -> EyeCrop:
    """The EyeCrop the runtime would build for the pair's source (all geometry known exactly)."""
    app, s0 = pair.appearance, pair.source_state
    return EyeCrop(side=app.side, pixels=pair.source if pixels is None else pixels,
                   frame_to_crop=_IDENTITY, crop_to_frame=_IDENTITY,
                   lid_contour=render.lid_contour(app, s0), iris_center=render.iris_center(app, s0),
                   iris_radius=float(app.iris_radius), eyeball_radius=float(app.radius))


def synthetic_request(pair: render.Pair) -> EyeRequest:
    s0 = pair.source_state
    dp, dy, op = (float(v) for v in pair.condition)
    return EyeRequest(current_pitch=s0.pitch, current_yaw=s0.yaw, delta_pitch=dp, delta_yaw=dy, openness=op)


def eye_region(pair: render.Pair) -> np.ndarray:
    mask = np.zeros((CROP_H, CROP_W), np.uint8)
    for state in (pair.source_state, pair.target_state):
        c = render.lid_contour(pair.appearance, state)
        cv2.fillPoly(mask, [np.round(opening_polygon(c) * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)


def _psnr(mse: float) -> float:
    return 10 * math.log10(255.0 ** 2 / max(mse, 1e-6))


def _redirectors(model_path: Path) -> dict[str, object]:
    from eyecontact.redirect.base import IdentityRedirector
    from eyecontact.redirect.onnx_model import OnnxRedirector

    methods: dict[str, object] = {"identity": IdentityRedirector()}
    try:
        from eyecontact.redirect.analytic import AnalyticRedirector

        methods["analytic"] = AnalyticRedirector()
    except ImportError:
        pass
    methods["model"] = OnnxRedirector(model_path, device="cpu")
    return methods


def synthetic_metrics(methods: dict[str, object], pairs: list[render.Pair]) -> dict[str, dict[str, float]]:
    groups = {
        "all": lambda p: True,
        "gaze": lambda p: p.condition[2] == 1.0 and np.any(p.condition[:2] != 0),
        "blink": lambda p: p.condition[2] < 1.0,
    }
    crops = [synthetic_crop(p) for p in pairs]
    reqs = [synthetic_request(p) for p in pairs]
    regions = [eye_region(p) for p in pairs]
    results: dict[str, dict[str, float]] = {}
    for name, method in methods.items():
        outs = []
        for i in range(0, len(pairs), 2):  # both eyes of a face per call, as the runtime does
            outs += method.redirect(crops[i:i + 2], reqs[i:i + 2])
        for gname, keep in groups.items():
            idx = [i for i, p in enumerate(pairs) if keep(p)]
            diff = [np.abs(outs[i].astype(np.float32) - pairs[i].target.astype(np.float32)) for i in idx]
            mae = float(np.mean([d.mean() for d in diff]))
            mse = float(np.mean([(d ** 2).mean() for d in diff]))
            eye = float(np.mean([d[regions[i]].mean() for d, i in zip(diff, idx)]))
            results.setdefault(name, {}).update({f"{gname}_mae": mae, f"{gname}_psnr": _psnr(mse),
                                                 f"{gname}_eye_mae": eye, f"{gname}_count": len(idx)})
    return results


def real_cycle(methods: dict[str, object], crops: list[EyeCrop], seed: int = 5) -> dict[str, float]:
    """Mean |there-and-back - input| on real crops (0..255): lower keeps the eye's identity."""
    rng = np.random.default_rng(seed)
    out = {}
    reqs = [(float(rng.uniform(-15, 15)), float(rng.uniform(-20, 20))) for _ in crops]
    for name, method in methods.items():
        if name == "identity":
            continue
        there = method.redirect(crops, [EyeRequest(0, 0, dp, dy) for dp, dy in reqs])
        # The way back starts from the moved iris (the analytic redirector needs its position).
        back_crops = [EyeCrop(c.side, t, c.frame_to_crop, c.crop_to_frame, c.lid_contour,
                              c.iris_center + c.eyeball_radius * np.array(
                                  [math.sin(math.radians(dy)), -math.sin(math.radians(dp))]),
                              c.iris_radius, c.eyeball_radius)
                      for c, t, (dp, dy) in zip(crops, there, reqs)]
        back = method.redirect(back_crops, [EyeRequest(dp, dy, -dp, -dy) for dp, dy in reqs])
        out[name] = float(np.mean([np.abs(b.astype(np.float32) - c.pixels).mean() for b, c in zip(back, crops)]))
    return out


def _dark_x(img: np.ndarray) -> float:
    """x centroid of what is darker than the middle of the eye window (iris, pupil, lashes)."""
    luma = img.astype(np.float32).mean(axis=2)[12:28, 12:52]
    weight = np.clip(np.percentile(luma, 60) - luma, 0, None)
    xs = np.arange(12, 52, dtype=np.float32)[None, :]
    return float((weight * xs).sum() / max(float(weight.sum()), 1e-6))


def real_iris_response(methods: dict[str, object], crops: list[EyeCrop], yaw: float = 15.0) -> dict[str, float]:
    """Mean shift (px) of the dark mass between +yaw and -yaw redirections of real crops.

    A rigid eyeball would move the iris by 2 R sin(yaw), about 7 px for 15 degrees; static dark
    features (lashes, brows) dilute the measure, so it is a lower bound and only comparable
    between methods.
    """
    out = {}
    for name, method in methods.items():
        if name == "identity":
            continue
        plus = method.redirect(crops, [EyeRequest(0, 0, 0.0, yaw) for _ in crops])
        minus = method.redirect(crops, [EyeRequest(0, 0, 0.0, -yaw) for _ in crops])
        out[name] = float(np.mean([_dark_x(a) - _dark_x(b) for a, b in zip(plus, minus)]))
    return out


def real_eval_crops(count: int = 6) -> list[EyeCrop]:
    crops = data.real_crops()
    if crops is None:
        return []
    _, held = data.split_real(crops)
    if not count:
        return [_real_crop(crops, i) for i in held]
    # For the picture: the most open eyes (the iris is what we want to see), spread over the clip.
    opening = crops.lid_contour[held, 8:15, 1].mean(axis=1) - crops.lid_contour[held, 1:8, 1].mean(axis=1)
    open_eyes = held[opening >= np.percentile(opening, 60)]
    return [_real_crop(crops, i) for i in open_eyes[np.linspace(0, len(open_eyes) - 1, count).astype(int)]]


def _real_crop(crops: data.RealCrops, i: int) -> EyeCrop:
    side = ("right", "left")[int(crops.side[i])]
    return EyeCrop(side, crops.pixels[i], _IDENTITY, _IDENTITY, crops.lid_contour[i].astype(np.float64),
                   crops.iris_center[i].astype(np.float64), float(crops.iris_radius[i]), 0.35 * render.EYE_WIDTH)


REDETECT_CLIPS = ("liveportrait_d3.mp4", "liveportrait_d13.mp4", "liveportrait_d19.mp4")


def redetection(clips_dir: Path, redirector: str, model_path: Path, frames: int = 150) -> dict[str, float]:
    """Whole pipeline on real clips, then the face mesh again on its output: the median share of
    the asked change of the face's gaze (both eyes' mean direction against the direction from
    between them to the camera, which the pipeline turns both eyes by) that the re-detected
    irises actually show."""
    import av

    from eyecontact import geometry
    from eyecontact.config import PipelineSettings
    from eyecontact.landmarks import FaceLandmarker
    from eyecontact.pipeline import Pipeline

    out = {}
    for name in REDETECT_CLIPS:
        if not (clips_dir / name).is_file():
            continue
        pipe = Pipeline(PipelineSettings(redirector=redirector, model_path=str(model_path), device="cpu"))
        check = FaceLandmarker()
        ratios = []
        with av.open(str(clips_dir / name)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i >= frames:
                    break
                rgb = frame.to_ndarray(format="rgb24")
                result_frame, result = pipe.process(rgb, i / 30.0)
                if not result.faces or not result.faces[0].corrected or result.faces[0].share < 0.95:
                    continue
                face = result.faces[0]
                found = check.detect(result_frame)
                pose = geometry.estimate_head_pose(found[0]) if found else None
                if pose is None:
                    continue
                before_aim = geometry.face_gaze(face.eyes)
                after_aim = geometry.face_gaze({side: geometry.estimate_eye_gaze(found[0], side, pose)
                                                for side in ("right", "left")})
                if before_aim is None or after_aim is None:
                    continue
                before = geometry.face_offset_deg(before_aim)
                if before > 6.0:
                    ratios.append((before - geometry.face_offset_deg(after_aim)) / min(before, 35.0))
        pipe.close()
        check.close()
        if ratios:
            out[name] = float(np.median(ratios))
    return out


def timing(model_path: Path, repeats: int = 300) -> dict[str, float]:
    import onnxruntime as ort

    from eyecontact.providers import session_options

    x = np.random.default_rng(0).uniform(0, 1, (2, 3, CROP_H, CROP_W)).astype(np.float32)
    c = np.array([[5, 10, 1], [5, 10, 1]], np.float32)
    out = {}
    for threads in (1, 2):
        so = session_options()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        for _ in range(30):
            sess.run(None, {"crops": x, "condition": c})
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            sess.run(None, {"crops": x, "condition": c})
            ts.append(time.perf_counter() - t)
        out[f"cpu_{threads}thread_median_ms"] = float(np.median(ts) * 1000)
        out[f"cpu_{threads}thread_p90_ms"] = float(np.percentile(ts, 90) * 1000)
    return out


def _label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((14, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], 0)


def picture(methods: dict[str, object], pairs: list[render.Pair], real: list[EyeCrop], path: Path) -> None:
    """Synthetic rows: before | analytic | model | target. Real rows: before | analytic | model."""
    scale = 2
    blank = np.full((CROP_H, CROP_W, 3), 255, np.uint8)
    names = [n for n in ("analytic", "model") if n in methods]
    rows = []
    for p in pairs:
        row = [p.source] + [methods[n].redirect([synthetic_crop(p)], [synthetic_request(p)])[0] for n in names]
        rows.append(row + [p.target])
    real_reqs = [EyeRequest(0, 0, 10.0, 15.0 if i % 2 == 0 else -15.0) for i in range(len(real))]
    for c, r in zip(real, real_reqs):
        rows.append([c.pixels] + [methods[n].redirect([c], [r])[0] for n in names] + [blank])
    grid = np.concatenate([np.concatenate(row, 1) for row in rows], 0)
    grid = cv2.resize(grid, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    head = " | ".join(["before"] + names + ["target"]) + "   (last rows: real clip, +10 pitch, +/-15 yaw)"
    cv2.imwrite(str(path), _label(grid, head)[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])


def markdown(metrics: dict) -> str:
    syn = metrics["synthetic"]
    lines = ["| method | all: MAE | all: PSNR dB | eye-region MAE | gaze-only eye MAE | blink eye MAE |",
             "|---|---|---|---|---|---|"]
    for name, m in syn.items():
        lines.append(f"| {name} | {m['all_mae']:.2f} | {m['all_psnr']:.2f} | {m['all_eye_mae']:.2f} | "
                     f"{m['gaze_eye_mae']:.2f} | {m['blink_eye_mae']:.2f} |")
    first = next(iter(syn.values()))
    lines.append("")
    lines.append(f"{first['all_count']} held-out pairs (seeds {EVAL_SEED_BASE}..), "
                 f"{first['gaze_count']} gaze-only, {first['blink_count']} with a lid change; "
                 "errors in 0..255 units against the rendered target.")
    if metrics.get("real_cycle"):
        lines.append("")
        lines.append("Real-clip cycle error (redirect by d, then by -d; mean abs, 0..255, "
                     f"{metrics['real_count']} crops of the held-out clip): "
                     + ", ".join(f"{k} {v:.2f}" for k, v in metrics["real_cycle"].items()))
    if metrics.get("real_iris_shift_px"):
        lines.append("")
        lines.append("Real-clip iris response (mean shift in px of the dark mass between +15° and −15° yaw "
                     "requests; a rigid eyeball of radius 13.4 px gives 7 px, static dark features lower the "
                     "measure): " + ", ".join(f"{k} {v:.2f}" for k, v in metrics["real_iris_shift_px"].items()))
    if metrics.get("redetection"):
        lines.append("")
        lines.append("Whole pipeline on real clips (150 frames each), face mesh run again on the output: median "
                     "share of the asked change of the face's gaze towards the camera (where it was over 6° off, "
                     "corrected at full share) that the re-detected gaze shows "
                     f"({data.EVAL_CLIP} is held out of training):")
        lines.append("")
        red = metrics["redetection"]
        clips = sorted({c for v in red.values() for c in v})
        lines.append("| redirector | " + " | ".join(clips) + " |")
        lines.append("|---|" + "---|" * len(clips))
        for kind, per_clip in red.items():
            lines.append(f"| {kind} | " + " | ".join(f"{per_clip.get(c, float('nan')):.2f}" for c in clips) + " |")
    t = metrics["timing"]
    lines.append("")
    lines.append(f"ONNX Runtime CPU, batch of 2 crops: median {t['cpu_1thread_median_ms']:.2f} ms with 1 "
                 f"intra-op thread (p90 {t['cpu_1thread_p90_ms']:.2f}), {t['cpu_2thread_median_ms']:.2f} ms "
                 f"with 2 (p90 {t['cpu_2thread_p90_ms']:.2f}).")
    return "\n".join(lines)


def training_facts(model) -> str:
    """The shipped file's own record of how it was trained (from its metadata)."""
    from .export import sha256_of

    m = model.metadata
    minutes = float(m.get("training_seconds", "nan")) / 60
    return (f"Shipped file: {m.get('training_steps', '?')} optimisation steps in {minutes:.1f} min "
            f"(wall clock, data preparation included) on {m.get('training_device', '?')}, "
            f"{m.get('training_pairs', '?')} synthetic pairs, training commit `{m.get('training_commit', '?')}`, "
            f"sha256 `{sha256_of(model.path)}`.")


def update_card(card: Path, section: str, text: str) -> None:
    """Replace the text between the ``section`` markers of the model card (if it has them)."""
    if not card.is_file():
        return
    old = card.read_text()
    pattern = rf"(<!-- {section}:start -->\n).*?(<!-- {section}:end -->)"
    card.write_text(re.sub(pattern, lambda m: m.group(1) + text + "\n" + m.group(2), old, flags=re.DOTALL))


def run(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    model_path = Path(args.model) if args.model else out / "gaze_redirect.onnx"
    methods = _redirectors(model_path)
    pairs = [render.render_pair(EVAL_SEED_BASE + i) for i in range(args.pairs)]
    metrics: dict = {"synthetic": synthetic_metrics(methods, pairs)}
    real_all = real_eval_crops(count=0)
    if real_all:
        metrics["real_cycle"] = real_cycle(methods, real_all)
        metrics["real_count"] = len(real_all)
        metrics["real_iris_shift_px"] = real_iris_response(methods, real_all)
    if args.redetect:
        metrics["redetection"] = {kind: redetection(data.DEFAULT_CLIPS, kind, model_path)
                                  for kind in ("analytic", "model")}
    metrics["timing"] = timing(model_path)
    show = [p for p in pairs if p.condition[2] == 1.0][:6] + [p for p in pairs if p.condition[2] < 1.0][:2]
    picture(methods, show, real_eval_crops(6), out / "eval_crops.png")
    (out / "eval.json").write_text(json.dumps(metrics, indent=2) + "\n")
    table = markdown(metrics)
    update_card(out / "README.md", "eval", table)
    update_card(out / "README.md", "train", training_facts(methods["model"]))
    print(table)
    return metrics


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--out", default="models", help="folder with the model; figures are written here")
    ap.add_argument("--model", default=None, help="model file (default: OUT/gaze_redirect.onnx)")
    ap.add_argument("--pairs", type=int, default=EVAL_PAIRS)
    ap.add_argument("--no-redetect", dest="redetect", action="store_false",
                    help="skip the whole-pipeline re-detection on real clips (slow)")
