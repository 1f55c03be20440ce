"""One eye covered in a generated clip: it falls back to the real pixels on its own, while the
other eye keeps its correction."""

from __future__ import annotations

import cv2
import numpy as np

from eyecontact.config import PipelineSettings
from eyecontact.eyecrop import EYE_LANDMARKS
from eyecontact.pipeline import Pipeline


def test_covered_eye_is_left_alone_and_the_other_is_corrected(astronaut_frames):
    # Aim the eyes 12 deg away from the camera so there is always something to correct.
    pipe = Pipeline(PipelineSettings(redirector="analytic", aim_offset_deg=(-12.0, 0.0)))
    covered_side = "left"
    hand_colour = (196, 150, 128)
    checked = 0
    last_face = None
    for i, frame in enumerate(astronaut_frames):
        frame = frame.copy()
        cover = None
        if i >= 20 and last_face is not None:
            # A hand over the subject's left eye (image right), placed from the previous
            # frame's landmarks of that eye.
            pts = last_face.points[EYE_LANDMARKS[covered_side]["upper"] + EYE_LANDMARKS[covered_side]["lower"]]
            (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
            w = x1 - x0
            centre = (int((x0 + x1) / 2), int((y0 + y1) / 2))
            cv2.ellipse(frame, centre, (int(1.3 * w), int(0.9 * w)), 0, 0, 360, hand_colour, -1)
            frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
            cover = (x0, y0, x1, y1)
        out, result = pipe.process(frame, i / 30.0)
        assert result.faces
        last_face = result.faces[0].landmarks
        if cover is not None and i >= 26:  # the controller has had a few frames to react
            face = result.faces[0]
            assert not face.measurement.eye(covered_side).visible
            # Nothing painted over the hand...
            x0, y0, x1, y1 = (int(v) for v in cover)
            assert np.array_equal(out[y0:y1, x0:x1], frame[y0:y1, x0:x1])
            # ...while the uncovered eye is still corrected at full share.
            assert face.measurement.eye("right").visible
            assert face.decision.eye_share["right"] > 0.9
            pts = face.landmarks.points[EYE_LANDMARKS["right"]["upper"]]
            (a0, b0), (a1, b1) = pts.min(axis=0), pts.max(axis=0)
            assert not np.array_equal(out[int(b0) - 3:int(b1) + 6, int(a0):int(a1)],
                                      frame[int(b0) - 3:int(b1) + 6, int(a0):int(a1)])
            checked += 1
    assert checked >= 15
    pipe.close()


def test_lowered_lids_are_not_taken_for_a_cover(clips_dir):
    """d3 looks down with lowered lids again and again: the opening then shows flat dark
    lashes (a luminance spread of 5-15, like a cover) but nothing covers the eyes. Both eyes
    must stay visible and be treated alike; taking one for covered corrected the other eye
    alone in 18 frames, a face whose eyes look two ways."""
    import av

    pipe = Pipeline(PipelineSettings(redirector="analytic"))
    frames_checked = 0
    with av.open(str(clips_dir / "liveportrait_d3.mp4")) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= 230:  # the lowered-lid glances of the clip are all before this
                break
            _, result = pipe.process(frame.to_ndarray(format="rgb24"), i / 30.0)
            face = result.faces[0]
            assert face.measurement.right.visible and face.measurement.left.visible, f"frame {i}"
            shares = face.decision.eye_share
            assert shares["right"] == shares["left"], f"frame {i}: {shares}"
            frames_checked += 1
    pipe.close()
    assert frames_checked == 230
