"""The real-time loop: capture -> pipeline -> virtual camera, one thread each.

Design rules (why the code looks like this):
- Threads hand frames over through one-slot mailboxes (:class:`LatestSlot`): a new frame
  replaces an unread one, so a slow stage drops stale frames instead of building latency.
  Added latency is therefore at most one frame per hand-over.
- The sender keeps the virtual camera fed: a new frame goes out at once; when processing is
  late it repeats the last frame at the target rate, and when the camera is gone it sends a
  placeholder, so video-call apps never see a frozen or vanished camera.
- Faults never stop the loop: a pipeline exception passes the raw frame through (logged once
  per kind of error); a lost camera or virtual camera is reopened with exponential backoff.
- Memory stays flat: output buffers are allocated once, stats live in bounded deques.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Generic, Protocol, TypeVar

import numpy as np

from eyecontact.live.capture import FrameSource, SourceError
from eyecontact.live.output import FrameSink, OutputUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

OutputFactory = Callable[[int, int, float], FrameSink]  # (width, height, fps) -> sink


class FrameProcessor(Protocol):
    """What the loop needs from :class:`eyecontact.pipeline.Pipeline`."""

    def process(self, frame_rgb: np.ndarray, timestamp_s: float) -> tuple[np.ndarray, Any]: ...


class LatestSlot(Generic[T]):
    """A one-item mailbox between two threads; ``put`` replaces an unread item."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.dropped = 0  # items replaced before anyone read them

    def put(self, item: T) -> None:
        with self._cond:
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify()

    def get(self, timeout: float) -> T | None:
        """The waiting item, or None after ``timeout`` seconds or once closed and empty."""
        with self._cond:
            if not self._full and not self._closed and timeout > 0:
                self._cond.wait(timeout)
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        """No more items will come (end of a file); readers drain what is left."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


@dataclass
class LoopConfig:
    fps: float | None = None  # output rate; None = the source's actual rate
    max_frames: int | None = None  # stop after this many processed frames were sent
    stats_interval_s: float | None = None  # print a stats line this often (None = never)
    placeholder_after_s: float = 1.0  # no camera frame for this long -> placeholder frames
    retry_initial_s: float = 0.5  # reopen backoff for camera and virtual camera
    retry_max_s: float = 8.0
    read_failures_before_reopen: int = 5  # consecutive empty reads before reopening the camera


@dataclass
class _Captured:
    frame: np.ndarray
    captured_at: float  # time.monotonic()


@dataclass
class _Processed:
    frame: np.ndarray
    captured_at: float


class LiveStats:
    """Counters and bounded windows; each counter is written by one thread only."""

    def __init__(self, window: int = 600) -> None:
        self._lock = threading.Lock()
        self.captured = 0
        self.processed = 0
        self.sent = 0  # new frames delivered to the output
        self.repeated = 0  # last frame sent again because processing was late
        self.placeholders = 0  # frames sent while the camera was gone or starting
        self.pipeline_errors = 0
        self.output_errors = 0
        self.source_outages = 0
        self.dropped_capture = 0  # replaced before processing (processing slower than camera)
        self.dropped_output = 0  # replaced before sending (sender was busy)
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._send_times: deque[float] = deque(maxlen=window)
        self._first_send: float | None = None
        self._last_send: float | None = None

    def record_send(self, now: float, captured_at: float) -> None:
        with self._lock:
            self.sent += 1
            self._latency_ms.append((now - captured_at) * 1000.0)
            self._send_times.append(now)
            if self._first_send is None:
                self._first_send = now
            self._last_send = now

    @property
    def dropped(self) -> int:
        return self.dropped_capture + self.dropped_output

    def snapshot(self) -> dict[str, float | int]:
        with self._lock:
            latency = np.array(self._latency_ms, dtype=np.float64)
            times = list(self._send_times)
            first, last, sent = self._first_send, self._last_send, self.sent
        span = (last - first) if first is not None and last is not None else 0.0
        recent_span = times[-1] - times[0] if len(times) > 1 else 0.0
        return {
            "delivered_fps": round((sent - 1) / span, 2) if span > 0 else 0.0,
            "recent_fps": round((len(times) - 1) / recent_span, 2) if recent_span > 0 else 0.0,
            "latency_ms_p50": round(float(np.percentile(latency, 50)), 2) if latency.size else 0.0,
            "latency_ms_p95": round(float(np.percentile(latency, 95)), 2) if latency.size else 0.0,
            "dropped": self.dropped,
            "dropped_capture": self.dropped_capture,
            "dropped_output": self.dropped_output,
            "captured": self.captured,
            "processed": self.processed,
            "sent": sent,
            "repeated": self.repeated,
            "placeholders": self.placeholders,
            "pipeline_errors": self.pipeline_errors,
            "output_errors": self.output_errors,
            "source_outages": self.source_outages,
        }

    def line(self) -> str:
        s = self.snapshot()
        return (
            f"{s['recent_fps']:5.1f} fps | latency p50 {s['latency_ms_p50']:.0f} ms "
            f"p95 {s['latency_ms_p95']:.0f} ms | dropped {s['dropped']} | "
            f"repeated {s['repeated']} | placeholders {s['placeholders']}"
        )

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.snapshot(), fh, indent=2)
            fh.write("\n")


def make_placeholder(width: int, height: int, text: str) -> np.ndarray:
    """A calm dark frame with a one-line message, sent instead of a frozen picture."""
    import cv2

    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = (32, 36, 44)
    scale = max(0.4, width / 1100.0)
    thickness = max(1, int(round(scale * 2)))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    org = ((width - tw) // 2, (height + th) // 2)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (200, 205, 215), thickness,
                cv2.LINE_AA)
    return frame


class _OnceLogger:
    """Logs the first occurrence of each kind of error, with its traceback, then stays quiet."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._seen: set[str] = set()

    def __call__(self, exc: BaseException) -> None:
        key = type(exc).__name__
        if key in self._seen:
            return
        self._seen.add(key)
        log.warning("%s: %s: %s (logged once; carrying on)", self.what, key, exc,
                    exc_info=exc)


