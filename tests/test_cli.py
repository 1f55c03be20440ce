"""The command line: bench --json shape, doctor, version."""

from __future__ import annotations

import json

import pytest

from eyecontact.cli import main


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
