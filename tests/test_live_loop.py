"""The real-time loop with fake devices: ordering, dropping, faults, soak, shutdown."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from live_fakes import FakePipeline, FakeSource, RecordingSink, make_test_video

from eyecontact.live import cli as live_cli
from eyecontact.live.loop import LatestSlot, LiveLoop, LoopConfig, make_placeholder
from eyecontact.live.settings import UserSettings, load_settings, save_settings

REPO = Path(__file__).resolve().parents[1]


def _loop(source, pipeline=None, sink=None, **cfg) -> tuple[LiveLoop, RecordingSink]:
    sink = sink or RecordingSink()
    loop = LiveLoop(source, pipeline or FakePipeline(), lambda w, h, fps: sink, LoopConfig(**cfg))
    return loop, sink


def _placeholder_value(size=(64, 48)) -> int:
    p = make_placeholder(*size, "x")
    return int(p[0, 0, 0]) + 256 * int(p[0, 0, 1])


def test_latest_slot_keeps_only_the_newest_item():
    slot: LatestSlot[int] = LatestSlot()
    assert slot.get(timeout=0) is None
    slot.put(1)
    slot.put(2)
    assert slot.dropped == 1
    assert slot.get(timeout=0) == 2
    slot.put(3)
    slot.close()
    assert slot.get(timeout=1) == 3  # drained after close
    assert slot.get(timeout=1) is None and slot.closed


def test_frames_flow_in_order_and_are_processed():
    source = FakeSource(frames=60, fps=60)
    pipeline = FakePipeline()
    loop, sink = _loop(source, pipeline)
    stats = loop.run()
    # Nothing lost (a drop or two allowed: other jobs may starve a thread on a busy CI box).
    assert stats.sent + stats.dropped == 60 and stats.dropped <= 2
    assert sink.numbers == sorted(sink.numbers)  # never out of order
    assert sink.last is not None and sink.last[5, 5, 0] == 255  # inverted by the pipeline
    assert sink.closed == 1 and source.closes >= 1
    ts = pipeline.timestamps
    # Strictly increasing, as the landmark tracker requires.
    assert all(b > a for a, b in zip(ts, ts[1:], strict=False))


def test_frames_limit_stops_the_loop():
    loop, sink = _loop(FakeSource(fps=200), max_frames=25)
    loop.run()
    assert loop.stats.sent == 25
    assert not loop.running


def test_pipeline_errors_pass_the_raw_frame_through_and_log_once(caplog):
    pipeline = FakePipeline(fail_every=3)
    loop, sink = _loop(FakeSource(frames=30, fps=60), pipeline)
    with caplog.at_level(logging.WARNING, logger="eyecontact.live.loop"):
        stats = loop.run()
    assert stats.sent + stats.dropped == 30  # failed frames were sent too (raw)
    assert stats.pipeline_errors == stats.processed // 3 > 0
    messages = [r for r in caplog.records if "processing failed" in r.getMessage()]
    assert len(messages) == 1


def test_wrong_output_from_pipeline_is_replaced_by_the_raw_frame():
    class Bad(FakePipeline):
        def process(self, frame, ts):
            return frame[:10], None

    loop, sink = _loop(FakeSource(frames=5, fps=60), Bad())
    stats = loop.run()
    assert stats.sent + stats.dropped == 5 and stats.pipeline_errors == stats.processed
    assert sink.last is not None and sink.last.shape == (48, 64, 3)


def test_slow_processing_drops_stale_frames_and_repeats_the_last_one():
    # Camera at 100 fps, processing 25 fps: the sender keeps 100 fps by repeating,
    # capture frames are dropped rather than queued, so latency stays ~one processing time.
    pipeline = FakePipeline(delay_s=0.04)
    loop, sink = _loop(FakeSource(fps=100), pipeline, max_frames=20)
    stats = loop.run()
    snap = stats.snapshot()
    assert stats.sent == 20
    assert snap["dropped_capture"] > 20
    assert stats.repeated > 10
    assert snap["latency_ms_p95"] < 200  # generous: one 40 ms processing plus one frame
    assert sink.numbers == sorted(sink.numbers)


def test_camera_outage_sends_placeholders_then_recovers(caplog):
    # Unplugged from 0.3 s to 0.9 s: reads return None, reopening fails until it is back.
    source = FakeSource(fps=100, outage=(0.3, 0.9))
    loop, sink = _loop(source, max_frames=80, placeholder_after_s=0.15, retry_initial_s=0.05,
                       retry_max_s=0.2, read_failures_before_reopen=3)
    with caplog.at_level(logging.INFO, logger="eyecontact.live.loop"):
        stats = loop.run()
    assert stats.sent == 80
    assert stats.placeholders > 0
    assert stats.source_outages == 1
    assert source.opens > 2  # it retried
    assert _placeholder_value() in sink.numbers
    assert sink.numbers[-1] != _placeholder_value()  # real frames again at the end
    assert any("Camera is back" in r.getMessage() for r in caplog.records)


def test_output_failure_is_retried_and_frames_resume(caplog):
    sink = RecordingSink(fail_sends=(10, 14))
    loop, _ = _loop(FakeSource(fps=100), sink=sink, max_frames=40, retry_initial_s=0.02)
    with caplog.at_level(logging.INFO):
        stats = loop.run()
    assert stats.output_errors >= 1
    assert sink.sent > 20  # sending resumed after the reader came back
    assert sum("stopped accepting" in r.getMessage() for r in caplog.records) == 1


def test_missing_output_is_picked_up_when_it_appears():
    from eyecontact.live.output import OutputUnavailable

    sink = RecordingSink()
    attempts = []

    def factory(w, h, fps):
        attempts.append(time.monotonic())
        if len(attempts) <= 2:
            raise OutputUnavailable("no device yet")
        return sink

    loop = LiveLoop(FakeSource(fps=100), FakePipeline(), factory,
                    LoopConfig(max_frames=60, retry_initial_s=0.05))
    loop.start(allow_missing_output=True)
    assert loop.output_problem == "no device yet"
    assert loop.wait(10)
    loop.stop()
    assert len(attempts) == 3 and sink.sent > 0
    assert loop.output_problem is None and loop.output_description == sink.description


def test_switching_cameras_keeps_the_output_size():
    loop, sink = _loop(FakeSource(fps=100), max_frames=60)
    loop.start()
    time.sleep(0.2)
    other = FakeSource(fps=100, size=(32, 24))
    loop.switch_source(other)
    assert loop.wait(10)
    loop.stop()
    assert other.opens == 1 and other.delivered > 0
    assert sink.last is not None and sink.last.shape == (48, 64, 3)  # resized to the output


def test_soak_keeps_memory_flat():
    # Thousands of small frames as fast as the loop goes: whatever is kept per frame
    # (stats, queues, buffers) must be bounded.
    source = FakeSource(frames=3000, size=(64, 48), fps=500)
    loop, sink = _loop(source)
    tracemalloc.start()
    loop.start()
    time.sleep(1.5)  # warm-up: the stats windows fill, the allocator settles
    early, _ = tracemalloc.get_traced_memory()
    loop.wait(60)
    late, _ = tracemalloc.get_traced_memory()
    loop.stop()
    tracemalloc.stop()
    assert loop.stats.sent + loop.stats.dropped == 3000
    growth_kib = (late - early) / 1024
    assert growth_kib < 512, f"memory grew by {growth_kib:.0f} KiB over the soak"


def test_no_drops_when_processing_keeps_up():
    source = FakeSource(frames=300, size=(64, 48), fps=60)
    loop, sink = _loop(source)
    snap = loop.run().snapshot()
    # A real camera's pace leaves each stage 16 ms; allow 1 % for a starved CI box.
    assert snap["dropped"] <= 3, snap
    assert snap["sent"] + snap["dropped"] == 300
    assert snap["repeated"] <= 3 and snap["placeholders"] == 0
    assert snap["latency_ms_p95"] < 100  # generous; typically well under a millisecond


def test_stop_event_shuts_down_and_releases_devices():
    source = FakeSource(fps=100)
    loop, sink = _loop(source)
    loop.start()
    time.sleep(0.3)
    loop.request_stop()
    assert loop.wait(5)
    loop.stop()
    assert sink.closed == 1 and source.closes >= 1
    assert not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("eyecontact-"))


def _live_args(tmp_path: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    live_cli.add_live_arguments(parser)
    return parser.parse_args(list(extra))


def test_run_live_with_a_video_file_writes_stats_json(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    video = make_test_video(tmp_path / "clip.mp4", frames=20, fps=60)
    stats_file = tmp_path / "stats.json"
    args = _live_args(tmp_path, "--source", str(video), "--no-loop", "--output", "none",
                      "--stats-json", str(stats_file), "--strength", "0.5")
    made = {}

    def factory(settings):
        made["settings"] = settings
        made["pipeline"] = FakePipeline()
        return made["pipeline"]

    assert live_cli.run_live(args, pipeline_factory=factory) == 0
    data = json.loads(stats_file.read_text())
    assert {"delivered_fps", "latency_ms_p95", "dropped"} <= data.keys()
    assert data["sent"] + data["dropped"] == 20 and data["sent"] > 0
    assert made["settings"].strength == 0.5
    assert made["pipeline"].closed == 1


def test_live_gaze_range_and_aim_reach_the_pipeline(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    video = make_test_video(tmp_path / "clip.mp4", frames=5, fps=30)
    made = {}

    def factory(settings):
        made["settings"] = settings
        return FakePipeline()

    args = _live_args(tmp_path, "--source", str(video), "--no-loop", "--output", "none",
                      "--gaze-range", "10", "25", "--aim", "-3", "0")
    assert live_cli.run_live(args, pipeline_factory=factory) == 0
    control = made["settings"].control
    assert (control.gaze_low_deg, control.gaze_high_deg) == (10.0, 25.0)
    assert made["settings"].aim_offset_deg == (-3.0, 0.0)
    # A range that cannot be: a message, and no pipeline is started.
    made.clear()
    args = _live_args(tmp_path, "--source", str(video), "--output", "none", "--gaze-range", "25", "10")
    assert live_cli.run_live(args, pipeline_factory=factory) == live_cli.EXIT_ERROR
    assert "settings" not in made
    assert "--gaze-range needs" in caplog.text


def test_run_live_reports_a_missing_camera(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    args = _live_args(tmp_path, "--source", str(tmp_path / "missing.mp4"), "--output", "none")
    pipeline = FakePipeline()
    assert live_cli.run_live(args, pipeline_factory=lambda s: pipeline) == live_cli.EXIT_NO_CAMERA
    assert pipeline.closed == 1


def test_sigterm_shuts_down_cleanly(tmp_path):
    video = make_test_video(tmp_path / "clip.mp4", frames=30, fps=30)
    stats_file = tmp_path / "stats.json"
    script = textwrap.dedent(f"""
        import argparse, sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        from live_fakes import FakePipeline
        from eyecontact.live.cli import add_live_arguments, run_live
        p = argparse.ArgumentParser(); add_live_arguments(p)
        args = p.parse_args(["--source", {str(video)!r}, "--output", "none",
                             "--stats-json", {str(stats_file)!r}])
        print("ready", flush=True)
        sys.exit(run_live(args, pipeline_factory=lambda s: FakePipeline()))
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # the file loops forever; let it run
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert json.loads(stats_file.read_text())["sent"] > 10


