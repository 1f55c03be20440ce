"""Per-frame reports (``--report FILE.json`` or ``--report FILE.html``) that show why the filter
did what it did: gaze offset before/after, applied share, blinks, and the limiting criterion.

Usage from the pipeline::

    writer = ReportWriter(path, meta={"source": "in.mp4", "thresholds": {...}})
    for each frame:
        writer.add(index, time_s, [face_entry(face_id, measurement, decision, eyes=...)])
    writer.close()  # writes JSON or a self-contained HTML page, chosen by the suffix

The HTML page draws its plots as inline SVG (no scripts, nothing fetched from the internet).
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .control import SIDES, FaceDecision, FaceMeasurement

STATE_COLOURS = {"real_blink": "#f2b8b5", "synthetic_blink": "#b9d3f2", "no_face": "#dddddd"}
LIMIT_COLOURS = {
    "none": "#4caf50", "gaze": "#ff9800", "head_pitch": "#9c27b0", "head_yaw": "#673ab7",
    "confidence": "#795548", "face_size": "#607d8b", "lids": "#e91e63", "slit": "#ad1457",
    "real_blink": "#f44336", "no_visible_eye": "#9e9e9e",
}


# --------------------------------------------------------------------------------------------
# Building one face's entry
# --------------------------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    """A JSON-safe number: NaN and infinities become null."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def face_entry(face_id: int, measurement: FaceMeasurement | None, decision: FaceDecision | None,
               *, eyes: Mapping[str, Any] | None = None, head_roll: float | None = None,
               landmarks_found: bool = True, skipped_reason: str | None = None,
               gaze_after_deg: float | None = None) -> dict[str, Any]:
    """The report record of one face in one frame.

    ``eyes``: optional side -> types.EyeGaze, for the gaze angles before and after;
    ``gaze_after_deg``: the offset from the camera after correction if the pipeline measured
    it; otherwise it is estimated from the share and look-away (small-angle approximation).
    """
    e: dict[str, Any] = {"face_id": int(face_id), "landmarks_found": bool(landmarks_found)}
    if skipped_reason:
        e["skipped_reason"] = skipped_reason
    before_off: float | None = None
    face_level = False  # the face's own offset, as the controller uses it where both eyes show
    if measurement is not None:
        face_level = measurement.face_level
        before_off = measurement.gaze_offset_deg  # the offset the controller judged
        if before_off is not None and not math.isfinite(before_off):
            before_off = None
        e["head"] = {"pitch": _num(measurement.head_pitch), "yaw": _num(measurement.head_yaw),
                     "roll": _num(head_roll)}
        e["confidence"] = _num(measurement.confidence)
        e["face_width_px"] = _num(measurement.face_width_px)
        e["eyes_visible"] = {s: measurement.eye(s).visible for s in SIDES}
        e["aperture"] = {s: _num(measurement.eye(s).aperture) for s in SIDES}
    gaze: dict[str, Any] = {"offset_deg": _num(before_off)}
    if eyes:
        ps = [g for g in eyes.values() if g is not None]
        if ps:
            gaze["pitch"] = _num(sum(g.pitch for g in ps) / len(ps))
            gaze["yaw"] = _num(sum(g.yaw for g in ps) / len(ps))
    if decision is not None:
        e.update(share=_num(decision.share), target_share=_num(decision.target_share),
                 blink_state=decision.blink_state, limited_by=decision.limited_by,
                 lids=decision.lids, eye_share={k: _num(v) for k, v in decision.eye_share.items()},
                 openness={k: _num(v) for k, v in decision.openness.items()},
                 look_away=[_num(decision.look_away[0]), _num(decision.look_away[1])],
                 factors={k: _num(v) for k, v in decision.factors.items()},
                 need=_num(decision.need))
        if gaze_after_deg is None and eyes and not face_level:  # one eye, aimed on its own
            offs_after = []
            for side, g in eyes.items():
                if g is None:
                    continue
                dp, dy = decision.eye_request_angles(side, g.pitch, g.yaw, g.camera_pitch,
                                                     g.camera_yaw)
                offs_after.append(math.hypot(g.camera_pitch - (g.pitch + dp),
                                             g.camera_yaw - (g.yaw + dy)))
            if offs_after:
                gaze_after_deg = sum(offs_after) / len(offs_after)
        if gaze_after_deg is None and before_off is not None:  # the face turned by the share
            la = math.hypot(*decision.look_away)
            turned = decision.share * decision.need
            gaze_after_deg = (1.0 - turned) * before_off + decision.share * la
    else:
        e.update(share=0.0, blink_state="open")
    e["gaze_before"] = gaze
    e["gaze_after"] = {"offset_deg": _num(gaze_after_deg if decision is not None else before_off)}
    return e


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------


