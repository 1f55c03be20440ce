"""Measure eyecontact on real clips: what the acceptance points of the offline issue ask.

    python tools/clip_report.py CLIP.mp4 [CLIP2.mp4 ...] [--redirector auto|model|analytic]

For each clip: processes it with the CLI's code path, then checks frame count, fps and audio
packets against the input, the change outside the eye regions (decoded output vs decoded
input, i.e. re-encoding only), the gaze offset from the camera before and after measured by
running the landmarks again on the output (the project's own re-detection, not an
independent estimator), how much of the eyes' detail the corrected frames keep, and the
processing speed relative to real time.

Offsets are given two ways: per eye (each eye's angle to the camera, averaged) and for the
face (the mean of the two gaze directions against the direction from between the eyeballs to
the camera), which is what a face-level gaze estimator reports. The per-eye figure also counts
changes of the angle between the eyes (vergence), reported on their own.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from eyecontact import geometry
from eyecontact.config import DEFAULT_REDIRECTOR, ControlSettings, PipelineSettings
from eyecontact.eyecrop import EYE_LANDMARKS, lid_contour_px, opening_polygon
from eyecontact.landmarks import FaceLandmarker
from eyecontact.pipeline import Pipeline
from eyecontact.types import FaceLandmarks
from eyecontact.video import EncodeOptions, process_video


def stream_facts(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        pts = [f.pts for f in c.decode(video=0)]
        rate = float(v.average_rate or 0)
    with av.open(str(path)) as c:
        audio = [(p.pts, p.dts, bytes(p)) for p in c.demux(audio=0) if p.dts is not None] if c.streams.audio else []
    return {"frames": len(pts), "pts": pts, "fps": rate, "audio": audio}


def frames(path: Path):
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="rgb24")


def offsets(frame: np.ndarray, lm: FaceLandmarker):
    faces = lm.detect(frame)
    if not faces:
        return None, None, None
    pose = geometry.estimate_head_pose(faces[0])
    if pose is None:
        return faces[0], None, None
    return faces[0], pose, {s: geometry.estimate_eye_gaze(faces[0], s, pose) for s in ("right", "left")}


def _face_gaze(gazes) -> tuple[float, float, float]:
    """The face's gaze: (offset from the camera, degrees below it, degrees to the side of it)."""
    face = geometry.face_gaze(gazes)
    (gp, gy), (cp, cy) = geometry.angles_of(face[0]), geometry.angles_of(face[1])
    return geometry.face_offset_deg(face), cp - gp, abs(cy - gy)


_IRIS_POINTS = sorted(i for spec in EYE_LANDMARKS.values()
                      for i in [spec["iris_center"], *spec["iris_ring"]])  # type: ignore[misc]


def _iris_only(face_in, pose_in, face_out):
    """The output's gaze with everything but the irises taken from the input's landmarks.

    Run again on a corrected frame, the face mesh moves the eye corners and lids along with
    the moved iris (by up to a few pixels), which shifts the eyeball centre the gaze is
    measured from and hides part of the iris' movement. The corrected frame has the same head
    and eye corners as the input, so this reading keeps them and takes only the irises anew.
    """
    points = face_in.points.copy()
    points[_IRIS_POINTS] = face_out.points[_IRIS_POINTS]
    hybrid = FaceLandmarks(points, face_in.depth, face_in.frame_size, face_in.face_id)
    return {s: geometry.estimate_eye_gaze(hybrid, s, pose_in) for s in ("right", "left")}


def _vergence(gazes) -> float:
    """Yaw of the right eye minus yaw of the left, degrees (> 0: converging)."""
    return gazes["right"].yaw - gazes["left"].yaw


def _below_camera(face_gaze: tuple[float, float, float]) -> bool:
    """The face (``_face_gaze``) looks 10-20 deg below the camera and at most 10 deg to the side."""
    _, down, side = face_gaze
    return 10.0 <= down <= 20.0 and side <= 10.0


