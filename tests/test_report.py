"""Reports: JSON and self-contained HTML, well-formed, written atomically."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from eyecontact import report as report_mod
from eyecontact.config import ControlSettings
from eyecontact.control import EyeMeasurement, FaceController, FaceMeasurement
from eyecontact.report import ReportWriter, face_entry, render_html, summarise

SVG = "{http://www.w3.org/2000/svg}svg"


def fill(writer: ReportWriter, seconds: float = 6.0, fps: float = 30.0) -> None:
    """A face that looks at the screen, away (40 deg), back, blinks, and is lost for a while."""
    ctrl = FaceController(ControlSettings(blinks="always", seed=2), fps)
    for i in range(int(seconds * fps)):
        t = i / fps
        if 4.0 <= t < 4.5:
            writer.add(i, t, [])  # no face found in these frames
            continue
        offset = 40.0 if 2.0 <= t < 3.0 else 8.0
        shut = 5.0 <= t < 5.2
        ap = 0.03 if shut else 0.3
        m = FaceMeasurement(t, 3.0, -5.0, EyeMeasurement(offset, True, ap),
                            EyeMeasurement(offset + 1.0, i % 50 != 0, ap), 0.95, 220.0)
        d = ctrl.update(m)
        writer.add(i, t, [face_entry(0, m, d, head_roll=1.5)])


def test_json_report(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "run.json"
    w = ReportWriter(path, meta={"source": "clip.mp4",
                                 "thresholds": {"gaze_low_deg": 20, "gaze_high_deg": 30}})
    fill(w)
    assert w.close() == path
    doc = json.loads(path.read_text())
    assert set(doc) == {"frames", "summary", "meta"}
    assert len(doc["frames"]) == 180
    f0 = doc["frames"][10]
    assert set(f0) == {"index", "time_s", "faces"} and f0["index"] == 10
    face = f0["faces"][0]
    for key in ("face_id", "share", "target_share", "blink_state", "limited_by", "gaze_before",
                "gaze_after", "head", "landmarks_found", "eye_share", "openness", "look_away"):
        assert key in face
    assert face["head"] == {"pitch": 3.0, "yaw": -5.0, "roll": 1.5}
    assert face["gaze_before"]["offset_deg"] == pytest.approx(8.5)
    # Corrected: the offset after is the uncorrected rest (share < 1 only while fading).
    last_open = doc["frames"][179]["faces"][0]
    assert last_open["gaze_after"]["offset_deg"] < last_open["gaze_before"]["offset_deg"]
    assert doc["frames"][125]["faces"] == []
    s = doc["summary"]
    assert s["frames"] == 180 and s["frames_with_face"] == 165
    assert s["duration_s"] == pytest.approx(179 / 30)
    fs = s["faces"]["0"]
    assert fs["real_blinks"] == 1
    assert fs["synthetic_blinks"] >= 1
    assert 0.0 < fs["mean_share"] < 1.0
    assert "gaze" in fs["limited_by_fraction"]


def test_nan_and_numpy_values_become_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with ReportWriter(path) as w:
        w.add(0, 0.0, [{"face_id": np.int64(0), "share": np.float32(0.5),
                        "gaze_before": {"offset_deg": math.nan}, "x": np.array([1.0, math.inf])}])
    doc = json.loads(path.read_text())  # strict JSON: would fail on NaN/Infinity tokens
    face = doc["frames"][0]["faces"][0]
    assert face["gaze_before"]["offset_deg"] is None and face["x"] == [1.0, None]
    assert face["share"] == 0.5


def test_html_report_is_self_contained_and_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "run.html"
    w = ReportWriter(path, meta={"thresholds": {"gaze_low_deg": 20, "gaze_high_deg": 30}})
    fill(w)
    w.close()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # The whole page parses as XML, so every tag is closed and every SVG is valid.
    root = ET.fromstring(text.split("\n", 1)[1])
    svgs = list(root.iter(SVG))
    assert len(svgs) >= 3
    lines = [el for el in root.iter("{http://www.w3.org/2000/svg}polyline")]
    assert len(lines) >= 4  # before, after, share, target (broken where the face was lost)
    bands = [el for el in root.iter("{http://www.w3.org/2000/svg}rect")
             if el.get("fill") in report_mod.STATE_COLOURS.values()]
    assert bands
    low = text.lower()
    assert "<script" not in low and "http://" not in low.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in low
    for words in ("gaze offset before", "gaze offset after", "applied share", "real blink",
                  "synthetic blink", "what limited the correction"):
        assert words in low


def test_atomic_write_keeps_old_report_on_failure(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "r.html"
    path.write_text("old")

    def boom(doc: object) -> str:
        raise RuntimeError("render failed")

    monkeypatch.setattr(report_mod, "render_html", boom)
    w = ReportWriter(path)
    w.add(0, 0.0, [])
    with pytest.raises(RuntimeError):
        w.close()
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temp file left


def test_bad_suffix_and_empty_report(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ReportWriter(tmp_path / "r.txt")
    w = ReportWriter(tmp_path / "empty.html")
    w.close()
    assert "0 frames" in (tmp_path / "empty.html").read_text()
    assert summarise([])["frames"] == 0
    assert render_html({"frames": [], "summary": summarise([])}).startswith("<!DOCTYPE html>")


def test_face_entry_without_decision() -> None:
    m = FaceMeasurement(0.0, 0.0, 0.0, EyeMeasurement(12.0), EyeMeasurement(14.0, False))
    e = face_entry(3, m, None, landmarks_found=True, skipped_reason="pose failed")
    assert e["face_id"] == 3 and e["share"] == 0.0 and e["skipped_reason"] == "pose failed"
    assert e["gaze_before"]["offset_deg"] == 12.0 == e["gaze_after"]["offset_deg"]


def test_face_entry_reports_the_face_offset_the_controller_used() -> None:
    """Where both eyes show, the face's own offset is reported (per-eye offsets also carry the
    error of the angle between the eyes) and the share turns it towards the camera."""
    m = FaceMeasurement(0.0, 0.0, 0.0, EyeMeasurement(25.0), EyeMeasurement(27.0),
                        face_offset_deg=10.0)
    ctrl = FaceController(ControlSettings(blinks="off", seed=0), 30.0)
    for i in range(30):
        d = ctrl.update(FaceMeasurement(i / 30.0, 0.0, 0.0, EyeMeasurement(25.0), EyeMeasurement(27.0),
                                        face_offset_deg=10.0))
    e = face_entry(0, m, d)
    assert e["gaze_before"]["offset_deg"] == 10.0
    assert e["share"] == pytest.approx(1.0)
    assert e["gaze_after"]["offset_deg"] == pytest.approx(0.0, abs=1e-6)
    one_eye = FaceMeasurement(0.0, 0.0, 0.0, EyeMeasurement(25.0), EyeMeasurement(27.0, False),
                              face_offset_deg=10.0)
    assert face_entry(0, one_eye, None)["gaze_before"]["offset_deg"] == 25.0


def test_long_report_is_thinned_but_keeps_spikes(tmp_path: Path) -> None:
    path = tmp_path / "long.html"
    w = ReportWriter(path)
    for i in range(20000):  # 11 minutes at 30 fps
        off = 60.0 if i == 12345 else 10.0
        m = FaceMeasurement(i / 30, 0.0, 0.0, EyeMeasurement(off), EyeMeasurement(off))
        w.add(i, i / 30, [face_entry(0, m, None)])
    w.close()
    text = path.read_text()
    assert len(text) < 1_000_000
    root = ET.fromstring(text.split("\n", 1)[1])
    pts = [p for el in root.iter("{http://www.w3.org/2000/svg}polyline")
           for p in el.get("points", "").split()]
    assert len(pts) < 4 * 20000 / 2
    ys = [float(p.split(",")[1]) for p in pts]
    assert min(ys) < 20.0  # the one-frame 60 deg spike is still drawn near the top


def test_debug_draw() -> None:
    from eyecontact.control import FaceDecision
    from eyecontact.debug_draw import EyeDebug, FaceDebugInfo, debug_info_from, draw_debug
    from eyecontact.types import EyeGaze, FaceLandmarks

    frame = np.zeros((240, 320, 3), np.uint8)
    eye = EyeDebug("right", np.array([[100, 120], [120, 112], [140, 120], [120, 128]], float),
                   np.array([120.0, 120.0]), 6.0, gaze_before=(-10.0, 20.0), gaze_after=(0.0, 0.0))
    info = FaceDebugInfo(eyes=[eye], share=0.7, blink_state="synthetic_blink", target_share=1.0,
                         limited_by="gaze", anchor=(90.0, 80.0))
    out = draw_debug(frame, [info])
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert frame.max() == 0  # the input is untouched
    assert out[110:130, 95:145].any()  # lids and iris drawn
    assert out[:80].any()  # text above the face
    red = (out[..., 0] > 200) & (out[..., 1] < 120)
    assert red.any()  # the "before" arrow

    # From pipeline records: landmarks, EyeGaze per side, and a decision.
    rng = np.random.default_rng(0)
    pts = rng.uniform(60, 260, size=(478, 2)).astype(np.float32)
    lm = FaceLandmarks(points=pts, depth=np.zeros(478, np.float32), frame_size=(320, 240))
    g = EyeGaze(side="right", eyeball_center=np.array([0.0, 0.0, 500.0]),
                gaze=np.array([0.0, 0.0, -1.0]), to_camera=np.array([0.0, 0.0, -1.0]),
                pitch=-12.0, yaw=5.0, camera_pitch=0.0, camera_yaw=0.0, aperture=0.3)
    d = FaceDecision(share=0.5, eye_share={"right": 0.5, "left": 0.5},
                     openness={"right": 1.0, "left": 1.0}, look_away=(0.0, 0.0),
                     blink_state="open", target_share=0.5, limited_by="gaze")
    info2 = debug_info_from(lm, {"right": g}, d)
    assert len(info2.eyes) == 2
    assert info2.eyes[0].gaze_after == pytest.approx((-6.0, 2.5))
    assert info2.eyes[1].gaze_before is None
    assert draw_debug(np.zeros((240, 320, 3), np.uint8), [info2]).any()