@dataclass
class ReportWriter:
    """Collects per-frame records and writes them on close(); format from the path's suffix."""

    path: Path | str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.format = self.path.suffix.lower().lstrip(".")
        if self.format == "htm":
            self.format = "html"
        if self.format not in ("json", "html"):
            raise ValueError(f"report must end in .json or .html, not {self.path.name!r}")
        self.frames: list[dict[str, Any]] = []
        self.closed = False

    def add(self, frame_index: int, time_s: float, faces: Sequence[Mapping[str, Any]]) -> None:
        self.frames.append({"index": int(frame_index), "time_s": _num(time_s),
                            "faces": [_clean(dict(f)) for f in faces]})

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"frames": self.frames, "summary": summarise(self.frames)}
        if self.meta:
            doc["meta"] = _clean(self.meta)
        return doc

    def close(self) -> Path:
        """Write the report atomically (temporary file, then rename); returns its path."""
        assert isinstance(self.path, Path)
        if self.closed:
            return self.path
        doc = self.document()
        text = (json.dumps(doc, indent=1, allow_nan=False) if self.format == "json"
                else render_html(doc))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=str(self.path.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is an ordinary file
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self.closed = True
        return self.path

    def __enter__(self) -> "ReportWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clean(x: Any) -> Any:
    """Make a value JSON-safe: NaN/inf -> null, numpy scalars/arrays -> Python numbers/lists."""
    if isinstance(x, Mapping):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "tolist"):  # numpy arrays and scalars
        return _clean(x.tolist())
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, (int, float)):
        return x if isinstance(x, int) else _num(x)
    return str(x)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def _state_runs(states: Iterable[str], wanted: str) -> int:
    n, prev = 0, None
    for s in states:
        if s == wanted and prev != wanted:
            n += 1
        prev = s
    return n


def summarise(frames: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    times = [f["time_s"] for f in frames if f.get("time_s") is not None]
    duration = (max(times) - min(times)) if len(times) > 1 else 0.0
    per_face: dict[int, list[Mapping[str, Any]]] = {}
    for f in frames:
        for face in f.get("faces", []):
            per_face.setdefault(int(face.get("face_id", 0)), []).append(face)
    faces_summary = {}
    for fid, recs in sorted(per_face.items()):
        shares = [r["share"] for r in recs if r.get("share") is not None]
        states = [r.get("blink_state", "open") for r in recs]
        limits: dict[str, int] = {}
        for r in recs:
            k = r.get("limited_by")
            if k:
                limits[k] = limits.get(k, 0) + 1
        before = [r["gaze_before"]["offset_deg"] for r in recs
                  if r.get("gaze_before", {}).get("offset_deg") is not None]
        after = [r["gaze_after"]["offset_deg"] for r in recs
                 if r.get("gaze_after", {}).get("offset_deg") is not None]
        faces_summary[str(fid)] = {
            "frames": len(recs),
            "mean_share": sum(shares) / len(shares) if shares else 0.0,
            "corrected_fraction": (sum(1 for s in shares if s >= 0.5) / len(shares)
                                   if shares else 0.0),
            "real_blinks": _state_runs(states, "real_blink"),
            "synthetic_blinks": _state_runs(states, "synthetic_blink"),
            "limited_by_fraction": {k: v / len(recs) for k, v in sorted(limits.items())},
            "mean_offset_before_deg": sum(before) / len(before) if before else None,
            "mean_offset_after_deg": sum(after) / len(after) if after else None,
        }
    return {
        "frames": len(frames),
        "duration_s": duration,
        "frames_with_face": sum(1 for f in frames
                                if any(x.get("landmarks_found", True) for x in f.get("faces", []))),
        "faces": faces_summary,
    }


# --------------------------------------------------------------------------------------------
# HTML with inline SVG
# --------------------------------------------------------------------------------------------

_W, _H, _ML, _MR, _MT, _MB = 900, 180, 52, 12, 10, 26


class _Axes:
    """Maps data to SVG pixels for one plot of fixed size."""

    def __init__(self, t0: float, t1: float, y0: float, y1: float, height: int = _H) -> None:
        self.t0, self.t1 = t0, (t1 if t1 > t0 else t0 + 1.0)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1.0)
        self.h = height

    def x(self, t: float) -> float:
        return _ML + (t - self.t0) / (self.t1 - self.t0) * (_W - _ML - _MR)

    def y(self, v: float) -> float:
        v = min(max(v, self.y0), self.y1)
        return self.h - _MB - (v - self.y0) / (self.y1 - self.y0) * (self.h - _MT - _MB)


