"""Offline processing of video files and single images (PyAV for video, OpenCV for images).

Frame count, timestamps, frame rate and rotation metadata follow the input; audio packets are
copied bit-for-bit. Output is written to a temporary file beside the target and renamed on
success, so a failure never leaves a half-written file and never touches an existing one.
"""

from __future__ import annotations

import logging
import os
import queue
import tempfile
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import cv2
import numpy as np

from .types import FrameResult

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
# Default encoder per output container: (codec, options); quality first, then speed.
ENCODERS: dict[str, tuple[str, dict[str, str]]] = {
    ".webm": ("libvpx-vp9", {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}),
}
DEFAULT_ENCODER = ("libx264", {"crf": "18", "preset": "veryfast"})

FrameFn = Callable[[np.ndarray, float], tuple[np.ndarray, FrameResult]]


class InputError(Exception):
    """Input or output that cannot be processed; the message is meant for the user."""


@dataclass
class ProcessSummary:
    frames_in: int = 0
    frames_out: int = 0
    frames_with_face: int = 0
    frames_corrected: int = 0
    skipped_packets: int = 0
    audio_packets: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class EncodeOptions:
    codec: str | None = None  # None: chosen from the output suffix
    crf: int | None = None
    preset: str | None = None
    compare: bool = False  # write before | after side by side


def check_paths(src: Path, dst: Path, overwrite: bool = False) -> None:
    """Refuse anything that could lose the user's data, with a message saying why."""
    if not src.exists():
        raise InputError(f"input not found: {src}")
    if not src.is_file():
        raise InputError(f"input is not a file: {src}")
    if src.stat().st_size == 0:
        raise InputError(f"input is empty (0 bytes): {src}")
    if dst.exists() and dst.resolve() == src.resolve():
        raise InputError("output is the input file; choose another output path (the input is never overwritten)")
    if dst.exists() and not overwrite:
        raise InputError(f"output exists: {dst} (pass --overwrite to replace it)")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder is not writable: {parent}")
    if dst.suffix.lower() not in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
        raise InputError(f"unknown output type {dst.suffix!r}; use one of "
                         + ", ".join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES)))


class _AtomicOutput:
    """A temporary path beside ``dst``; ``commit`` renames it into place, else it is removed."""

    def __init__(self, dst: Path):
        self.dst = dst
        fd, name = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=f".partial{dst.suffix}", dir=dst.parent or ".")
        os.close(fd)
        self.path = Path(name)

    def commit(self) -> None:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(self.path, self.dst)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def process_image(src: Path, dst: Path, fn: FrameFn) -> tuple[ProcessSummary, list[FrameResult]]:
    data = np.fromfile(str(src), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"not an image OpenCV can read: {src}")
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 2:
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    out, result = fn(rgb, 0.0)
    if image.ndim == 2:  # keep a grayscale image grayscale
        encoded_src = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    else:
        encoded_src = cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(dst.suffix.lower(), encoded_src)
    if not ok:
        raise InputError(f"cannot encode an image as {dst.suffix}")
    tmp = _AtomicOutput(dst)
    try:
        buf.tofile(str(tmp.path))
        tmp.commit()
    except BaseException:
        tmp.discard()
        raise
    summary = ProcessSummary(frames_in=1, frames_out=1, frames_with_face=int(bool(result.faces)),
                             frames_corrected=int(any(f.corrected for f in result.faces)))
    return summary, [result]


def _open_input(src: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(src))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"not a video file FFmpeg can read: {src} ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"no video stream in {src}")
    return container


