"""The one place that decides which ONNX Runtime execution providers a session uses.

``device`` is what the user asked for: ``auto`` (CUDA when this onnxruntime build offers it,
else CPU), ``cuda`` (an error if it is not available) or ``cpu``. The CPU provider is always
last in the list, so ONNX Runtime can still place nodes the GPU provider does not support.
"""

from __future__ import annotations

import os
from pathlib import Path

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
DEVICES = ("auto", "cuda", "cpu")


class ProviderError(RuntimeError):
    """The requested device cannot be used by this onnxruntime installation."""


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(device: str = "auto") -> list[str]:
    device = device.lower()
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    available = available_providers()
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise ProviderError(
            "device 'cuda' was requested but this onnxruntime has no CUDAExecutionProvider "
            f"(available: {', '.join(available)}); install onnxruntime-gpu or use --device cpu/auto")
    return [CPU]


def cpu_threads() -> int:
    """Intra-op threads: small, because the face tracker and the video I/O share the cores."""
    env = os.environ.get("EYECONTACT_ORT_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


def session_options():
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = cpu_threads()
    so.inter_op_num_threads = 1
    # Let the worker spin briefly instead of sleeping: waking a sleeping thread costs more than
    # the work it shares (bench at 1280x720 on 2 cores: redirect stage 1.1 ms with spinning,
    # 1.3-1.45 ms without), and the spin ends long before the next frame's face tracking.
    so.add_session_config_entry("session.intra_op.allow_spinning", "1")
    so.log_severity_level = 3
    return so


def create_session(path: str | Path, device: str = "auto"):
    """(session, provider actually used). Raises ProviderError if 'cuda' was asked for and lost."""
    import onnxruntime as ort

    providers = choose_providers(device)
    session = ort.InferenceSession(str(path), sess_options=session_options(), providers=providers)
    used = session.get_providers()[0]
    # onnxruntime silently drops a provider whose libraries fail to load (e.g. no CUDA runtime).
    if device.lower() == "cuda" and used != CUDA:
        raise ProviderError(f"CUDAExecutionProvider could not be initialised (session runs on {used})")
    return session, used
