"""The real talking-head clips (../shared/data/clips): redirection measured by re-detection.

Landmarks are run again on the corrected frames; the face's gaze must have moved toward the
camera by a good share of what was asked without the eyes turning against each other, pixels
outside the eyes must be untouched, and nothing else about the video may change. Skipped when the clips are absent.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from eyecontact import geometry
from eyecontact.config import PipelineSettings
from eyecontact.landmarks import FaceLandmarker
from eyecontact.eyecrop import EYE_LANDMARKS
from eyecontact.pipeline import Pipeline
from eyecontact.types import FaceLandmarks

CLIPS = ["liveportrait_d3.mp4", "liveportrait_d13.mp4", "liveportrait_d19.mp4"]


def decoded(path, limit):
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= limit:
                break
            yield f.to_ndarray(format="rgb24")


# Iris landmarks (centre and ring) of both eyes.
IRIS_POINTS = sorted(i for spec in EYE_LANDMARKS.values() for i in [spec["iris_center"], *spec["iris_ring"]])


def face_offset_and_vergence(face, pose):
    """The face's offset from the camera and the angle between the eyes (right eye's yaw minus
    the left's), degrees."""
    eyes = {s: geometry.estimate_eye_gaze(face, s, pose) for s in ("right", "left")}
    return geometry.face_offset_deg(geometry.face_gaze(eyes)), eyes["right"].yaw - eyes["left"].yaw


@pytest.mark.parametrize("name", CLIPS)
def test_redirection_measured_by_redetection(clips_dir, name, redirector="analytic"):
    """The face's gaze (both eyes together) is found moved toward the camera by a good share
    of what was asked. The irises are found anew on the output while the eye corners and
    head pose are kept from the input: run again on a corrected frame, the face mesh drags
    the corners along with the moved iris, which moves the eyeball centre the gaze is
    measured from (the corrected frame has the input's corners)."""
    pipe = Pipeline(PipelineSettings(redirector=redirector))
    check_in, check_out = FaceLandmarker(), FaceLandmarker()
    ratios, still, vergence_change = [], [], []
    for i, frame in enumerate(decoded(clips_dir / name, 300)):
        out, result = pipe.process(frame, i / 30.0)
        if not result.faces or not result.faces[0].corrected:
            continue
        face = result.faces[0]
        found_in, found_out = check_in.detect(frame), check_out.detect(out)
        if not found_in or not found_out:
            continue
        pose = geometry.estimate_head_pose(found_in[0])
        if pose is None:
            continue
        points = found_in[0].points.copy()
        points[IRIS_POINTS] = found_out[0].points[IRIS_POINTS]
        redetected = FaceLandmarks(points, found_in[0].depth, found_in[0].frame_size)
        (before, vergence_before), (after, vergence_after) = (
            face_offset_and_vergence(found_in[0], pose), face_offset_and_vergence(redetected, pose))
        asked = geometry.face_gaze(face.eyes)
        if asked is None:
            continue
        want = face.share * min(geometry.face_offset_deg(asked), 35.0)
        if face.share > 0.95 and want > 4.0:
            ratios.append((before - after) / want)
            vergence_change.append(abs(vergence_after - vergence_before))
        if before < 5.0:
            still.append(after - before)
    pipe.close()
    check_in.close()
    check_out.close()
    assert len(ratios) >= 20, "too few corrected frames to judge"
    ratio = float(np.median(ratios))
    assert ratio > 0.35, f"median achieved/asked {ratio:.2f}"
    # Both eyes turn alike, so the angle between them stays (by this measure 1-6 degrees of
    # change; aiming each eye at the camera on its own changed it by 25-33 degrees on d3 and
    # d19, a cross-eyed look).
    assert np.median(vergence_change) < 8.0, f"vergence changed {np.median(vergence_change):.1f} deg"
    if len(still) >= 10:  # a face already looking at the camera is not turned away from it
        assert np.median(still) < 3.0


@pytest.mark.parametrize("name", CLIPS)
def test_outside_the_eyes_untouched_on_real_frames(clips_dir, name):
    from eyecontact.eyecrop import EYE_LANDMARKS

    pipe = Pipeline(PipelineSettings(redirector="analytic"))
    for i, frame in enumerate(decoded(clips_dir / name, 40)):
        out, result = pipe.process(frame, i / 30.0)
        allowed = np.zeros(frame.shape[:2], bool)
        for face in result.faces:
            for side in ("right", "left"):
                pts = face.landmarks.points[EYE_LANDMARKS[side]["upper"] + EYE_LANDMARKS[side]["lower"]]
                (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
                w = x1 - x0
                allowed[max(int(y0 - 0.7 * w), 0):int(y1 + 0.5 * w), max(int(x0 - 0.5 * w), 0):int(x1 + 0.5 * w)] = True
        assert not (np.any(out != frame, axis=2) & ~allowed).any()
    pipe.close()


def test_clip_frames_fps_audio_identical(clips_dir, tmp_path):
    from eyecontact.cli import main

    src = clips_dir / "liveportrait_d19.mp4"
    dst = tmp_path / "d19.mp4"
    assert main(["process", str(src), "-o", str(dst), "--no-progress"]) == 0
    facts = []
    for p in (src, dst):
        with av.open(str(p)) as c:
            v = c.streams.video[0]
            pts = [f.pts for f in c.decode(video=0)]
            rate = v.average_rate
        with av.open(str(p)) as c:
            audio = [(k.pts, k.dts, bytes(k)) for k in c.demux(audio=0) if k.dts is not None]
        facts.append((pts, rate, audio))
    assert facts[0] == facts[1]