def _polyline(ax: _Axes, ts: Sequence[float], vs: Sequence[float | None], colour: str,
              dash: str = "", width: float = 1.6) -> str:
    """A line that breaks where the value is missing (no face, no measurement).

    Long recordings are thinned to about two points per pixel column, keeping each column's
    extremes so short spikes stay visible.
    """
    per_px = len(ts) / max(_W - _ML - _MR, 1)
    if per_px > 2.0:
        ts, vs = _thin(ts, vs, int(math.ceil(per_px / 2.0)))
    parts, run = [], []
    for t, v in zip(ts, vs):
        if v is None:
            if len(run) > 1:
                parts.append(run)
            run = []
        else:
            run.append(f"{ax.x(t):.1f},{ax.y(v):.1f}")
    if len(run) > 1:
        parts.append(run)
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return "".join(f'<polyline fill="none" stroke="{colour}" stroke-width="{width}"{d} '
                   f'points="{" ".join(r)}"/>' for r in parts)


def _thin(ts: Sequence[float], vs: Sequence[float | None],
          k: int) -> tuple[list[float], list[float | None]]:
    """Keep the min and max of every k samples (a gap anywhere in the group is kept too)."""
    out_t: list[float] = []
    out_v: list[float | None] = []
    for i in range(0, len(ts), k):
        ct, cv = ts[i:i + k], vs[i:i + k]
        if any(v is None for v in cv):
            out_t.append(ct[0])
            out_v.append(None)
            continue
        lo = min(range(len(cv)), key=lambda j: cv[j])  # type: ignore[arg-type, return-value]
        hi = max(range(len(cv)), key=lambda j: cv[j])  # type: ignore[arg-type, return-value]
        for j in sorted({lo, hi}):
            out_t.append(ct[j])
            out_v.append(cv[j])
    return out_t, out_v


def _bands(ax: _Axes, ts: Sequence[float], labels: Sequence[str | None],
           colours: Mapping[str, str], y_top: float, y_bot: float) -> str:
    """Coloured background spans for runs of equal labels (None = no band)."""
    out = []
    n = len(ts)
    step = (ts[-1] - ts[0]) / (n - 1) if n > 1 else 1.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and labels[j + 1] == labels[i]:
            j += 1
        lab = labels[i]
        if lab is not None and lab in colours:
            x0 = ax.x(ts[i] - step / 2)
            x1 = ax.x(ts[j] + step / 2)
            out.append(f'<rect x="{max(x0, _ML):.1f}" y="{y_top:.1f}" '
                       f'width="{max(min(x1, _W - _MR) - max(x0, _ML), 0.8):.1f}" '
                       f'height="{y_bot - y_top:.1f}" fill="{colours[lab]}">'
                       f'<title>{html.escape(lab)} {ts[i]:.2f}-{ts[j]:.2f} s</title></rect>')
        i = j + 1
    return "".join(out)


