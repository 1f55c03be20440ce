"""Training loop: synthetic supervised pairs + real-crop cycle consistency, resumable.

Every batch is drawn from a generator seeded with (seed, step), so a resumed run sees exactly the
batches an uninterrupted one would have.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from eyecontact.eyecrop import CORNER_X0, CORNER_X1, CORNER_Y, CROP_H, CROP_W, opening_polygon

from . import data, losses, render
from .export import export
from .model import GazeWarpNet

log = logging.getLogger(__name__)

TRAIN_SEED_BASE = 0  # synthetic training pairs use seeds 0..pairs-1
EVAL_SEED_BASE = 10_000_000  # evaluation pairs never overlap the training ones


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _to_tensor(batch: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(batch).to(device).permute(0, 3, 1, 2).float().div_(255.0)


class Batches:
    """Random, augmented batches; a pure function of (seed, step)."""

    def __init__(self, pairs: data.PairSet, real: data.RealCrops | None, seed: int, device: torch.device):
        self.pairs = pairs
        self.real = real
        self.seed = seed
        self.device = device

    def synthetic(self, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step, 0])
        idx = rng.integers(0, len(self.pairs), size)
        src = self.pairs.source[idx]
        tgt = self.pairs.target[idx]
        cond = self.pairs.condition[idx].copy()
        # Mirror half of them: a mirrored eye is the other side with yaw negated.
        flip = rng.uniform(size=size) < 0.5
        src[flip] = src[flip, :, ::-1]
        tgt[flip] = tgt[flip, :, ::-1]
        cond[flip, 1] *= -1
        gain = rng.uniform(0.8, 1.2, (size, 1, 1, 3)).astype(np.float32)  # same for both images
        s, t = _to_tensor(src, self.device), _to_tensor(tgt, self.device)
        gain_t = torch.from_numpy(gain).to(self.device).permute(0, 3, 1, 2)
        return (s * gain_t).clamp(0, 1), (t * gain_t).clamp(0, 1), torch.from_numpy(cond).to(self.device)


    def real_crops(self, step: int, size: int) -> RealBatch | None:
        if self.real is None or len(self.real) == 0 or size == 0:
            return None
        rng = np.random.default_rng([self.seed, step, 1])
        idx = rng.integers(0, len(self.real), size)
        crops = self.real.pixels[idx]
        centers = self.real.iris_center[idx].astype(np.float64)
        contours = self.real.lid_contour[idx].astype(np.float64)
        flip = rng.uniform(size=size) < 0.5
        crops[flip] = crops[flip, :, ::-1]
        centers[flip, 0] = CROP_W - 1 - centers[flip, 0]
        contours[flip, :, 0] = CROP_W - 1 - contours[flip, :, 0]
        cond = np.stack([rng.uniform(-render.MAX_DELTA_PITCH, render.MAX_DELTA_PITCH, size),
                         rng.uniform(-render.MAX_DELTA_YAW, render.MAX_DELTA_YAW, size),
                         np.ones(size)], 1).astype(np.float32)
        masks = np.zeros((size, 1, CROP_H, CROP_W), np.float32)
        targets = np.zeros((size, 2), np.float32)
        for i in range(size):
            shift = expected_iris_shift(centers[i], cond[i, 0], cond[i, 1])
            masks[i, 0] = moved_iris_mask(centers[i] + shift, self.real.iris_radius[idx[i]], contours[i])
            targets[i] = -shift  # backward flow: the new iris pixel samples one shift back
        dev = self.device
        return RealBatch(_to_tensor(crops, dev), torch.from_numpy(cond).to(dev),
                         torch.from_numpy(masks).to(dev), torch.from_numpy(targets).to(dev))


@dataclass
class RealBatch:
    crops: torch.Tensor
    condition: torch.Tensor
    iris_mask: torch.Tensor  # (N, 1, H, W): where the moved iris should be visible
    iris_flow: torch.Tensor  # (N, 2): the flow there, pixels


# Eyeball model in the crop frame (see eyecontact.eyecrop): rotation radius 0.35 x the corner
# distance; with the eye looking straight the iris sits about 1.5 px above the corner line.
EYEBALL_RADIUS = 0.35 * render.EYE_WIDTH
EYEBALL_CENTER = np.array([(CORNER_X0 + CORNER_X1) / 2, CORNER_Y - 1.5])


def expected_iris_shift(iris_center: np.ndarray, d_pitch: float, d_yaw: float) -> np.ndarray:
    """Crop-pixel iris shift for a rotation by (d_pitch, d_yaw) from the gaze the iris shows."""
    s = np.clip((iris_center - EYEBALL_CENTER) / EYEBALL_RADIUS, -0.8, 0.8)
    yaw0, pitch0 = np.arcsin(s[0]), np.arcsin(-s[1])
    dx = np.sin(yaw0 + np.radians(d_yaw)) - s[0]
    dy = -(np.sin(pitch0 + np.radians(d_pitch)) + s[1])
    return EYEBALL_RADIUS * np.array([dx, dy])


def moved_iris_mask(center: np.ndarray, radius: float, contour: np.ndarray) -> np.ndarray:
    """Inner part of the moved iris disc, inside the (slightly shrunk) lid opening."""
    opening = np.zeros((CROP_H, CROP_W), np.uint8)
    cv2.fillPoly(opening, [np.round(opening_polygon(contour) * 16).astype(np.int32)], 1, shift=4)
    opening = cv2.erode(opening, np.ones((3, 3), np.uint8))
    disc = np.zeros_like(opening)
    cv2.circle(disc, (int(np.rint(center[0] * 16)), int(np.rint(center[1] * 16))),
               int(np.rint(0.75 * radius * 16)), 1, -1, shift=4)
    return (opening & disc).astype(np.float32)


def progress(step: int, steps: int, elapsed: float, max_minutes: float) -> float:
    """0..1 through the run: by steps, or by time when a time budget is the tighter limit.

    With a budget the cosine schedule always completes, however busy the machine is.
    """
    p = step / steps
    if max_minutes > 0:
        p = max(p, elapsed / (max_minutes * 60.0))
    return min(p, 1.0)


def learning_rate(step: int, done: float, peak: float) -> float:
    warm = 200
    if step < warm:
        return peak * (step + 1) / warm
    return 0.05 * peak + 0.95 * peak * 0.5 * (1 + math.cos(math.pi * done))


def train(args: argparse.Namespace) -> Path:
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ckpt_path = work / "checkpoint.pt"

    t0 = time.monotonic()
    pairs = data.synthetic_pairs(args.pairs, TRAIN_SEED_BASE, Path(args.cache),
                                 workers=max(1, min(2, os.cpu_count() or 1)))
    real = None
    if args.real_batch > 0:
        crops = data.real_crops(Path(args.clips), Path(args.cache))
        if crops is not None:
            train_idx, _ = data.split_real(crops)
            real = crops.subset(train_idx)
    log.info("data ready in %.0f s: %d synthetic pairs, %d real crops", time.monotonic() - t0,
             len(pairs), 0 if real is None else len(real))

    model = GazeWarpNet(width=args.width).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, elapsed = 0, time.monotonic() - t0
    if ckpt_path.is_file() and not args.fresh:
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        step, elapsed = state["step"], state["elapsed"]
        log.info("resumed from %s at step %d (%.0f s)", ckpt_path, step, elapsed)
    batches = Batches(pairs, real, args.seed, device)

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": step,
                    "elapsed": elapsed, "model_args": {"width": args.width}, "args": vars(args)}, tmp)
        tmp.replace(ckpt_path)

    model.train()
    start, start_elapsed = time.monotonic(), elapsed
    running: dict[str, float] = {}
    while (done := progress(step, args.steps, elapsed, args.max_minutes)) < 1.0:
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, done, args.lr)
        src, tgt, cond = batches.synthetic(step, args.batch)
        pred, flow = model.forward_with_flow(src, cond)
        parts = {"recon": losses.reconstruction(pred, tgt), "smooth": 0.02 * losses.flow_smoothness(flow)}
        rb = batches.real_crops(step, args.real_batch)
        if rb is not None:
            there, real_flow = model.forward_with_flow(rb.crops, rb.condition)
            parts["cycle"] = args.cycle_weight * losses.cycle(model, rb.crops, rb.condition, there)
            parts["iris"] = args.iris_weight * losses.iris_flow(real_flow, rb.iris_mask, rb.iris_flow)
            parts["iris_px"] = args.iris_pixel_weight * losses.iris_pixels(there, rb.crops, rb.iris_mask,
                                                                           rb.iris_flow)
        loss = sum(parts.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        elapsed = start_elapsed + time.monotonic() - start
        for k, v in parts.items():
            running[k] = running.get(k, 0.0) + float(v.detach())
        if step % args.log_every == 0:
            msg = " ".join(f"{k}={v / args.log_every:.4f}" for k, v in running.items())
            log.info("step %d (%.0f%%) %s lr=%.2e %.1f min", step, 100 * done, msg,
                     opt.param_groups[0]["lr"], elapsed / 60)
            running = {}
        if step % args.save_every == 0:
            save()
    save()

    out = Path(args.out) / "gaze_redirect.onnx"
    digest = export(model, out, {"training_steps": str(step), "training_seconds": f"{elapsed:.0f}",
                                 "training_pairs": str(args.pairs), "training_device": device.type})
    log.info("exported %s (sha256 %s) after %d steps, %.1f min", out, digest, step, elapsed / 60)
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--out", default="models", help="folder for gaze_redirect.onnx (+ .sha256)")
    ap.add_argument("--work", default=str(data.DEFAULT_CACHE / "train"), help="checkpoint folder")
    ap.add_argument("--cache", default=str(data.DEFAULT_CACHE), help="rendered / extracted data cache")
    ap.add_argument("--clips", default=str(data.DEFAULT_CLIPS), help="real clips for the cycle loss")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    ap.add_argument("--steps", type=int, default=12000, help="at most this many steps")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--real-batch", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=30000)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--cycle-weight", type=float, default=0.2)
    ap.add_argument("--iris-weight", type=float, default=0.02, help="real-crop iris flow loss (per px)")
    ap.add_argument("--iris-pixel-weight", type=float, default=1.0,
                    help="real-crop loss: the moved iris must show in the output")
    ap.add_argument("--seed", type=int, default=1)
    # One thread: on a busy machine two synchronising OpenMP threads can stall for minutes.
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--max-minutes", type=float, default=25.0,
                    help="time budget for the optimisation (0 = none); the schedule fits into it")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--save-every", type=int, default=250)
