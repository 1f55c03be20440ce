"""Command line: `eyecontact process | live | bench | doctor`. A thin layer over Pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .config import DEFAULT_REDIRECTOR

log = logging.getLogger("eyecontact")


def _add_pipeline_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strength", type=float, default=1.0, help="share of the full correction, 0..1 (default 1)")
    p.add_argument("--redirector", choices=["auto", "model", "analytic", "identity"], default=DEFAULT_REDIRECTOR,
                   help="analytic (default): the eyeball-model warp; model: the learned network; "
                        "auto: the network if it loads, else the analytic warp")
    p.add_argument("--model", dest="model_path", help="path of a .onnx redirect model")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto", help="ONNX Runtime device")
    p.add_argument("--max-faces", type=int, default=1, help="most faces corrected per frame (default 1)")
    p.add_argument("--focal", type=float, dest="focal_px", help="camera focal length in pixels (default: guessed)")
    p.add_argument("--blinks", choices=["off", "auto", "always"], default="auto",
                   help="synthesised blinks when real ones are not visible (default auto)")
    p.add_argument("--look-away", action="store_true", help="small natural gaze movements of the corrected eyes")
    p.add_argument("--seed", type=int, help="seed for blinks and look-aways (reproducible output)")
    add_aim_arguments(p)


def add_aim_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--gaze-range and --aim, shared by process, bench and live."""
    p.add_argument("--gaze-range", nargs=2, type=float, metavar=("LOW", "HIGH"), default=(20.0, 30.0),
                   help="degrees between gaze and camera: fully corrected below LOW, the real eyes "
                        "from HIGH on, faded between (default 20 30)")
    p.add_argument("--aim", nargs=2, type=float, metavar=("PITCH", "YAW"), default=(0.0, 0.0),
                   help="where corrected eyes look, degrees from the camera (pitch > 0 above it, "
                        "yaw > 0 to the image right; default 0 0: into the camera)")


