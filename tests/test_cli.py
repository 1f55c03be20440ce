"""The command line: bench --json shape, doctor, version."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eyecontact.cli import build_parser, main, settings_from_args


def test_bench_json_shape(capsys):
    assert main(["bench", "--json", "--frames", "6", "--resolution", "640x480", "--redirector", "analytic"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["provider"]
    r = report["resolutions"]["640x480"]
    assert r["pipeline_ms_median"] > 0 and r["landmarks_ms_median"] > 0
    assert set(r["stages"]) == {"landmarks", "geometry", "crop", "redirect", "composite"}
    assert all({"median", "p95"} <= set(v) for v in r["stages"].values())
    assert r["frames_corrected"] == 6  # the bench face is found and corrected on every frame


def test_bench_bad_resolution(capsys):
    assert main(["bench", "--resolution", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


def test_doctor_reports_each_piece(capsys):
    main(["doctor"])
    out = capsys.readouterr().out
    for name in ("python", "landmarker", "onnxruntime", "video codecs"):
        assert f"] {name}:" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "eyecontact" in capsys.readouterr().out


def test_strength_out_of_range(tmp_path, astronaut_clip):
    with pytest.raises(SystemExit):
        main(["process", str(astronaut_clip), "-o", str(tmp_path / "o.mp4"), "--strength", "2"])


def test_unusable_device_or_model_is_a_message(tmp_path, astronaut_clip, capsys):
    out = tmp_path / "o.mp4"
    code = main(["process", str(astronaut_clip), "-o", str(out), "--redirector", "model",
                 "--model", str(tmp_path / "missing.onnx"), "--no-progress"])
    assert code == 2
    assert "model file not found" in capsys.readouterr().err
    assert not out.exists()


def test_gaze_range_and_aim_reach_the_pipeline(tmp_path):
    args = build_parser().parse_args(["process", "in.mp4", "-o", str(tmp_path / "o.mp4"),
                                      "--gaze-range", "10", "15", "--aim", "-2", "1.5"])
    settings = settings_from_args(args)
    assert (settings.control.gaze_low_deg, settings.control.gaze_high_deg) == (10.0, 15.0)
    assert settings.aim_offset_deg == (-2.0, 1.5)
    default = settings_from_args(build_parser().parse_args(["process", "in.mp4", "-o", "o.mp4"]))
    assert (default.control.gaze_low_deg, default.control.gaze_high_deg) == (20.0, 30.0)
    assert default.aim_offset_deg == (0.0, 0.0)


@pytest.mark.parametrize("flag", [["--gaze-range", "30", "20"], ["--gaze-range", "-1", "5"],
                                  ["--aim", "45", "0"]])
def test_bad_gaze_range_or_aim_is_a_message(tmp_path, astronaut_clip, flag):
    out = tmp_path / "o.mp4"
    with pytest.raises(SystemExit) as exc:
        main(["process", str(astronaut_clip), "-o", str(out), *flag])
    assert "eyecontact: --" in str(exc.value.code)
    assert not out.exists()


def test_a_narrow_gaze_range_leaves_the_eyes_alone(tmp_path, astronaut_clip):
    """The moving-head clip's eyes sit some degrees off the camera: corrected with the default
    range, handed back when the range ends below that."""
    shares = {}
    for name, flag in (("default", []), ("narrow", ["--gaze-range", "0", "0.5"])):
        report = tmp_path / f"{name}.json"
        assert main(["process", str(astronaut_clip), "-o", str(tmp_path / f"{name}.mp4"),
                     "--no-progress", "--blinks", "off", "--report", str(report), *flag]) == 0
        frames = json.loads(report.read_text())["frames"]
        shares[name] = [f["faces"][0]["share"] for f in frames if f["faces"]]
    assert np.median(shares["default"]) > 0.9
    assert max(shares["narrow"]) < 0.1