def _frame(ax: _Axes, yticks: Sequence[float], ylabel: str, body: str) -> str:
    grid = []
    for v in yticks:
        y = ax.y(v)
        grid.append(f'<line x1="{_ML}" x2="{_W - _MR}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#eee"/><text x="{_ML - 6}" y="{y + 4:.1f}" text-anchor="end">'
                    f'{v:g}</text>')
    span = ax.t1 - ax.t0
    step = next((s for s in (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600) if span / s <= 12),
                1200)
    t = math.ceil(ax.t0 / step) * step
    while t <= ax.t1 + 1e-9:
        x = ax.x(t)
        grid.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_MT}" y2="{ax.h - _MB}" '
                    f'stroke="#f3f3f3"/><text x="{x:.1f}" y="{ax.h - 8}" '
                    f'text-anchor="middle">{t:g}s</text>')
        t += step
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{ax.h}" '
            f'viewBox="0 0 {_W} {ax.h}" font-size="11" font-family="sans-serif">'
            f'{"".join(grid)}{body}'
            f'<rect x="{_ML}" y="{_MT}" width="{_W - _ML - _MR}" height="{ax.h - _MT - _MB}" '
            f'fill="none" stroke="#999"/>'
            f'<text x="12" y="{(ax.h - _MB + _MT) / 2:.0f}" transform="rotate(-90 12 '
            f'{(ax.h - _MB + _MT) / 2:.0f})" text-anchor="middle">{html.escape(ylabel)}</text>'
            f'</svg>')


def _swatch(colour: str, label: str, line: bool = False, dash: bool = False) -> str:
    if line:
        d = ' stroke-dasharray="5 3"' if dash else ""
        icon = (f'<svg width="22" height="10"><line x1="0" y1="5" x2="22" y2="5" '
                f'stroke="{colour}" stroke-width="2"{d}/></svg>')
    else:
        icon = f'<svg width="14" height="10"><rect width="14" height="10" fill="{colour}"/></svg>'
    return f'<span class="lg">{icon} {html.escape(label)}</span>'


