"""Runs the real tray + preview on a generated face clip and screenshots the X screen.

Usage (under an X server with a tray host, e.g. Xvfb + trayer):
    python tests/gui_demo.py OUT.png [--seconds 3]

Uses the real Pipeline when it can be built, else a colour-inverting stand-in; the virtual
camera output is "none" so no device is needed. Exits 0 once the screenshot is written.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_fakes import FakePipeline, make_test_video  # noqa: E402


def make_clip(path: Path) -> Path:
    try:
        from eyecontact.synthetic import moving_face_frames, write_clip

        write_clip(path, list(moving_face_frames(640, 480, 90)), fps=30)
    except Exception:  # the synthetic module is optional for this demo
        make_test_video(path, frames=60, size=(640, 480))
    return path


def make_pipeline():
    try:
        from eyecontact.config import PipelineSettings
        from eyecontact.pipeline import Pipeline

        return Pipeline(PipelineSettings())
    except Exception:
        return FakePipeline()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    from PySide6.QtCore import QPoint, QTimer

    from eyecontact.gui.app import build_gui
    from eyecontact.live.capture import CameraInfo, FileSource
    from eyecontact.live.controls import LiveControls
    from eyecontact.live.loop import LiveLoop
    from eyecontact.live.output import NullSink
    from eyecontact.live.settings import UserSettings

    clip = make_clip(Path(tempfile.mkdtemp()) / "face.mp4")
    pipeline = make_pipeline()
    loop = LiveLoop(FileSource(clip), pipeline, lambda w, h, fps: NullSink())
    loop.start()
    controls = LiveControls(pipeline, UserSettings(), loop=loop, save=None)
    cameras = [CameraInfo(0, "Integrated Webcam", "/dev/video0"),
               CameraInfo(2, "Logitech C920", "/dev/video2")]
    gui = build_gui(loop, controls, tray=True, preview=True, cameras=cameras)
    gui.window.move(0, 40)
    gui.window.resize(1000, 430)

    def open_menu() -> None:
        if gui.tray is not None:  # show what the tray offers, next to the preview
            gui.tray.menu.popup(QPoint(1020, 40))

    def shoot() -> None:
        subprocess.run(["import", "-window", "root", args.out], check=True)
        gui.app.quit()

    QTimer.singleShot(int(args.seconds * 1000) - 800, open_menu)
    QTimer.singleShot(int(args.seconds * 1000), shoot)
    code = gui.app.exec()
    loop.stop()
    getattr(pipeline, "close", lambda: None)()
    print("tray:", "yes" if gui.tray is not None else "no (no tray host)")
    return code


if __name__ == "__main__":
    sys.exit(main())