def settings_from_args(args: argparse.Namespace, static_images: bool = False):
    from .config import ControlSettings, PipelineSettings, aim_problem

    if not 0.0 <= args.strength <= 1.0:
        raise SystemExit("eyecontact: --strength must be between 0 and 1")
    if args.max_faces < 1:
        raise SystemExit("eyecontact: --max-faces must be at least 1")
    problem = aim_problem(args.gaze_range, args.aim)
    if problem:
        raise SystemExit(f"eyecontact: {problem}")
    low, high = args.gaze_range
    control = ControlSettings(blinks=args.blinks, look_away=args.look_away, seed=args.seed,
                              gaze_low_deg=low, gaze_high_deg=high)
    return PipelineSettings(strength=args.strength, redirector=args.redirector, model_path=args.model_path,
                            device=args.device, max_faces=args.max_faces, focal_px=args.focal_px,
                            static_images=static_images, control=control,
                            aim_offset_deg=(args.aim[0], args.aim[1]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eyecontact", description="Gaze redirection: make eyes look into the camera.")
    parser.add_argument("--version", action="version", version=f"eyecontact {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("process", help="correct a recorded video file or an image")
    p.add_argument("input", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file (never the input)")
    p.add_argument("--compare", action="store_true", help="write before | after side by side")
    p.add_argument("--report", type=Path, help="per-frame decisions as .json or a .html page with plots")
    p.add_argument("--debug", action="store_true", help="draw landmarks, gaze and decisions onto the output")
    p.add_argument("--codec", help="video encoder (default libx264; libvpx-vp9 for .webm)")
    p.add_argument("--crf", type=int, help="encoder quality, lower is better (default 18; 30 for VP9)")
    p.add_argument("--preset", help="x264/x265 speed preset (default veryfast)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_pipeline_arguments(p)

    b = sub.add_parser("bench", help="time every stage at 640x480, 1280x720 and 1920x1080")
    b.add_argument("--frames", type=int, default=120, help="timed frames per resolution (default 120)")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--resolution", action="append", help="WxH to time instead of the defaults (repeatable)")
    _add_pipeline_arguments(b)

    sub.add_parser("doctor", help="what is installed and usable, and how to fix what is not")

    live = sub.add_parser("live", help="webcam in, corrected virtual camera out")
    try:
        from .live.cli import add_live_arguments
    except ImportError:
        live.set_defaults(live_unavailable=True)
    else:
        add_live_arguments(live)
    return parser


def cmd_process(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline
    from .video import EncodeOptions, InputError, check_paths, is_image, process_image, process_video

    src: Path = args.input
    dst: Path = args.output
    try:
        check_paths(src, dst, overwrite=args.overwrite)
    except InputError as exc:
        print(f"eyecontact: {exc}", file=sys.stderr)
        return 2
    if args.report and args.report.suffix.lower() not in (".json", ".html", ".htm"):
        print("eyecontact: --report must end in .json or .html", file=sys.stderr)
        return 2
    image = is_image(src)
    if image != is_image(dst):
        print("eyecontact: images are written as images and videos as videos; pick a matching output suffix",
              file=sys.stderr)
        return 2
    pipeline = _make_pipeline(settings_from_args(args, static_images=image))
    if pipeline is None:
        return 2
    report = _open_report(args.report, src, pipeline) if args.report else None
    # Decoded frames belong to the writer loop; only the side-by-side view needs the original.
    frame_fn = _frame_function(pipeline, report, debug=args.debug, in_place=not args.compare)
    try:
        if image:
            summary, _ = process_image(src, dst, frame_fn)
        else:
            options = EncodeOptions(codec=args.codec, crf=args.crf, preset=args.preset, compare=args.compare)
            summary, _ = process_video(src, dst, frame_fn, options, progress=not args.no_progress)
    except InputError as exc:
        print(f"eyecontact: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eyecontact: interrupted; no output written", file=sys.stderr)
        return 130
    finally:
        pipeline.close()
    if report is not None:
        report.close()
    for warning in summary.warnings:
        print(f"eyecontact: warning: {warning}", file=sys.stderr)
    print(f"wrote {dst}: {summary.frames_out} frame(s), face found in {summary.frames_with_face}, "
          f"corrected in {summary.frames_corrected}; redirector {pipeline.redirector.name} "
          f"on {pipeline.redirector_provider}", file=sys.stderr)
    if summary.frames_with_face == 0:
        print("eyecontact: warning: no face was found; the output equals the input", file=sys.stderr)
    return 0


def _make_pipeline(settings):
    """The pipeline, or None after a clear message when the asked-for model or device is unusable."""
    from .pipeline import Pipeline
    from .providers import ProviderError

    try:
        return Pipeline(settings)
    except ProviderError as exc:
        print(f"eyecontact: {exc}", file=sys.stderr)
    except Exception as exc:
        from .redirect.onnx_model import ModelError

        if not isinstance(exc, ModelError):
            raise
        print(f"eyecontact: {exc} (use --redirector analytic, or auto to fall back by itself)", file=sys.stderr)
    return None


def _open_report(path: Path, src: Path, pipeline):
    from dataclasses import asdict

    from .report import ReportWriter

    return ReportWriter(path, meta={"source": src.name, "redirector": pipeline.redirector.name,
                                    "provider": pipeline.redirector_provider,
                                    "strength": pipeline.settings.strength,
                                    "thresholds": asdict(pipeline.settings.control)})


def _report_faces(result) -> list[dict]:
    from .report import face_entry

    faces = []
    for face in result.faces:
        entry = face_entry(face.face_id, face.measurement, face.decision, eyes=face.eyes or None,
                           head_roll=face.pose.roll if face.pose else None,
                           skipped_reason=face.skipped_reason)
        entry["share"] = face.share
        entry["corrected"] = face.corrected
        faces.append(entry)
    return faces


def _frame_function(pipeline, report, debug: bool, in_place: bool = False):
    """Per-frame callback for the video writer: pipeline, then report and debug overlay."""

    def run(frame, t_s):
        out, result = pipeline.process(frame, t_s, in_place=in_place)
        if report is not None:
            report.add(result.index, t_s, _report_faces(result))
        if debug:
            from .debug_draw import debug_info_from, draw_debug

            out = draw_debug(out, [debug_info_from(f.landmarks, f.eyes, f.decision, f.face_id, f.aim)
                                   for f in result.faces])
        return out, result

    return run


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import RESOLUTIONS, format_bench, run_bench

    resolutions = RESOLUTIONS
    if args.resolution:
        try:
            resolutions = tuple(tuple(int(v) for v in r.lower().split("x")) for r in args.resolution)  # type: ignore[assignment]
        except ValueError:
            print("eyecontact: --resolution takes WIDTHxHEIGHT, e.g. 1280x720", file=sys.stderr)
            return 2
    from .providers import ProviderError

    try:
        report = run_bench(settings_from_args(args), frames=args.frames, resolutions=resolutions)
    except ProviderError as exc:
        print(f"eyecontact: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else format_bench(report))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import all_checks, format_checks

    checks = all_checks()
    print(format_checks(checks))
    return 0 if all(c.ok for c in checks if c.name in ("python", "landmarker", "video codecs")) else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="eyecontact: %(levelname)s: %(message)s")
    if args.command in ("process", "bench", "live"):
        from .compiled import warm_up

        warm_up(notice=lambda: print("eyecontact: compiling the pixel kernels (first run only, "
                                     "about 10-20 s)...", file=sys.stderr, flush=True))
    if args.command == "process":
        return cmd_process(args)
    if args.command == "bench":
        return cmd_bench(args)
    if args.command == "doctor":
        return cmd_doctor(args)
    if args.command == "live":
        if getattr(args, "live_unavailable", False):
            print("eyecontact: live mode is not available in this installation", file=sys.stderr)
            return 2
        from .live.cli import run_live

        return run_live(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
