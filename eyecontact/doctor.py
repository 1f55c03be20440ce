"""`eyecontact doctor`: what is installed and usable, and what to do about each missing piece."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""  # what the user can do when ok is False


def core_checks() -> list[Check]:
    checks: list[Check] = []
    import platform
    import sys

    checks.append(Check("python", (3, 10) <= sys.version_info[:2] <= (3, 12),
                        f"{platform.python_version()} on {platform.system()} {platform.machine()}",
                        "use Python 3.10, 3.11 or 3.12 (mediapipe 0.10.21 has no wheels for others)"))
    try:
        import numpy as np

        from .landmarks import FaceLandmarker

        lm = FaceLandmarker()
        lm.detect(np.zeros((64, 64, 3), np.uint8))
        lm.close()
        import mediapipe

        checks.append(Check("landmarker", True, f"MediaPipe face mesh with iris ({mediapipe.__version__})"))
    except Exception as exc:
        checks.append(Check("landmarker", False, f"MediaPipe face mesh not usable: {exc}",
                            'pip install "mediapipe==0.10.21"'))
    try:
        import numba

        from .compiled import warm_up

        seconds = warm_up()
        checks.append(Check("pixel kernels", True, f"numba {numba.__version__}; compiled or loaded from "
                            f"the cache in {seconds:.1f} s"))
    except Exception as exc:
        checks.append(Check("pixel kernels", False, f"the compiled redirect/composite kernels do not "
                            f"work: {exc}", 'pip install --force-reinstall "numba>=0.59"'))
    from importlib import metadata

    runtimes = []
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            runtimes.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    if len(runtimes) > 1:
        checks.append(Check("onnxruntime packages", False,
                            f"both are installed ({', '.join(runtimes)}); they share the import name "
                            "and overwrite each other's files",
                            "pip uninstall -y onnxruntime && pip install --force-reinstall --no-deps "
                            "onnxruntime-gpu   (or the reverse, for CPU only)"))
    try:
        import onnxruntime as ort

        available = ort.get_available_providers()
        checks.append(Check("onnxruntime", True, f"{ort.__version__}, providers compiled in: {', '.join(available)}"))
    except Exception as exc:
        checks.append(Check("onnxruntime", False, f"not importable: {exc}",
                            'pip install onnxruntime (or "eyecontact[gpu]" for CUDA)'))
    try:
        from .redirect import load_redirector

        red = load_redirector("model")
        checks.append(Check("redirect model", True, f"learned model loaded, running on {red.provider}"))
    except Exception as exc:
        checks.append(Check("redirect model", False, f"learned model not usable ({exc}); the analytic "
                            "redirector is used instead", "reinstall eyecontact to restore models/"))
    try:
        import av

        codecs = []
        for name in ("libx264", "libvpx-vp9", "aac"):
            try:
                av.codec.Codec(name, "w")
                codecs.append(name)
            except Exception:
                pass
        ok = "libx264" in codecs
        checks.append(Check("video codecs", ok, f"PyAV {av.__version__}, encoders: {', '.join(codecs) or 'none'}",
                            "" if ok else "pip install --force-reinstall av (its wheels bundle FFmpeg with libx264)"))
    except Exception as exc:
        checks.append(Check("video codecs", False, f"PyAV not importable: {exc}", "pip install av"))
    return checks


def all_checks() -> list[Check]:
    checks = core_checks()
    try:
        from .live.doctor import live_checks
    except ImportError:
        return checks
    try:
        checks.extend(live_checks())
    except Exception as exc:  # a broken optional part must not hide the rest of the report
        checks.append(Check("live mode", False, f"could not check: {exc}"))
    return checks


def format_checks(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"[{'ok' if c.ok else '!!'}] {c.name}: {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"      fix: {c.fix}")
    return "\n".join(lines)
