"""Live mode: webcam in, eye-contact pipeline, virtual camera out.

The package stays free of GUI imports; ``eyecontact.gui`` (PySide6) is loaded lazily by
``eyecontact.live.cli.run_live`` only when ``--tray`` or ``--preview`` is asked for.
"""

from eyecontact.live.capture import CameraSource, FileSource, FrameSource, SourceError
from eyecontact.live.loop import LiveLoop, LoopConfig
from eyecontact.live.output import FrameSink, NullSink, OutputUnavailable, open_output

__all__ = [
    "CameraSource",
    "FileSource",
    "FrameSink",
    "FrameSource",
    "LiveLoop",
    "LoopConfig",
    "NullSink",
    "OutputUnavailable",
    "SourceError",
    "open_output",
]