class LiveLoop:
    """Runs capture, processing and sending on three threads until stopped.

    ``start()`` opens the source (raising :class:`SourceError` if it cannot) and the output
    (raising :class:`OutputUnavailable`, unless ``allow_missing_output`` is set: then the
    preview keeps working and the output is retried with backoff until it appears).
    """

    def __init__(
        self,
        source: FrameSource,
        pipeline: FrameProcessor,
        output: OutputFactory,
        config: LoopConfig | None = None,
        stats_stream: IO[str] | None = None,
    ) -> None:
        self.config = config or LoopConfig()
        self.pipeline = pipeline
        self.stats = LiveStats()
        self.preview: LatestSlot[tuple[np.ndarray, np.ndarray]] = LatestSlot()
        self.preview_enabled = False  # the GUI turns this on to receive (raw, out) pairs
        self.width = self.height = 0
        self.fps = 0.0
        self.output_description = ""
        self.output_problem: str | None = None  # why frames go nowhere (preview-only start)
        self._source = source
        self._pending_source: FrameSource | None = None
        self._output_factory = output
        self._sink: FrameSink | None = None
        self._sink_lock = threading.Lock()  # stop() and the sender may both close it
        self._sink_retry_at = 0.0
        self._sink_backoff = self.config.retry_initial_s
        self._stats_stream = stats_stream if stats_stream is not None else sys.stderr
        self._stop = threading.Event()
        self._done = threading.Event()
        self._in: LatestSlot[_Captured] = LatestSlot()
        self._out: LatestSlot[_Processed] = LatestSlot()
        self._threads: list[threading.Thread] = []
        self._t0 = 0.0
        self._last_capture = 0.0
        self._camera_lost = False
        self._pipeline_error = _OnceLogger("Eye-contact processing failed; sending the raw frame")
        self._output_error = _OnceLogger("Virtual camera stopped accepting frames")

    # ------------------------------------------------------------------ control

    def start(self, allow_missing_output: bool = False) -> None:
        self._source.open()  # SourceError goes to the caller: a clear startup failure
        self.width, self.height = self._source.width, self._source.height
        self.fps = float(self.config.fps or self._source.fps or 30.0)
        try:
            self._sink = self._output_factory(self.width, self.height, self.fps)
        except OutputUnavailable as exc:
            if not allow_missing_output:
                self._source.close()
                raise
            # Preview-only for now: the caller shows output_problem (it holds the fix) and
            # the sender keeps trying, so a device created meanwhile is picked up.
            self.output_problem = str(exc)
            self._sink = None
            self._sink_retry_at = time.monotonic() + self._sink_backoff
        except BaseException:
            self._source.close()
            raise
        self.output_description = (self._sink.description if self._sink is not None
                                   else "no virtual camera yet")
        # Preallocated once: the sender's copy of the last frame and the two placeholders.
        self._last_out = np.zeros((self.height, self.width, 3), np.uint8)
        self._placeholder_lost = make_placeholder(
            self.width, self.height, "Camera unavailable - reconnecting...")
        self._placeholder_start = make_placeholder(
            self.width, self.height, "Eye Contact starting...")
        self._t0 = self._last_capture = time.monotonic()
        for name, target in (
            ("eyecontact-capture", self._capture_main),
            ("eyecontact-process", self._process_main),
            ("eyecontact-send", self._send_main),
        ):
            thread = threading.Thread(target=self._guard(target), name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end without waiting (safe from a signal handler or GUI slot)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask all threads to finish and wait for them; devices are released on the way out."""
        self._stop.set()
        self._in.close()
        for thread in self._threads:
            thread.join(timeout)
        self._close_sink()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the loop ends by itself (frame limit, end of file) or is stopped."""
        return self._done.wait(timeout)

    def run(self, allow_missing_output: bool = False) -> LiveStats:
        """start() + wait() + stop(), for scripts and tests."""
        self.start(allow_missing_output)
        try:
            self.wait()
        finally:
            self.stop()
        return self.stats

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._done.is_set()

    @property
    def camera_lost(self) -> bool:
        return self._camera_lost

    @property
    def source_description(self) -> str:
        return self._source.description

    def switch_source(self, source: FrameSource) -> None:
        """Use another camera from the next frame on (opened by the capture thread)."""
        self._pending_source = source

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Exception:  # a dead thread would freeze the camera: end the loop loudly
                log.exception("live loop thread %s crashed", threading.current_thread().name)
                self._stop.set()
            finally:
                if threading.current_thread().name == "eyecontact-send":
                    self._done.set()
                    self._stop.set()

        return run

    # ------------------------------------------------------------------ capture

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        # After a reconnect or camera switch the size may differ; downstream is fixed-size.
        if frame.shape[0] != self.height or frame.shape[1] != self.width:
            import cv2

            frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def _mark_lost(self, reason: str) -> None:
        if not self._camera_lost:
            self._camera_lost = True
            self.stats.source_outages += 1
            log.warning("Camera lost (%s); sending a placeholder and retrying.", reason)

    def _capture_main(self) -> None:
        cfg = self.config
        source, is_open = self._source, True
        backoff, failures = cfg.retry_initial_s, 0
        read_error = _OnceLogger("Camera read failed")
        try:
            while not self._stop.is_set():
                pending, self._pending_source = self._pending_source, None
                if pending is not None:
                    source.close()
                    source, is_open = pending, False
                    self._source = source
                if not is_open:
                    try:
                        source.open()
                    except SourceError as exc:
                        self._mark_lost(str(exc))
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, cfg.retry_max_s)
                        continue
                    is_open, failures = True, 0
                try:
                    frame = source.read()
                except Exception as exc:  # SourceError, cv2.error, a driver gone mid-read
                    read_error(exc)
                    frame, failures = None, cfg.read_failures_before_reopen
                if frame is None:
                    if source.finished:
                        return
                    failures += 1
                    if failures >= cfg.read_failures_before_reopen:
                        self._mark_lost("no frames")
                        source.close()
                        is_open = False
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, cfg.retry_max_s)
                    else:
                        self._stop.wait(0.02)  # avoid spinning on a camera that returns at once
                    continue
                failures, backoff = 0, cfg.retry_initial_s
                if self._camera_lost:  # "back" only once frames flow, not when open() works
                    log.warning("Camera is back: %s", source.description)  # pairs with "lost"
                    self._camera_lost = False
                now = time.monotonic()
                self._last_capture = now
                self.stats.captured += 1
                self._in.put(_Captured(self._fit(frame), now))
                self.stats.dropped_capture = self._in.dropped
        finally:
            source.close()
            self._in.close()

    # ------------------------------------------------------------------ processing

    def _process_main(self) -> None:
        last_ts = -1.0
        try:
            while not self._stop.is_set():
                item = self._in.get(timeout=0.1)
                if item is None:
                    if self._in.closed:
                        return
                    continue
                # The landmark tracker wants strictly increasing timestamps.
                ts = max(item.captured_at - self._t0, last_ts + 1e-6)
                last_ts = ts
                out = self._process_one(item.frame, ts)
                self.stats.processed += 1
                self._out.put(_Processed(out, item.captured_at))
                self.stats.dropped_output = self._out.dropped
                if self.preview_enabled:
                    self.preview.put((item.frame, out))
        finally:
            self._out.close()

    def _process_one(self, frame: np.ndarray, ts: float) -> np.ndarray:
        try:
            out, _ = self.pipeline.process(frame, ts)
        except Exception as exc:  # never freeze the camera because of one bad frame
            self.stats.pipeline_errors += 1
            self._pipeline_error(exc)
            return frame
        if not isinstance(out, np.ndarray) or out.shape != frame.shape or out.dtype != np.uint8:
            self.stats.pipeline_errors += 1
            self._pipeline_error(TypeError(f"pipeline returned {type(out).__name__} "
                                           f"{getattr(out, 'shape', '')}"))
            return frame
        return out

    # ------------------------------------------------------------------ sending

    def _send_main(self) -> None:
        cfg = self.config
        period = 1.0 / self.fps
        due = self._t0 + cfg.placeholder_after_s  # nothing by then -> "starting" placeholder
        have_frame = False
        taken = 0  # processed frames that reached the sender (the --frames count)
        next_stats = self._t0 + (cfg.stats_interval_s or 0.0)
        try:
            while not self._stop.is_set():
                item = self._out.get(timeout=max(0.0, due - time.monotonic()))
                now = time.monotonic()
                if item is not None:
                    np.copyto(self._last_out, item.frame)  # ours now; capture may move on
                    have_frame = True
                    taken += 1
                    if self._send(self._last_out, now):
                        self.stats.record_send(now, item.captured_at)
                    # A little grace before repeating, so jitter does not cause repeats.
                    due = now + 1.5 * period
                    if cfg.max_frames and taken >= cfg.max_frames:
                        return
                elif self._out.closed:
                    return
                elif now >= due:
                    if now - self._last_capture > cfg.placeholder_after_s or not have_frame:
                        frame = self._placeholder_lost if have_frame or self._camera_lost \
                            else self._placeholder_start
                        if self._send(frame, now):
                            self.stats.placeholders += 1
                    elif self._send(self._last_out, now):
                        self.stats.repeated += 1
                    due = due + period if due + period > now else now + period
                if cfg.stats_interval_s and now >= next_stats:
                    next_stats = now + cfg.stats_interval_s
                    print(self.stats.line(), file=self._stats_stream, flush=True)
        finally:
            self._close_sink()

    def _send(self, frame: np.ndarray, now: float) -> bool:
        """Send one frame; on failure close the output and reopen it later with backoff."""
        if self._sink is None and not self._reopen_sink(now):
            return False
        assert self._sink is not None
        try:
            self._sink.send(frame)
            return True
        except Exception as exc:  # reader gone, device removed, backend error
            self.stats.output_errors += 1
            self._output_error(exc)
            self._close_sink()
            self._sink_retry_at = now + self._sink_backoff
            return False

    def _reopen_sink(self, now: float) -> bool:
        if now < self._sink_retry_at:
            return False
        try:
            self._sink = self._output_factory(self.width, self.height, self.fps)
        except Exception as exc:
            self._sink_backoff = min(self._sink_backoff * 2, self.config.retry_max_s)
            self._sink_retry_at = now + self._sink_backoff
            log.debug("virtual camera still unavailable: %s", exc)
            return False
        self._sink_backoff = self.config.retry_initial_s
        self.output_description = self._sink.description
        self.output_problem = None
        log.warning("Virtual camera (re)opened: %s", self._sink.description)
        return True

    def _close_sink(self) -> None:
        with self._sink_lock:
            sink, self._sink = self._sink, None
        if sink is not None:
            try:
                sink.close()
            except Exception as exc:
                log.debug("closing the output failed: %s", exc)
