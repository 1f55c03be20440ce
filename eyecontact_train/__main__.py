"""python -m eyecontact_train {train,evaluate,export,render} ..."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ap = argparse.ArgumentParser(prog="python -m eyecontact_train")
    sub = ap.add_subparsers(dest="command", required=True)
    from . import evaluate, train

    train.add_arguments(sub.add_parser("train", help="train from scratch (or resume) and export"))
    evaluate.add_arguments(sub.add_parser("evaluate", help="figures and crops for the model card"))
    exp = sub.add_parser("export", help="export a checkpoint to ONNX")
    exp.add_argument("--checkpoint", required=True)
    exp.add_argument("--out", default="models/gaze_redirect.onnx")
    ren = sub.add_parser("render", help="write a sheet of rendered pairs to look at")
    ren.add_argument("--out", default="render_sheet.png")
    ren.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if args.command == "train":
        train.train(args)
    elif args.command == "evaluate":
        evaluate.run(args)
    elif args.command == "export":
        from .export import main as export_main

        export_main(["--checkpoint", args.checkpoint, "--out", args.out])
    elif args.command == "render":
        from .render import contact_sheet

        contact_sheet(args.out, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