def _rotation_turns(frame: av.VideoFrame) -> int:
    """Quarter turns (counter-clockwise) that make a stored frame upright for display."""
    rotation = int(round(getattr(frame, "rotation", 0) or 0))
    return (rotation // 90) % 4


def _decoded_frames(container: av.container.InputContainer, video: av.VideoStream,
                    summary: ProcessSummary, on_audio: Callable[[av.Packet], None]) -> Iterator[av.VideoFrame]:
    """Demux packet by packet so one corrupt packet is skipped instead of ending the file."""
    streams = [video] + [s for s in container.streams.audio]
    packets = container.demux(streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError as exc:  # broken container structure: keep what was read
            summary.warnings.append(f"stopped reading at a damaged part of the file ({exc})")
            break
        if packet.stream.type == "audio":
            if packet.dts is not None:
                on_audio(packet)
            continue
        try:
            frames = packet.decode()
        except av.FFmpegError:
            summary.skipped_packets += 1
            continue
        yield from frames


class _Writer:
    """Converts, encodes and muxes on a thread of its own, so the encoder works while the next
    frame is decoded and corrected (on two cores the two overlap instead of taking turns). All
    muxing (video and the copied audio) happens on this thread, in the order it was asked for.
    An error here is raised again in the caller at its next call."""

    _DONE = object()

    def __init__(self, out: av.container.OutputContainer, stream: av.VideoStream, time_base) -> None:
        self._out, self._stream, self._time_base = out, stream, time_base
        self._queue: queue.Queue = queue.Queue(maxsize=4)  # a few frames: bounded memory
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="eyecontact-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is self._DONE:
                    for packet in self._stream.encode(None):
                        self._out.mux(packet)
                    return
                kind, payload = item
                if kind == "frame":
                    array, pts = payload
                    frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                    frame.pts, frame.time_base = pts, self._time_base
                    for packet in self._stream.encode(frame):
                        self._out.mux(packet)
                elif kind == "rotation":
                    self._stream.set_display_rotation(payload)
                else:  # an audio packet, already pointed at its output stream
                    self._out.mux(payload)
        except BaseException as exc:  # handed to the caller; keep taking items so it never blocks
            self._error = exc
            while self._queue.get() is not self._DONE:
                pass

    def _put(self, item: object) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def frame(self, array: np.ndarray, pts: int | None) -> None:
        self._put(("frame", (array, pts)))

    def rotation(self, degrees: float) -> None:
        self._put(("rotation", degrees))

    def audio(self, packet: av.Packet) -> None:
        self._put(("audio", packet))

    def finish(self) -> None:
        """Flush the encoder and wait for the thread; raises what went wrong on it."""
        self.close()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop the thread (after what is queued), without raising."""
        if self._thread.is_alive():
            self._queue.put(self._DONE)
            self._thread.join()


def process_video(src: Path, dst: Path, fn: FrameFn, options: EncodeOptions | None = None,
                  progress: bool = True) -> tuple[ProcessSummary, list[FrameResult]]:
    options = options or EncodeOptions()
    summary = ProcessSummary()
    results: list[FrameResult] = []
    container = _open_input(src)
    tmp = _AtomicOutput(dst)
    try:
        with container, av.open(str(tmp.path), mode="w", format=_format_for(dst)) as out:
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            width, height = video.codec_context.width, video.codec_context.height
            if not width or not height:
                raise InputError(f"video stream of {src} has no frame size")
            audio_map = {}
            for a in container.streams.audio:
                try:
                    audio_map[a.index] = out.add_stream_from_template(a)
                except (ValueError, av.FFmpegError) as exc:
                    summary.warnings.append(f"audio stream {a.index} could not be copied ({exc})")
            codec, codec_opts = _encoder_for(dst, options)
            rate = video.average_rate or video.guessed_rate or Fraction(30, 1)
            out_v = out.add_stream(codec, rate=rate, options=codec_opts)
            out_v.width = width * (2 if options.compare else 1)
            out_v.height = height
            out_v.pix_fmt = _pix_fmt(codec, out_v.width, out_v.height)
            out_v.time_base = video.time_base
            out_v.codec_context.time_base = video.time_base
            out_v.thread_type = "AUTO"

            writer = _Writer(out, out_v, video.time_base)

            def copy_audio(packet: av.Packet) -> None:
                stream = audio_map.get(packet.stream.index)
                if stream is not None:
                    packet.stream = stream
                    writer.audio(packet)
                    summary.audio_packets += 1

            total = video.frames or None
            bar = _progress(total, progress)
            rotation_set = False
            start_pts = video.start_time or 0
            try:
                for frame in _decoded_frames(container, video, summary, copy_audio):
                    summary.frames_in += 1
                    turns = _rotation_turns(frame)
                    if not rotation_set:
                        if frame.rotation:
                            writer.rotation(frame.rotation)
                        rotation_set = True
                    rgb = frame.to_ndarray(format="rgb24")
                    upright = np.rot90(rgb, turns) if turns else rgb
                    pts = frame.pts if frame.pts is not None else summary.frames_in - 1
                    t_s = float((pts - start_pts) * video.time_base) if video.time_base else summary.frames_in / 30.0
                    corrected, result = fn(np.ascontiguousarray(upright), t_s)
                    results.append(result)
                    summary.frames_with_face += int(bool(result.faces))
                    summary.frames_corrected += int(any(f.corrected for f in result.faces))
                    if turns:
                        corrected = np.rot90(corrected, -turns)
                    if options.compare:
                        corrected = np.hstack([rgb, corrected])
                    # A fresh array per frame (decoded, then corrected in place), so the writer
                    # may still be encoding it while the next one is worked on.
                    writer.frame(np.ascontiguousarray(corrected), frame.pts)
                    summary.frames_out += 1
                    bar.update(1)
                writer.finish()
            finally:
                writer.close()  # on any error: stop the thread before the files are closed
            bar.close()
        if summary.frames_out == 0:
            raise InputError(f"no video frame could be decoded from {src}")
        tmp.commit()
    except av.FFmpegError as exc:
        tmp.discard()
        raise InputError(f"video processing failed: {exc}") from exc
    except BaseException:
        tmp.discard()
        raise
    if summary.skipped_packets:
        summary.warnings.append(f"{summary.skipped_packets} damaged video packet(s) could not be decoded "
                                "and were skipped")
    return summary, results


def _format_for(dst: Path) -> str | None:
    return {".mkv": "matroska", ".webm": "webm", ".mov": "mov", ".mp4": "mp4", ".m4v": "mp4",
            ".avi": "avi"}.get(dst.suffix.lower())


def _encoder_for(dst: Path, options: EncodeOptions) -> tuple[str, dict[str, str]]:
    codec, opts = ENCODERS.get(dst.suffix.lower(), DEFAULT_ENCODER)
    if options.codec:
        codec, opts = options.codec, {}
    opts = dict(opts)
    if options.crf is not None:
        opts["crf"] = str(options.crf)
    if options.preset is not None and codec in ("libx264", "libx265"):
        opts["preset"] = options.preset
    return codec, opts


def _pix_fmt(codec: str, width: int, height: int) -> str:
    # 4:2:0 needs even sizes; odd-sized input keeps its size with full-resolution chroma.
    if width % 2 or height % 2:
        return "yuv444p"
    return "yuv420p"


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int | None, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, unit="frame", dynamic_ncols=True, leave=False)
