"""`eyecontact live`: flags and the function that runs live mode.

The lead's ``eyecontact.cli`` calls :func:`add_live_arguments` on the ``live`` sub-parser and
:func:`run_live` with the parsed namespace. Settings are layered: defaults <- the saved user
settings (eyecontact.live.settings) <- command-line flags given this time.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eyecontact.cli import add_aim_arguments
from eyecontact.config import DEFAULT_REDIRECTOR, ControlSettings, PipelineSettings, aim_problem
from eyecontact.live.capture import CameraSource, FileSource, FrameSource, SourceError
from eyecontact.live.controls import LiveControls
from eyecontact.live.loop import LiveLoop, LoopConfig
from eyecontact.live.output import FrameSink, OutputUnavailable, open_output
from eyecontact.live.settings import BLINK_MODES, UserSettings, load_settings

log = logging.getLogger("eyecontact.live")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NO_CAMERA = 2
EXIT_NO_OUTPUT = 3

PipelineFactory = Callable[[PipelineSettings], Any]
OutputFactory = Callable[[int, int, float], FrameSink]


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("input")
    which = src.add_mutually_exclusive_group()
    which.add_argument("--camera", metavar="INDEX|NAME",
                       help="webcam index, /dev/videoN or part of its name (default: saved "
                            "choice, else the first camera)")
    which.add_argument("--source", metavar="FILE",
                       help="use a video file as the camera, played at its own frame rate")
    src.add_argument("--no-loop", action="store_true",
                     help="with --source: stop at the end of the file instead of starting over")
    src.add_argument("--width", type=int, help="requested capture width (camera default 1280)")
    src.add_argument("--height", type=int, help="requested capture height (camera default 720)")
    src.add_argument("--fps", type=float, help="requested capture frame rate (default 30)")

    out = parser.add_argument_group("output")
    out.add_argument("--output", default="virtual", metavar="virtual|none|DEVICE",
                     help="virtual camera (default), none, or a device such as /dev/video10")
    out.add_argument("--preview", action="store_true",
                     help="show a before/after preview window (needs eyecontact[gui])")
    out.add_argument("--tray", action="store_true",
                     help="system-tray icon with on/off, strength, blinks, camera, quit")
    out.add_argument("--stats", action="store_true",
                     help="print fps, latency and drops every few seconds")
    out.add_argument("--stats-json", metavar="FILE",
                     help="write delivered_fps, latency_ms_p95, dropped, ... here on exit")
    out.add_argument("--frames", type=int, metavar="N", help="stop after N frames")

    eff = parser.add_argument_group("effect (defaults come from the saved settings)")
    eff.add_argument("--strength", type=float, help="share of the full correction, 0..1")
    eff.add_argument("--blinks", choices=BLINK_MODES, help="synthetic blinks")
    eff.add_argument("--look-away", action=argparse.BooleanOptionalAction, default=None,
                     help="occasional small natural glances away")
    eff.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                     help="where the redirection model runs")
    eff.add_argument("--redirector", choices=("auto", "model", "analytic", "identity"),
                     default=DEFAULT_REDIRECTOR, help="which eye redirector to use")
    add_aim_arguments(eff)


def effective_user_settings(args: argparse.Namespace, saved: UserSettings) -> UserSettings:
    """The saved settings overridden by the flags given this time (saved again only when
    changed from the GUI)."""
    return UserSettings(
        enabled=saved.enabled,
        strength=args.strength if args.strength is not None else saved.strength,
        blinks=args.blinks or saved.blinks,
        camera=args.camera if args.camera is not None else saved.camera,
        look_away=args.look_away if args.look_away is not None else saved.look_away,
    ).validated()


def build_pipeline_settings(args: argparse.Namespace, user: UserSettings) -> PipelineSettings:
    low, high = args.gaze_range
    return PipelineSettings(
        strength=user.strength,
        redirector=args.redirector,
        device=args.device,
        control=ControlSettings(blinks=user.blinks, look_away=user.look_away,
                                gaze_low_deg=low, gaze_high_deg=high),
        aim_offset_deg=(args.aim[0], args.aim[1]),
    )


def make_source(args: argparse.Namespace, camera: str | None) -> FrameSource:
    if args.source:
        return FileSource(args.source, loop=not args.no_loop, width=args.width,
                          height=args.height)
    return CameraSource(camera if camera is not None else 0, args.width, args.height, args.fps)


def _default_pipeline(settings: PipelineSettings) -> Any:
    from eyecontact.pipeline import Pipeline

    return Pipeline(settings)


@contextmanager
def _stop_on_signals(loop: LiveLoop) -> Iterator[None]:
    """Ctrl-C and SIGTERM end the loop cleanly (devices released) instead of killing it."""
    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: loop.request_stop())
    except ValueError:  # not the main thread (embedded use): rely on the caller to stop us
        previous.clear()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _setup_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)


def run_live(
    args: argparse.Namespace,
    *,
    pipeline_factory: PipelineFactory | None = None,
    output_factory: OutputFactory | None = None,
) -> int:
    """Run live mode until Ctrl-C/SIGTERM, the tray's Quit, ``--frames`` or the end of
    ``--source --no-loop``. Returns the process exit code. The factories are seams for tests."""
    _setup_logging()
    problem = aim_problem(args.gaze_range, args.aim)
    if problem:
        log.error("%s", problem)
        return EXIT_ERROR
    gui = bool(args.preview or args.tray)
    if gui:
        problem = gui_problem()
        if problem:
            log.error(problem)
            return EXIT_ERROR

    saved = load_settings()
    user = effective_user_settings(args, saved)
    source = make_source(args, user.camera)
    if output_factory is None:
        def output_factory(w: int, h: int, fps: float) -> FrameSink:
            return open_output(args.output, w, h, fps)

    from eyecontact.providers import ProviderError
    from eyecontact.redirect.onnx_model import ModelError

    try:
        pipeline = (pipeline_factory or _default_pipeline)(build_pipeline_settings(args, user))
    except (ProviderError, ModelError) as exc:  # the user's own choice of device or model
        log.error("%s", exc)
        return EXIT_ERROR
    except Exception:
        log.exception("Could not start the eye-contact pipeline")
        return EXIT_ERROR
    try:
        # Headless runs always start with eye contact on; the saved on/off belongs to the GUI,
        # where the user can see and flip it.
        pipeline.set_enabled(user.enabled if gui else True)
        loop = LiveLoop(source, pipeline, output_factory,
                        LoopConfig(max_frames=args.frames,
                                   stats_interval_s=5.0 if args.stats else None))
        try:
            loop.start(allow_missing_output=gui)
        except SourceError as exc:
            log.error("%s", exc)
            return EXIT_NO_CAMERA
        except OutputUnavailable as exc:
            log.error("%s", exc)
            return EXIT_NO_OUTPUT
        if loop.output_problem:
            log.warning("%s", loop.output_problem)
        provider = getattr(pipeline, "redirector_provider", "?")
        # Always shown (not a log line): where the picture comes from and where it goes.
        print(f"Eye Contact live: {loop.source_description} -> {loop.output_description} "
              f"(redirector: {provider}). Ctrl-C to stop.", file=sys.stderr, flush=True)
        code = EXIT_OK
        with _stop_on_signals(loop):
            try:
                if gui:
                    from eyecontact.gui import run_gui  # PySide6 only when asked for

                    # The GUI shows what is in effect now; its changes are saved.
                    controls = LiveControls(pipeline, user, loop=loop,
                                            source_factory=lambda cam: make_source(args, cam))
                    code = run_gui(loop, controls, tray=args.tray, preview=args.preview)
                else:
                    while not loop.wait(0.2):  # short waits keep signal handlers responsive
                        pass
            finally:
                loop.stop()
        _report(args, loop)
        return code
    finally:
        pipeline.close()


def _report(args: argparse.Namespace, loop: LiveLoop) -> None:
    if args.stats:
        print(loop.stats.line(), file=sys.stderr)
    if args.stats_json:
        loop.stats.write_json(args.stats_json)
    errors = loop.stats.pipeline_errors
    if errors:
        log.warning("Eye-contact processing failed on %d frame(s); they were sent unchanged.",
                    errors)


def gui_problem() -> str | None:
    """Why the GUI cannot start here, or None. Checked before Qt, whose own failure aborts."""
    try:
        import PySide6  # noqa: F401
    except ImportError:
        return 'The tray/preview needs PySide6: pip install "eyecontact[gui]"'
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and os.environ.get("QT_QPA_PLATFORM", "") not in ("offscreen", "minimal", "vnc")
    ):
        return "No display for the tray/preview (DISPLAY is not set); run without --tray/--preview."
    return None