def eye_mask(face, shape) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for side in ("right", "left"):
        pts = face.points[EYE_LANDMARKS[side]["upper"] + EYE_LANDMARKS[side]["lower"]]
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        w = x1 - x0
        mask[max(int(y0 - 0.7 * w), 0):int(y1 + 0.5 * w), max(int(x0 - 0.5 * w), 0):int(x1 + 0.5 * w)] = True
    return mask


def opening_detail(fin: np.ndarray, fout: np.ndarray, face) -> float | None:
    """Detail (mean |Laplacian| of the grey image) inside both eye openings of the output
    over the input's, where the output's openings changed beyond re-encoding (mean absolute
    difference over 4 levels); None elsewhere. Below 1: the corrected eyes came out softer."""
    mask = np.zeros(fin.shape[:2], np.uint8)
    for side in ("right", "left"):
        cv2.fillPoly(mask, [np.round(opening_polygon(lid_contour_px(face, side))).astype(np.int32)], 1)
    inside = mask.astype(bool)
    if inside.sum() < 30 or np.abs(fin[inside].astype(np.int16) - fout[inside]).mean() <= 4.0:
        return None

    def detail(image: np.ndarray) -> float:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F))[inside].mean())

    return detail(fout) / max(detail(fin), 1e-6)


def measure(clip: Path, redirector: str, model_path: str | None = None, seed: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / ("out" + clip.suffix)
        # A fixed seed: synthesised blinks fall on the same frames in every run, so two runs
        # (or two redirectors) are compared on identical timing.
        pipe = Pipeline(PipelineSettings(redirector=redirector, model_path=model_path,
                                         control=ControlSettings(seed=seed)))
        t0 = time.perf_counter()
        summary, _ = process_video(clip, out_path, pipe.process, EncodeOptions(), progress=False)
        elapsed = time.perf_counter() - t0
        used = f"{pipe.redirector.name} on {pipe.redirector_provider}"
        pipe.close()
        a, b = stream_facts(clip), stream_facts(out_path)
        lm_in, lm_out = FaceLandmarker(), FaceLandmarker()
        before, after, below, outside_mae = [], [], [], []
        face_before, face_after, face_after_iris, vergence_change = [], [], [], []
        far_change, aperture_in, aperture_out = [], [], []
        flicker_in, flicker_out, detail = [], [], []
        prev = None
        for fin, fout in zip(frames(clip), frames(out_path)):
            face, pose_in, g_in = offsets(fin, lm_in)
            face_out, _, g_out = offsets(fout, lm_out)
            if face is not None:
                eyes = eye_mask(face, fin.shape)
                m = ~eyes
                outside_mae.append(float(np.abs(fin[m].astype(np.int16) - fout[m].astype(np.int16)).mean()))
                if prev is not None:  # frame-to-frame change inside the eye regions
                    flicker_in.append(float(np.abs(fin[eyes].astype(np.int16) - prev[0][eyes]).mean()))
                    flicker_out.append(float(np.abs(fout[eyes].astype(np.int16) - prev[1][eyes]).mean()))
                prev = (fin.astype(np.int16), fout.astype(np.int16))
                ratio = opening_detail(fin, fout, face)
                if ratio is not None:
                    detail.append(ratio)
            else:
                prev = None
            if g_in and g_out:
                off_in = float(np.mean([g.offset_deg for g in g_in.values()]))
                off_out = float(np.mean([g.offset_deg for g in g_out.values()]))
                before.append(off_in)
                after.append(off_out)
                face_in_gaze = _face_gaze(g_in)
                below.append(_below_camera(face_in_gaze))
                face_before.append(face_in_gaze[0])
                face_after.append(_face_gaze(g_out)[0])
                face_after_iris.append(_face_gaze(_iris_only(face, pose_in, face_out))[0])
                vergence_change.append(abs(_vergence(g_out) - _vergence(g_in)))
                aperture_in.append(float(np.mean([g.aperture for g in g_in.values()])))
                aperture_out.append(float(np.mean([g.aperture for g in g_out.values()])))
                if off_in >= 35.0:
                    far_change.append(abs(off_out - off_in))
        lm_in.close()
        lm_out.close()
    before_a, after_a = np.array(before), np.array(after)
    in_range = (before_a >= 8) & (before_a <= 20)
    looking_down = np.array(below, bool)
    face_b, face_a, face_ai = np.array(face_before), np.array(face_after), np.array(face_after_iris)
    face_in_range = (face_b >= 8) & (face_b <= 20)
    at_camera = before_a < 5
    duration = a["frames"] / a["fps"] if a["fps"] else float("nan")
    return {
        "clip": clip.name,
        "redirector": used,
        "frames_equal": a["frames"] == b["frames"], "pts_equal": a["pts"] == b["pts"],
        "fps_in": a["fps"], "fps_out": b["fps"],
        "audio_packets": len(a["audio"]), "audio_identical": a["audio"] == b["audio"],
        "outside_eyes_mean_abs_diff": round(float(np.mean(outside_mae)), 3) if outside_mae else None,
        "in_range_frames": int(in_range.sum()),
        "in_range_offset_before_median": round(float(np.median(before_a[in_range])), 2) if in_range.any() else None,
        "in_range_offset_after_median": round(float(np.median(after_a[in_range])), 2) if in_range.any() else None,
        "in_range_improvement_median": round(float(np.median(before_a[in_range] - after_a[in_range])), 2) if in_range.any() else None,
        "face_in_range_frames": int(face_in_range.sum()),
        "face_in_range_offset_before_median": round(float(np.median(face_b[face_in_range])), 2) if face_in_range.any() else None,
        "face_in_range_improvement_median": round(float(np.median(face_b[face_in_range] - face_a[face_in_range])), 2) if face_in_range.any() else None,
        # The same with only the irises re-detected (see _iris_only).
        "face_in_range_improvement_iris_only_median": round(float(np.median(face_b[face_in_range] - face_ai[face_in_range])), 2) if face_in_range.any() else None,
        # The acceptance case itself: the face looks 10-20 deg below the camera, at most 10 deg
        # sideways; improvement of the face's offset.
        "below_frames": int(looking_down.sum()),
        "below_improvement_median": round(float(np.median(face_b[looking_down] - face_a[looking_down])), 2) if looking_down.any() else None,
        "below_improvement_iris_only_median": round(float(np.median(face_b[looking_down] - face_ai[looking_down])), 2) if looking_down.any() else None,
        # How much the correction changed the angle between the eyes.
        "vergence_change_median": round(float(np.median(vergence_change)), 2) if vergence_change else None,
        "at_camera_frames": int(at_camera.sum()),
        "at_camera_offset_after_median": round(float(np.median(after_a[at_camera])), 2) if at_camera.any() else None,
        "far_frames": len(far_change),
        "far_offset_change_median": round(float(np.median(far_change)), 2) if far_change else None,
        "eye_flicker_ratio": round(float(np.mean(flicker_out) / max(np.mean(flicker_in), 1e-6)), 3) if flicker_in else None,
        # Detail kept inside the corrected eye openings (output / input, median over frames).
        "eye_detail_frames": len(detail),
        "eye_detail_ratio": round(float(np.median(detail)), 3) if detail else None,
        "aperture_correlation": round(float(np.corrcoef(aperture_in, aperture_out)[0, 1]), 3) if len(aperture_in) > 2 else None,
        "speed_x_realtime": round(duration / elapsed, 2),
        "processing_fps": round(summary.frames_out / elapsed, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--redirector", default=DEFAULT_REDIRECTOR)
    ap.add_argument("--model", help="a .onnx other than the shipped one (with --redirector model)")
    ap.add_argument("--seed", type=int, default=0, help="seed for synthesised blinks (default 0)")
    args = ap.parse_args()
    for clip in args.clips:
        print(json.dumps(measure(clip, args.redirector, args.model, args.seed)))


if __name__ == "__main__":
    main()
