"""Offline processing: what is preserved, and bad input handled with a message, never a traceback."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from eyecontact.cli import main
from eyecontact.synthetic import astronaut_rgb, moving_face_frames, write_clip


def video_facts(path: Path):
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        pts = [f.pts for f in c.decode(video=0)]
        size = (v.codec_context.width, v.codec_context.height)
        rate = v.average_rate
    with av.open(str(path)) as c:
        audio = [(p.pts, p.dts, p.duration, bytes(p)) for p in c.demux(audio=0) if p.dts is not None] \
            if c.streams.audio else []
    return pts, size, rate, audio


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def run(*args: str) -> int:
    return main(["process", *map(str, args), "--no-progress"])


def test_frames_timestamps_and_audio_preserved(astronaut_clip, tmp_path):
    out = tmp_path / "out.mp4"
    assert run(astronaut_clip, "-o", out, "--redirector", "analytic") == 0
    pts_in, size_in, rate_in, audio_in = video_facts(astronaut_clip)
    pts_out, size_out, rate_out, audio_out = video_facts(out)
    assert pts_out == pts_in and len(pts_out) == 45
    assert size_out == size_in and rate_out == rate_in
    assert audio_in and audio_out == audio_in
    assert not list(tmp_path.glob(".*partial*"))


def test_compare_and_report(astronaut_clip, tmp_path):
    out = tmp_path / "cmp.mkv"
    report = tmp_path / "r.json"
    assert run(astronaut_clip, "-o", out, "--compare", "--report", report) == 0
    _, size, _, _ = video_facts(out)
    assert size == (1280, 480)
    data = json.loads(report.read_text())
    assert len(data["frames"]) == 45
    assert data["frames"][0]["faces"]


def test_webm_output(astronaut_clip, tmp_path):
    out = tmp_path / "out.webm"
    assert run(astronaut_clip, "-o", out) == 0
    pts, _, _, _ = video_facts(out)
    assert len(pts) == 45


def test_rotation_metadata_kept(tmp_path):
    src = tmp_path / "rot.mp4"
    upright = list(moving_face_frames(320, 480, 10))
    stored = [np.ascontiguousarray(np.rot90(f, -1)) for f in upright]  # stored sideways
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 480, 320, "yuv420p"
        v.set_display_rotation(90)
        for i, f in enumerate(stored):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, 30)
            for p in v.encode(vf):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    dst = tmp_path / "rot_out.mp4"
    assert run(src, "-o", dst, "--report", tmp_path / "r.json") == 0
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        fa, fb = next(a.decode(video=0)), next(b.decode(video=0))
        assert fb.rotation == fa.rotation != 0
        assert (fb.width, fb.height) == (fa.width, fa.height)
    faces = [f["faces"] for f in json.loads((tmp_path / "r.json").read_text())["frames"]]
    assert sum(bool(f) for f in faces) >= 8  # the face was found in the upright orientation


def test_odd_sized_frames(tmp_path):
    src = tmp_path / "odd.mp4"
    write_clip(src, moving_face_frames(641, 479, 8), fps=25)
    dst = tmp_path / "odd_out.mp4"
    assert run(src, "-o", dst) == 0
    pts, size, _, _ = video_facts(dst)
    assert size == (641, 479) and len(pts) == 8


def test_grayscale_image(tmp_path):
    gray = cv2.cvtColor(astronaut_rgb(), cv2.COLOR_RGB2GRAY)
    src = tmp_path / "gray.png"
    cv2.imwrite(str(src), gray)
    dst = tmp_path / "gray_out.png"
    assert run(src, "-o", dst) == 0
    out = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert out.shape == gray.shape


def test_image_outside_eyes_unchanged(tmp_path):
    rgb = astronaut_rgb()
    src = tmp_path / "a.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    dst = tmp_path / "b.png"
    assert run(src, "-o", dst, "--redirector", "analytic") == 0
    out = cv2.cvtColor(cv2.imread(str(dst)), cv2.COLOR_BGR2RGB)
    changed = np.any(out != rgb, axis=2)
    ys, xs = np.nonzero(changed)
    assert len(ys) > 0
    # Only around the two eyes (the astronaut's eyes lie near y=110, x=180..280).
    assert ys.min() > 80 and ys.max() < 140 and xs.min() > 150 and xs.max() < 300


@pytest.mark.parametrize("make,message", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_text("hello, this is not a video\n" * 20), "not a video"),
])
def test_bad_inputs_give_clear_messages(tmp_path, capsys, make, message):
    src = tmp_path / "in.mp4"
    make(src)
    dst = tmp_path / "out.mp4"
    assert run(src, "-o", dst) == 2
    assert message in capsys.readouterr().err
    assert not dst.exists() and not list(tmp_path.glob(".*partial*"))


def test_output_equal_to_input_refused(astronaut_clip, tmp_path, capsys):
    before = astronaut_clip.read_bytes()
    assert run(astronaut_clip, "-o", astronaut_clip) == 2
    assert "input" in capsys.readouterr().err
    assert astronaut_clip.read_bytes() == before


def test_existing_output_not_overwritten(astronaut_clip, tmp_path, capsys):
    dst = tmp_path / "exists.mp4"
    dst.write_bytes(b"precious")
    assert run(astronaut_clip, "-o", dst) == 2
    assert "exists" in capsys.readouterr().err
    assert dst.read_bytes() == b"precious"


def test_output_folder_missing_or_not_a_folder(astronaut_clip, tmp_path, capsys):
    assert run(astronaut_clip, "-o", tmp_path / "nope" / "out.mp4") == 2
    assert "does not exist" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run(astronaut_clip, "-o", blocker / "out.mp4") == 2


def test_corrupt_bytes_in_the_middle(astronaut_clip, tmp_path, capsys):
    data = bytearray(astronaut_clip.read_bytes())
    rng = np.random.default_rng(1)
    start = len(data) // 2
    data[start:start + 3000] = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    src = tmp_path / "corrupt.mp4"
    src.write_bytes(bytes(data))
    dst = tmp_path / "fixed.mp4"
    code = run(src, "-o", dst)
    err = capsys.readouterr().err
    assert code == 0, err
    pts, _, _, _ = video_facts(dst)
    assert 20 <= len(pts) <= 45
    assert "Traceback" not in err


def test_no_face_passes_frames_through(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(6)]
    src = tmp_path / "noface.mp4"
    write_clip(src, frames, fps=30)
    dst = tmp_path / "noface_out.mp4"
    assert run(src, "-o", dst) == 0
    assert "no face" in capsys.readouterr().err
    assert len(video_facts(dst)[0]) == 6


def _placed(canvas_wh, head_h, positions):
    head = cv2.resize(astronaut_rgb()[20:320, 100:340], None, fx=head_h / 300, fy=head_h / 300)
    w, h = canvas_wh
    frame = np.full((h, w, 3), 90, np.uint8)
    for x, y in positions:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + head.shape[1], w), min(y + head.shape[0], h)
        frame[y0:y1, x0:x1] = head[y0 - y:y1 - y, x0 - x:x1 - x]
    return frame


def test_several_faces_each_corrected(tmp_path):
    frame = _placed((960, 480), 380, [(20, 40), (500, 40)])
    src = tmp_path / "two.png"
    cv2.imwrite(str(src), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    report = tmp_path / "two.json"
    assert run(src, "-o", tmp_path / "two_out.png", "--max-faces", "2", "--report", report) == 0
    faces = json.loads(report.read_text())["frames"][0]["faces"]
    assert len(faces) == 2


@pytest.mark.parametrize("canvas,head_h,pos", [
    ((1280, 720), 90, (600, 300)),  # tiny face
    ((640, 480), 400, (-120, 60)),  # face cut by the frame edge
    ((640, 480), 400, (380, -150)),
])
def test_awkward_faces_do_not_crash(tmp_path, canvas, head_h, pos):
    frame = _placed(canvas, head_h, [pos])
    src = tmp_path / "awk.png"
    cv2.imwrite(str(src), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    assert run(src, "-o", tmp_path / "awk_out.png") == 0


def _identity(frame: np.ndarray, t_s: float):
    from eyecontact.types import FrameResult
    return frame, FrameResult(index=0)


@pytest.mark.parametrize("where", ["correcting", "encoding"])
def test_a_failure_mid_stream_leaves_no_output_and_no_thread(astronaut_clip, tmp_path, monkeypatch, where):
    """The encoder runs on a thread of its own: a failure on either side must still stop it,
    leave no file (temporary or final) and reach the caller."""
    import threading

    from eyecontact import video

    calls = {"n": 0}

    def failing_fn(frame, t_s):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("boom while correcting")
        return _identity(frame, t_s)

    fn = _identity
    if where == "correcting":
        fn = failing_fn
    else:
        real = av.VideoFrame.from_ndarray

        def failing_from_ndarray(array, format="rgb24"):
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("boom while encoding")
            return real(array, format=format)

        monkeypatch.setattr(av.VideoFrame, "from_ndarray", staticmethod(failing_from_ndarray))
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom while"):
        video.process_video(astronaut_clip, out, fn, progress=False)
    assert list(tmp_path.iterdir()) == []
    assert not any(t.name == "eyecontact-writer" for t in threading.enumerate())


def test_writer_keeps_every_frame_in_order(astronaut_clip, tmp_path):
    """Frames handed to the writer thread come out complete and in order: each output frame is
    the input frame with its index drawn in, read back."""
    from eyecontact import video

    def stamp(frame: np.ndarray, t_s: float):
        frame[:40, :200] = 0
        n = int(round(t_s * 1000))
        cv2.putText(frame, str(n), (2, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        return _identity(frame, t_s)

    out = tmp_path / "out.mp4"
    summary, _ = video.process_video(astronaut_clip, out, stamp, progress=False)
    with av.open(str(astronaut_clip)) as c:
        times = [int(round(float(f.time) * 1000)) for f in c.decode(video=0)]
    with av.open(str(out)) as c:
        stamped = [f.to_ndarray(format="rgb24")[:40, :200] for f in c.decode(video=0)]
    assert summary.frames_out == len(times) == len(stamped)
    for n, got in zip(times, stamped):
        want = np.zeros((40, 200, 3), np.uint8)
        cv2.putText(want, str(n), (2, 32), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        assert np.abs(got.astype(int) - want).mean() < 12  # re-encoding blur only
