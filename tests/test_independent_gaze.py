"""The independent-estimator measurement (tools/independent_gaze.py): its arithmetic and its
messages. The estimator itself lives in a separate environment (see the tool's docstring)."""

from __future__ import annotations

import importlib.util
import json
import math

import pytest

from tools import independent_gaze as ig

D = 50.0


def below(deg: float, side_deg: float = 0.0) -> tuple[float, float]:
    """The screen-plane point (cm) a person at ``D`` cm looks at, ``deg`` below the camera."""
    return D * math.tan(math.radians(side_deg)), -D * math.tan(math.radians(deg))


def test_angles_of_a_point_below_the_camera():
    offset, down, side = ig.angles_deg(below(15.0), D)
    assert offset == pytest.approx(15.0)
    assert down == pytest.approx(15.0)
    assert side == pytest.approx(0.0, abs=1e-9)
    offset, down, side = ig.angles_deg(below(-5.0, 12.0), D)  # above and to the side
    assert down == pytest.approx(-5.0)
    assert side == pytest.approx(12.0)
    assert offset > 12.0


def test_summary_counts_the_acceptance_case_and_the_gain():
    before = [below(15.0), below(12.0), below(30.0), below(2.0), None, below(15.0, 25.0)]
    after = [below(5.0), below(4.0), below(29.0), below(3.0), below(1.0), None]
    s = ig.summarise(before, after, D)
    assert s["frames_read"] == 4  # frames with a reading in both
    # 10-20 deg below and at most 10 to the side: the first two (gains 10 and 8)
    assert s["below_frames"] == 2
    assert s["below_improvement_median"] == pytest.approx(9.0, abs=0.01)
    assert s["at_camera_frames"] == 1
    assert s["at_camera_offset_before_median"] == pytest.approx(2.0, abs=0.01)
    assert s["at_camera_offset_after_median"] == pytest.approx(3.0, abs=0.01)


def test_a_missing_file_is_a_message(tmp_path, capsys):
    assert ig.main([str(tmp_path / "nope.mp4"), str(tmp_path / "out.mp4")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("gazefollower") is not None,
                    reason="GazeFollower is installed here")
def test_without_the_estimator_it_says_how_to_get_it(tmp_path, capsys):
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"x")
    assert ig.main([str(clip), str(clip)]) == 2
    assert "GazeFollower is not installed" in capsys.readouterr().err


def test_full_share_frames_come_from_the_report(tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"frames": [
        {"faces": [{"corrected": True, "share": 1.0}]},
        {"faces": [{"corrected": True, "share": 0.5}]},
        {"faces": []},
        {"faces": [{"corrected": False, "share": 0.0}]},
    ]}))
    full = ig.full_share_frames(report)
    assert full == [True, False, False, False]
    before = [below(15.0), below(15.0), below(15.0), below(15.0)]
    after = [below(5.0), below(12.0), below(15.0), below(15.0)]
    s = ig.summarise(before, after, D, full)
    assert s["below_frames"] == 4 and s["full_share_below_frames"] == 1
    assert s["full_share_below_improvement_median"] == pytest.approx(10.0, abs=0.01)
    assert "full_share_below_frames" not in ig.summarise(before, after, D)


def test_vertical_calibration_maps_the_input_onto_the_reference_range():
    # The network reads 0..10 deg below (31 evenly spaced frames): 5th..95th percentile
    # -9.5..-0.5 deg (up > 0). Another estimator gave -20..10 for the same clip.
    before = [below(d / 3.0) for d in range(31)]
    gain, offset = ig.vertical_calibration(before, D, (-20.0, 10.0))
    assert gain == pytest.approx(30.0 / 9.0)
    assert offset == pytest.approx(-20.0 + gain * 9.5)
    mapped = ig.calibrated(before, D, gain, offset)
    up = [-ig.angles_deg(p, D)[1] for p in mapped]
    assert up[0] == pytest.approx(offset)  # 0 deg on this network's scale
    assert min(up) == pytest.approx(gain * -10.0 + offset)
    assert [p[0] for p in mapped] == [p[0] for p in before]  # horizontal kept
    # A change of 2 deg on this network's scale reads as gain x 2 calibrated.
    moved = ig.calibrated([below(8.0), below(6.0)], D, gain, offset)
    assert ig.angles_deg(moved[0], D)[1] - ig.angles_deg(moved[1], D)[1] == pytest.approx(2.0 * gain)
    assert ig.calibrated([None], D, gain, offset) == [None]
