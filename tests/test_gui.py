"""Tray and preview driven from code (Qt offscreen), plus a real screenshot under Xvfb."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists
pytest.importorskip("PySide6.QtWidgets")

from live_fakes import FakePipeline, FakeSource, RecordingSink  # noqa: E402

from eyecontact.live.capture import CameraInfo  # noqa: E402
from eyecontact.live.controls import LiveControls  # noqa: E402
from eyecontact.live.loop import LiveLoop  # noqa: E402
from eyecontact.live.settings import UserSettings, load_settings, save_settings  # noqa: E402

HERE = Path(__file__).resolve().parent
CAMERAS = [CameraInfo(0, "Integrated Webcam", "/dev/video0"),
           CameraInfo(2, "Logitech C920", "/dev/video2")]


def _pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


@pytest.fixture
def live(tmp_path, monkeypatch):
    """A running loop on a fake camera, with controls that save to a temporary config dir."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    pipeline = FakePipeline()
    sources: list[str] = []

    def source_factory(camera: str) -> FakeSource:
        sources.append(camera)
        return FakeSource(fps=60)

    loop = LiveLoop(FakeSource(fps=60), pipeline, lambda w, h, fps: RecordingSink())
    loop.start()
    controls = LiveControls(pipeline, UserSettings(), loop=loop, source_factory=source_factory,
                            save=save_settings)
    yield loop, controls, pipeline, sources
    loop.stop()


@pytest.fixture
def gui(live):
    from eyecontact.gui.app import build_gui

    loop, controls, _, _ = live
    g = build_gui(loop, controls, tray=True, preview=True, cameras=CAMERAS)
    yield g
    g.watchdog.stop()
    if g.tray is not None:
        g.tray.hide()
    g.window.close()
    g.app.processEvents()


def test_toggle_action_switches_the_pipeline_and_saves(gui, live):
    _, controls, pipeline, _ = live
    assert gui.actions.toggle.isChecked()
    gui.actions.toggle.trigger()
    assert pipeline.enabled_calls[-1] is False and not controls.enabled
    assert load_settings().enabled is False
    assert not gui.window.enabled_box.isChecked()  # the preview follows the tray
    gui.window.enabled_box.setChecked(True)  # and the tray follows the preview
    assert pipeline.enabled_calls[-1] is True and gui.actions.toggle.isChecked()
    assert load_settings().enabled is True


def test_ctrl_e_is_the_toggle_shortcut_in_the_preview(gui):
    from PySide6.QtGui import QKeySequence

    assert gui.actions.toggle.shortcut() == QKeySequence("Ctrl+E")
    assert gui.actions.toggle in gui.window.actions()


def test_strength_blinks_and_camera_menus(gui, live):
    _, controls, pipeline, sources = live
    gui.actions.strength[0.5].trigger()
    assert pipeline.strength == 0.5
    gui.actions.blinks["off"].trigger()
    gui.actions.cameras["2"].trigger()
    saved = json.loads((Path(os.environ["XDG_CONFIG_HOME"]) / "eyecontact" / "live.json")
                       .read_text())
    assert saved["strength"] == 0.5 and saved["blinks"] == "off" and saved["camera"] == "2"
    assert sources == ["2"]  # the loop was asked to switch cameras
    gui.window.strength.setValue(30)
    assert pipeline.strength == pytest.approx(0.3)


def test_tray_menu_lists_every_control(gui):
    if gui.tray is None:  # offscreen has no tray: build the same menu directly
        menu = gui.actions.build_menu()
    else:
        menu = gui.tray.menu
    titles = [a.text() for a in menu.actions()]
    assert titles[:4] == ["Eye contact", "Strength", "Blinks", "Camera"]
    assert "Show preview" in titles and "Quit" in titles


def test_preview_shows_before_and_after(gui, live):
    loop = live[0]
    assert loop.preview_enabled  # the visible window asked for frames
    _pump(gui.app, 0.6)
    assert gui.window.frames_shown > 0
    assert not gui.window.before.image.pixmap().isNull()
    assert not gui.window.after.image.pixmap().isNull()
    gui.window.hide()
    assert not loop.preview_enabled


def test_quit_action_ends_the_app_and_stops_the_loop(gui, live):
    from PySide6.QtCore import QTimer

    loop = live[0]
    QTimer.singleShot(100, gui.actions.quit.trigger)
    gui.app.exec()
    assert loop.wait(5)


def test_pixmap_conversion_keeps_colours():
    from PySide6.QtWidgets import QApplication

    from eyecontact.gui.preview import to_pixmap

    QApplication.instance() or QApplication([])
    frame = np.zeros((10, 12, 3), np.uint8)
    frame[..., 0] = 200
    image = to_pixmap(frame).toImage()
    colour = image.pixelColor(3, 3)
    assert (colour.red(), colour.green(), colour.blue()) == (200, 0, 0)


def test_core_package_does_not_import_qt():
    code = ("import sys, eyecontact.live, eyecontact.live.cli, eyecontact.live.doctor; "
            "sys.exit(any(m.startswith('PySide6') for m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("import")),
                    reason="needs Xvfb and imagemagick (apt-get install xvfb imagemagick)")
def test_screenshot_under_xvfb(tmp_path):
    display = ":93"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1240x500x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tray_host = None
    try:
        time.sleep(1.0)
        env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(HERE.parent))
        env.pop("QT_QPA_PLATFORM", None)
        if shutil.which("trayer"):
            tray_host = subprocess.Popen(
                ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                 "--height", "32", "--SetDockType", "true", "--transparent", "false",
                 "--tint", "0x303030"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        shot = tmp_path / "shot.png"
        run = subprocess.run([sys.executable, str(HERE / "gui_demo.py"), str(shot)], env=env,
                             capture_output=True, text=True, timeout=90)
        if "Qt platform plugin" in run.stderr:
            pytest.skip("Qt's xcb plugin cannot load: apt-get install libxcb-cursor0 "
                        "libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0")
        assert run.returncode == 0, run.stderr[-2000:]
        import cv2

        pixels = cv2.imread(str(shot))
        assert pixels.shape == (500, 1240, 3)
        assert pixels.std() > 20  # a real picture, not a blank screen
        # The preview's light window background fills the top-left area.
        assert pixels[45:60, 5:200].mean() > 180
    finally:
        for proc in (tray_host, xvfb):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


def test_run_live_with_preview_ends_with_the_frame_limit(tmp_path, monkeypatch):
    import argparse

    from live_fakes import make_test_video

    from eyecontact.live import cli as live_cli

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    save_settings(UserSettings(enabled=False))  # the saved off-state applies in GUI sessions
    parser = argparse.ArgumentParser()
    live_cli.add_live_arguments(parser)
    video = make_test_video(tmp_path / "c.mp4", frames=10)
    args = parser.parse_args(["--source", str(video), "--output", "none", "--preview",
                              "--frames", "20"])
    pipeline = FakePipeline()
    assert live_cli.run_live(args, pipeline_factory=lambda s: pipeline) == 0
    assert pipeline.enabled_calls[0] is False
    assert pipeline.closed == 1