def _face_section(fid: str, frames: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
    ts: list[float] = []
    before: list[float | None] = []
    after: list[float | None] = []
    share: list[float | None] = []
    target: list[float | None] = []
    states: list[str | None] = []
    limits: list[str | None] = []
    for f in frames:
        if f.get("time_s") is None:
            continue
        face = next((x for x in f.get("faces", []) if str(x.get("face_id", 0)) == fid), None)
        ts.append(float(f["time_s"]))
        if face is None or not face.get("landmarks_found", True):
            before.append(None), after.append(None), share.append(None), target.append(None)
            states.append("no_face"), limits.append(None)
            continue
        before.append(face.get("gaze_before", {}).get("offset_deg"))
        after.append(face.get("gaze_after", {}).get("offset_deg"))
        share.append(face.get("share"))
        target.append(face.get("target_share"))
        st = face.get("blink_state", "open")
        states.append(st if st != "open" else None)
        limits.append(face.get("limited_by"))
    if not ts:
        return ""
    t0, t1 = ts[0], ts[-1]
    vals = [v for v in before + after if v is not None]
    ymax = max(40.0, min(90.0, math.ceil((max(vals) if vals else 40.0) / 10.0) * 10.0))

    ax1 = _Axes(t0, t1, 0.0, ymax)
    body1 = _bands(ax1, ts, states, STATE_COLOURS, _MT, _H - _MB)
    th = meta.get("thresholds", {}) if isinstance(meta, Mapping) else {}
    for key, colour in (("gaze_low_deg", "#8bc34a"), ("gaze_high_deg", "#ff9800")):
        if th.get(key) is not None:
            y = ax1.y(float(th[key]))
            body1 += (f'<line x1="{_ML}" x2="{_W - _MR}" y1="{y:.1f}" y2="{y:.1f}" '
                      f'stroke="{colour}" stroke-dasharray="4 4"/>')
    body1 += _polyline(ax1, ts, before, "#d32f2f") + _polyline(ax1, ts, after, "#1976d2")
    plot1 = _frame(ax1, [v for v in (0, 10, 20, 30, 40, 60, 80) if v <= ymax],
                   "gaze offset (deg)", body1)

    ax2 = _Axes(t0, t1, 0.0, 1.0)
    body2 = (_bands(ax2, ts, states, STATE_COLOURS, _MT, _H - _MB)
             + _polyline(ax2, ts, target, "#888", dash="5 3", width=1.2)
             + _polyline(ax2, ts, share, "#2e7d32", width=2.0))
    plot2 = _frame(ax2, [0, 0.25, 0.5, 0.75, 1.0], "applied share", body2)

    ax3 = _Axes(t0, t1, 0.0, 1.0, height=60)
    plot3 = _frame(ax3, [], "why", _bands(ax3, ts, limits, LIMIT_COLOURS, _MT, 60 - _MB))

    used = sorted({x for x in limits if x is not None})
    legend1 = (_swatch("#d32f2f", "gaze offset before (the real eyes)", line=True)
               + _swatch("#1976d2", "gaze offset after (as shown)", line=True)
               + _swatch("#8bc34a", "full correction below", line=True, dash=True)
               + _swatch("#ff9800", "no correction above", line=True, dash=True))
    legend2 = (_swatch("#2e7d32", "applied share of the correction", line=True)
               + _swatch("#888", "target share", line=True, dash=True)
               + _swatch(STATE_COLOURS["real_blink"], "real blink (real eyes shown)")
               + _swatch(STATE_COLOURS["synthetic_blink"], "synthetic blink")
               + _swatch(STATE_COLOURS["no_face"], "no face found"))
    legend3 = "".join(_swatch(LIMIT_COLOURS[k], k.replace("_", " ")) for k in used
                      if k in LIMIT_COLOURS)
    return (f'<h2>Face {html.escape(fid)}</h2>'
            f'<p class="legend">{legend1}</p>{plot1}'
            f'<p class="legend">{legend2}</p>{plot2}'
            f'<p class="legend"><b>What limited the correction:</b> {legend3}</p>{plot3}')


def render_html(doc: Mapping[str, Any]) -> str:
    """A self-contained page: summary table and SVG plots per face."""
    frames = doc.get("frames", [])
    summary = doc.get("summary", {})
    meta = doc.get("meta", {}) or {}
    rows = []
    for fid, s in summary.get("faces", {}).items():
        lim = ", ".join(f"{k} {100 * v:.0f}%" for k, v in s.get("limited_by_fraction", {}).items())
        b, a = s.get("mean_offset_before_deg"), s.get("mean_offset_after_deg")
        rows.append(
            f"<tr><td>{html.escape(fid)}</td><td>{s['frames']}</td>"
            f"<td>{100 * s['mean_share']:.0f}%</td><td>{100 * s['corrected_fraction']:.0f}%</td>"
            f"<td>{s['real_blinks']}</td><td>{s['synthetic_blinks']}</td>"
            f"<td>{'-' if b is None else f'{b:.1f}'}</td><td>{'-' if a is None else f'{a:.1f}'}"
            f"</td><td>{html.escape(lim)}</td></tr>")
    sections = "".join(_face_section(fid, frames, meta) for fid in summary.get("faces", {}))
    meta_rows = "".join(f"<li><b>{html.escape(str(k))}</b>: {html.escape(json.dumps(v))}</li>"
                        for k, v in meta.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/><title>eyecontact report</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; max-width: 940px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
.legend {{ font-size: 12px; margin: 14px 0 2px; }}
.lg {{ margin-right: 14px; white-space: nowrap; }}
.lg svg {{ vertical-align: middle; }}
</style></head><body>
<h1>eyecontact report</h1>
<p>{summary.get('frames', 0)} frames, {summary.get('duration_s', 0.0):.1f} s,
a face was found in {summary.get('frames_with_face', 0)} frames.</p>
<ul>{meta_rows}</ul>
<p>The filter turns the eyes toward the camera by a <i>share</i> of the full correction. The share
is 1 while the person looks near the camera, fades to 0 as the gaze or head turns further away
(then the real eyes are shown), and drops during real blinks so the eyes close naturally.
Changes are always gradual (150-300 ms).</p>
<table><tr><th>face</th><th>frames</th><th>mean share</th><th>corrected</th>
<th>real blinks</th><th>synthetic blinks</th><th>offset before</th><th>offset after</th>
<th>limited by</th></tr>{''.join(rows)}</table>
{sections}
</body></html>
"""
