"""Training data: synthetic rendered pairs and unlabelled real eye crops.

Synthetic pairs come from ``render.render_pair`` (deterministic from a seed); they are rendered
once into a cache file, because rendering on the fly would compete with training for the two
CPU cores. Real crops are cut from video clips with MediaPipe + ``eyecontact.eyecrop`` so they
are exactly what the runtime feeds the redirector. Both caches live outside the repository.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import render

log = logging.getLogger(__name__)

DEFAULT_CACHE = Path.home() / ".cache" / "eyecontact"  # rendered pairs, real crops, checkpoints
DEFAULT_CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "clips"


# ----------------------------------------------------------------------------- synthetic pairs


@dataclass
class PairSet:
    source: np.ndarray  # (N, H, W, 3) uint8
    target: np.ndarray  # (N, H, W, 3) uint8
    condition: np.ndarray  # (N, 3) float32: delta_pitch, delta_yaw (degrees), openness ratio

    def __len__(self) -> int:
        return len(self.source)


def _render_chunk(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start, stop = args
    src, tgt, cond = [], [], []
    for seed in range(start, stop):
        pair = render.render_pair(seed)
        src.append(pair.source)
        tgt.append(pair.target)
        cond.append(pair.condition)
    return np.stack(src), np.stack(tgt), np.stack(cond).astype(np.float32)


def synthetic_pairs(count: int, first_seed: int = 0, cache_dir: Path = DEFAULT_CACHE,
                    workers: int = 2) -> PairSet:
    """``count`` rendered pairs with seeds first_seed.., cached under ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"synthetic_v{render.RENDER_VERSION}_{first_seed}_{count}.npz"
    if path.is_file():
        with np.load(path) as z:
            return PairSet(z["source"], z["target"], z["condition"])
    step = 500
    chunks = [(s, min(s + step, first_seed + count)) for s in range(first_seed, first_seed + count, step)]
    log.info("rendering %d synthetic pairs into %s", count, path)
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_render_chunk, chunks)
    else:
        parts = [_render_chunk(c) for c in chunks]
    pairs = PairSet(*(np.concatenate([p[i] for p in parts]) for i in range(3)))
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, source=pairs.source, target=pairs.target, condition=pairs.condition)
    tmp.rename(path)
    return pairs


# ----------------------------------------------------------------------------- real crops


@dataclass
class RealCrops:
    pixels: np.ndarray  # (N, H, W, 3) uint8, crop frame
    side: np.ndarray  # (N,) 0 = right eye (image left), 1 = left eye
    clip: np.ndarray  # (N,) index into ``clip_names``
    frame: np.ndarray  # (N,) frame index in the clip
    iris_center: np.ndarray  # (N, 2) crop pixels
    iris_radius: np.ndarray  # (N,)
    lid_contour: np.ndarray  # (N, 16, 2) crop pixels
    clip_names: list[str]

    def __len__(self) -> int:
        return len(self.pixels)

    def subset(self, idx: np.ndarray) -> RealCrops:
        return RealCrops(self.pixels[idx], self.side[idx], self.clip[idx], self.frame[idx],
                         self.iris_center[idx], self.iris_radius[idx], self.lid_contour[idx],
                         self.clip_names)


def _landmarks_from_mediapipe(result, width: int, height: int):
    from eyecontact.types import FaceLandmarks

    lm = result.multi_face_landmarks[0].landmark
    pts = np.array([[p.x * width, p.y * height] for p in lm], dtype=np.float32)
    depth = np.array([p.z * width for p in lm], dtype=np.float32)
    return FaceLandmarks(points=pts, depth=depth, frame_size=(width, height))


def extract_real_crops(clips_dir: Path, every: int = 1) -> RealCrops:
    """Both eye crops of every ``every``-th frame of each clip where a face is found."""
    import av
    import mediapipe as mp_

    from eyecontact.eyecrop import extract_eye, eye_corners

    out: dict[str, list] = {k: [] for k in ("pixels", "side", "clip", "frame", "ic", "ir", "lid")}
    names = sorted(p.name for p in clips_dir.glob("*.mp4"))
    for ci, name in enumerate(names):
        mesh = mp_.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                refine_landmarks=True)
        with av.open(str(clips_dir / name)) as container:
            for fi, frame in enumerate(container.decode(video=0)):
                if fi % every:
                    continue
                rgb = frame.to_ndarray(format="rgb24")
                res = mesh.process(rgb)
                if not res.multi_face_landmarks:
                    continue
                lms = _landmarks_from_mediapipe(res, rgb.shape[1], rgb.shape[0])
                for si, side in enumerate(("right", "left")):
                    a, b = eye_corners(lms, side)
                    width = float(np.hypot(*(b - a)))
                    if width < 12:  # too small to be useful training material
                        continue
                    crop = extract_eye(rgb, lms, side, eyeball_radius_px=0.35 * width)
                    out["pixels"].append(crop.pixels)
                    out["side"].append(si)
                    out["clip"].append(ci)
                    out["frame"].append(fi)
                    out["ic"].append(crop.iris_center)
                    out["ir"].append(crop.iris_radius)
                    out["lid"].append(crop.lid_contour)
        mesh.close()
        log.info("%s: %d crops so far", name, len(out["pixels"]))
    return RealCrops(np.stack(out["pixels"]), np.array(out["side"], np.int8),
                     np.array(out["clip"], np.int16), np.array(out["frame"], np.int32),
                     np.array(out["ic"], np.float32), np.array(out["ir"], np.float32),
                     np.array(out["lid"], np.float32), names)


def real_crops(clips_dir: Path = DEFAULT_CLIPS, cache_dir: Path = DEFAULT_CACHE) -> RealCrops | None:
    """Cached real crops, extracted on first use; None when no clips are available."""
    path = cache_dir / "real_crops_v1.npz"
    if path.is_file():
        with np.load(path) as z:
            return RealCrops(z["pixels"], z["side"], z["clip"], z["frame"], z["iris_center"],
                             z["iris_radius"], z["lid_contour"], [str(s) for s in z["clip_names"]])
    if not clips_dir.is_dir() or not any(clips_dir.glob("*.mp4")):
        log.warning("no real clips under %s: training on synthetic data only", clips_dir)
        return None
    crops = extract_real_crops(clips_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, pixels=crops.pixels, side=crops.side, clip=crops.clip, frame=crops.frame,
             iris_center=crops.iris_center, iris_radius=crops.iris_radius,
             lid_contour=crops.lid_contour, clip_names=np.array(crops.clip_names))
    tmp.rename(path)
    return crops


# Held out from the real-domain losses, used only for the evaluation figure.
EVAL_CLIP = "liveportrait_d3.mp4"


def split_real(crops: RealCrops) -> tuple[np.ndarray, np.ndarray]:
    """Indices of (training, evaluation) real crops: one clip is kept for evaluation only."""
    names = np.array(crops.clip_names)[crops.clip]
    held = names == EVAL_CLIP
    return np.flatnonzero(~held), np.flatnonzero(held)