def test_with_the_real_pipeline(tmp_path):
    pipeline_mod = pytest.importorskip("eyecontact.pipeline")
    from eyecontact.config import PipelineSettings
    from eyecontact.live.capture import FileSource

    video = make_test_video(tmp_path / "clip.mp4", frames=10)
    pipeline = pipeline_mod.Pipeline(PipelineSettings())
    try:
        loop, sink = _loop(FileSource(video, loop=False), pipeline)
        stats = loop.run()
    finally:
        pipeline.close()
    assert stats.captured == 10 and stats.sent >= 1
    assert stats.sent + stats.dropped == 10  # every frame was sent or knowingly dropped
    assert sink.last is not None and sink.last.shape == (240, 320, 3)


def test_settings_round_trip_and_damaged_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    from eyecontact.live.settings import settings_path

    if sys.platform.startswith("linux"):
        assert settings_path() == tmp_path / "eyecontact" / "live.json"
    assert load_settings() == UserSettings()
    save_settings(UserSettings(enabled=False, strength=0.25, blinks="off", camera="2"))
    assert load_settings() == UserSettings(enabled=False, strength=0.25, blinks="off", camera="2")
    settings_path().write_text("{not json")
    assert load_settings() == UserSettings()
    settings_path().write_text(json.dumps({"strength": 7, "blinks": "sometimes", "new": 1}))
    assert load_settings() == UserSettings(strength=1.0, blinks="auto")


def test_placeholder_is_the_output_size():
    p = make_placeholder(320, 240, "Camera unavailable")
    assert p.shape == (240, 320, 3) and p.dtype == np.uint8 and p.max() > p[0, 0].max()
