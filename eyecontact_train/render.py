"""Procedural, randomised renderer of one eye region, drawn directly in the runtime crop frame.

Everything is a closed-form function of pixel position (numpy), rendered at 2x and area-averaged
down, so one image costs about a millisecond and the same seed always gives the same pixels.

Geometry (crop pixels, x right, y down; see eyecontact.eyecrop): the eye corners sit at
(CORNER_X0, CORNER_Y) and (CORNER_X1, CORNER_Y). The eyeball is a sphere of rotation radius R
(about 0.35 x the corner distance) centred near the corner midpoint; the iris is a cap on it, so
a gaze change moves the iris centre by R*(sin(new) - sin(old)) and foreshortens it. Lids are
curves between the corners whose opening follows vertical gaze and the openness (0 = closed).

A *pair* is the same synthetic person and scene at two gaze directions / lid openings, which is
what the network learns from: source + condition -> target.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from eyecontact.eyecrop import CORNER_X0, CORNER_X1, CORNER_Y, CROP_H, CROP_W

RENDER_VERSION = 2
SS = 2  # supersampling factor
EYE_WIDTH = CORNER_X1 - CORNER_X0

# Gaze ranges the renderer draws from (degrees) and the trained range of the deltas.
PITCH_RANGE = (-25.0, 20.0)
YAW_RANGE = (-35.0, 35.0)
MAX_DELTA_PITCH = 20.0
MAX_DELTA_YAW = 25.0

# Supersampled pixel centres in crop coordinates (crop pixel j has its centre at x = j).
_XS = (np.arange(CROP_W * SS) + 0.5) / SS - 0.5
_YS = (np.arange(CROP_H * SS) + 0.5) / SS - 0.5
_X, _Y = np.meshgrid(_XS.astype(np.float32), _YS.astype(np.float32))


@dataclass(frozen=True)
class EyeState:
    pitch: float  # degrees, > 0 up
    yaw: float  # degrees, > 0 towards the image's right
    openness: float  # 1 = this person's full opening, 0 = closed


@dataclass
class Appearance:
    """Everything that stays the same between the two images of a pair."""

    seed: int
    side: str  # "right" (image-left eye: nose at crop right) or "left"
    center: np.ndarray  # (2,) eyeball centre, crop px
    radius: float  # eyeball rotation radius, crop px
    iris_radius: float
    pupil_ratio: float
    iris_inner: np.ndarray  # RGB 0..1
    iris_outer: np.ndarray
    iris_freqs: np.ndarray
    iris_amps: np.ndarray
    iris_phases: np.ndarray
    limbus: float  # darkness of the limbal ring
    sclera: np.ndarray
    veins: np.ndarray  # (k, 3) line parameters in eye-local coordinates
    vein_strength: float
    skin: np.ndarray
    skin_lowfreq: np.ndarray  # (H*SS, W*SS) multiplicative
    skin_fine: np.ndarray
    up_height: float  # open upper lid height above the corner line at its peak, px
    low_height: float
    up_peak: float  # 0..1 along the corner axis
    low_peak: float
    up_power: float
    low_power: float
    lid_follow: float  # how much the upper lid follows vertical gaze
    crease_gap: float
    crease_strength: float
    margin_width: float
    lash_color: np.ndarray
    lashes: np.ndarray  # (k, 4): t along lid, length, tilt, thickness
    lower_lashes: np.ndarray
    brow: tuple[float, float, float] | None  # (y at centre, thickness, slope)
    brow_color: np.ndarray
    light_grad: np.ndarray  # (2,) brightness gradient across x, y
    light_color: np.ndarray
    light_gain: float
    highlight_dir: np.ndarray  # (2,)
    highlight_size: float
    highlight_gain: float
    glasses: dict | None
    blur: float
    noise: float
    jpeg: int | None
    gamma: float


def _mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a * (1 - t) + b * t


def _skin_tone(rng: np.random.Generator) -> np.ndarray:
    """A skin colour from very light to very dark, with a little hue variation."""
    light = np.array([0.96, 0.83, 0.74])
    mid = np.array([0.76, 0.55, 0.40])
    dark = np.array([0.30, 0.19, 0.13])
    t = rng.uniform(0, 1)
    tone = _mix(light, mid, t / 0.5) if t < 0.5 else _mix(mid, dark, (t - 0.5) / 0.5)
    tone = tone * rng.uniform(0.9, 1.08, 3) * rng.uniform(0.85, 1.1)
    return np.clip(tone, 0.05, 1.0)


def _iris_colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    palette = np.array([
        [0.20, 0.11, 0.06],  # dark brown
        [0.35, 0.20, 0.10],  # brown
        [0.45, 0.33, 0.15],  # hazel
        [0.30, 0.40, 0.25],  # green
        [0.30, 0.42, 0.55],  # blue
        [0.45, 0.50, 0.55],  # grey
        [0.10, 0.07, 0.05],  # near black
        [0.25, 0.28, 0.45],  # dark blue
    ])
    weights = np.array([0.3, 0.2, 0.1, 0.08, 0.12, 0.06, 0.1, 0.04])
    outer = palette[rng.choice(len(palette), p=weights)] * rng.uniform(0.7, 1.3, 3)
    inner = _mix(outer, palette[rng.integers(0, 3)] * 1.3, rng.uniform(0.0, 0.6))
    return np.clip(inner, 0.02, 1.0), np.clip(outer, 0.02, 1.0)


def _smooth_noise(rng: np.random.Generator, cells: tuple[int, int]) -> np.ndarray:
    coarse = rng.normal(size=cells).astype(np.float32)
    return cv2.resize(coarse, (CROP_W * SS, CROP_H * SS), interpolation=cv2.INTER_CUBIC)


def sample_appearance(rng: np.random.Generator, seed: int = 0) -> Appearance:
    iris_inner, iris_outer = _iris_colours(rng)
    skin = _skin_tone(rng)
    n_freq = 10
    has_glasses = rng.uniform() < 0.3
    glasses = None
    if has_glasses:
        glasses = {
            "rim": rng.choice(["top", "bottom", "side", "none"], p=[0.35, 0.35, 0.2, 0.1]),
            "rim_pos": rng.uniform(0, 1),
            "rim_curve": rng.uniform(-0.01, 0.01),
            "rim_width": rng.uniform(0.6, 2.5),
            "rim_color": rng.uniform(0, 0.7) * rng.uniform(0.8, 1.2, 3),
            "tint": rng.uniform(0.85, 1.0, 3),
            "reflect": rng.uniform(0.0, 0.35),
            "reflect_color": rng.uniform(0.6, 1.0, 3),
            "reflect_field": _smooth_noise(rng, (3, 4)),
            "streak": (rng.uniform(-1, 1), rng.uniform(0, CROP_W), rng.uniform(2, 8),
                       rng.uniform(0, 0.4) if rng.uniform() < 0.4 else 0.0),
        }
    n_lash = int(rng.integers(0, 40))
    lashes = np.stack([rng.uniform(0.05, 1.0, n_lash), rng.uniform(1.0, 4.5, n_lash),
                       rng.uniform(-0.4, 0.4, n_lash), rng.uniform(0.3, 0.9, n_lash)], 1)
    n_low = int(rng.integers(0, 12))
    lower_lashes = np.stack([rng.uniform(0.2, 0.95, n_low), rng.uniform(0.5, 2.0, n_low),
                             rng.uniform(-0.3, 0.3, n_low), rng.uniform(0.2, 0.6, n_low)], 1)
    light_color = rng.uniform(0.85, 1.1, 3)
    return Appearance(
        seed=seed,
        side="right" if rng.uniform() < 0.5 else "left",
        center=np.array([(CORNER_X0 + CORNER_X1) / 2 + rng.normal(0, 1.0),
                         CORNER_Y - rng.uniform(-0.5, 3.0)]),
        radius=0.35 * EYE_WIDTH * rng.uniform(0.9, 1.1),
        iris_radius=EYE_WIDTH * rng.uniform(0.19, 0.25),
        pupil_ratio=rng.uniform(0.25, 0.5),
        iris_inner=iris_inner,
        iris_outer=iris_outer,
        iris_freqs=rng.integers(8, 60, n_freq).astype(np.float32),
        iris_amps=rng.uniform(0.0, 0.12, n_freq),
        iris_phases=rng.uniform(0, 2 * np.pi, n_freq),
        limbus=rng.uniform(0.2, 0.8),
        sclera=np.clip(np.array([0.93, 0.9, 0.86]) * rng.uniform(0.55, 1.0)
                       * rng.uniform(0.93, 1.05, 3), 0, 1),
        veins=np.stack([rng.normal(0, 1, 6), rng.normal(0, 1, 6), rng.uniform(-0.8, 0.8, 6)], 1),
        vein_strength=rng.uniform(0, 0.5),
        skin=skin,
        skin_lowfreq=1 + 0.06 * _smooth_noise(rng, (4, 6)),
        skin_fine=0.025 * rng.normal(size=(CROP_H * SS, CROP_W * SS)).astype(np.float32),
        up_height=EYE_WIDTH * rng.uniform(0.16, 0.27),
        low_height=EYE_WIDTH * rng.uniform(0.10, 0.17),
        up_peak=rng.uniform(0.38, 0.58),
        low_peak=rng.uniform(0.45, 0.65),
        up_power=rng.uniform(0.7, 1.4),
        low_power=rng.uniform(0.7, 1.3),
        lid_follow=rng.uniform(0.5, 0.9),
        crease_gap=rng.uniform(1.5, 6.0),
        crease_strength=rng.uniform(0.0, 0.35),
        margin_width=rng.uniform(0.8, 2.2),
        lash_color=skin * rng.uniform(0.05, 0.35),
        lashes=lashes,
        lower_lashes=lower_lashes,
        brow=(rng.uniform(-4, 4), rng.uniform(2, 7), rng.uniform(-0.08, 0.08)) if rng.uniform() < 0.4 else None,
        brow_color=skin * rng.uniform(0.1, 0.5),
        light_grad=rng.normal(0, 0.15, 2),
        light_color=light_color,
        light_gain=rng.uniform(0.55, 1.15),
        highlight_dir=rng.uniform(-0.8, 0.8, 2),
        highlight_size=rng.uniform(0.5, 1.5),
        highlight_gain=rng.uniform(0.0, 1.0),
        glasses=glasses,
        blur=rng.uniform(0.0, 1.1),
        noise=rng.uniform(0.0, 0.025),
        jpeg=int(rng.integers(35, 96)) if rng.uniform() < 0.7 else None,
        gamma=rng.uniform(0.85, 1.2),
    )


# ----------------------------------------------------------------------------- lids


def _bump(t: np.ndarray, peak: float, power: float) -> np.ndarray:
    """0 at both corners, 1 at ``peak`` (fraction along the corner axis)."""
    tc = np.clip(t, 1e-4, 1 - 1e-4)
    warped = tc ** (np.log(0.5) / np.log(peak))
    return np.where((t > 0) & (t < 1), np.sin(np.pi * warped) ** power, 0.0)


def lid_curves(app: Appearance, state: EyeState, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y of the upper and lower lid margins at crop x (equal outside the corners)."""
    # The appearance's peaks are given for a "right" eye; a left eye is its mirror image.
    t = (x - CORNER_X0) / EYE_WIDTH
    if app.side == "left":
        t = 1 - t
    s = np.sin(np.radians(state.pitch))
    up_h = max(app.up_height + app.lid_follow * app.radius * s, 0.5)
    low_h = max(app.low_height - 0.3 * app.radius * s, 0.5)
    bu = _bump(t, app.up_peak, app.up_power)
    bl = _bump(t, app.low_peak, app.low_power)
    upper_open = CORNER_Y - up_h * bu
    lower_open = CORNER_Y + low_h * bl
    closed = CORNER_Y + 0.6 * low_h * bl  # the upper lid comes down onto a near-still lower lid
    o = float(np.clip(state.openness, 0.0, 1.0))
    return o * upper_open + (1 - o) * closed, o * lower_open + (1 - o) * closed


def lid_contour(app: Appearance, state: EyeState) -> np.ndarray:
    """16 points in the runtime's order: 8 upper from the left corner, 8 lower to the right one."""
    xs_up = CORNER_X0 + EYE_WIDTH * np.arange(8) / 8
    xs_low = CORNER_X0 + EYE_WIDTH * np.arange(1, 9) / 8
    up, _ = lid_curves(app, state, xs_up)
    _, low = lid_curves(app, state, xs_low)
    return np.concatenate([np.stack([xs_up, up], 1), np.stack([xs_low, low], 1)]).astype(np.float32)


# ----------------------------------------------------------------------------- eyeball


def _gaze_vector(state: EyeState) -> np.ndarray:
    """Unit gaze in crop axes: x right, y down, z towards the viewer."""
    p, y = np.radians(state.pitch), np.radians(state.yaw)
    return np.array([np.sin(y) * np.cos(p), -np.sin(p), np.cos(y) * np.cos(p)])


def iris_center(app: Appearance, state: EyeState) -> np.ndarray:
    g = _gaze_vector(state)
    return app.center + app.radius * g[:2]


def _eyeball(app: Appearance, state: EyeState, upper: np.ndarray) -> np.ndarray:
    """RGB of the eyeball at every supersampled pixel (only used inside the lid aperture)."""
    r = app.radius
    dx = (_X - app.center[0]) / r
    dy = (_Y - app.center[1]) / r
    rr = dx * dx + dy * dy
    inside = rr < 1
    nz = np.sqrt(np.clip(1 - rr, 0, 1))
    # Eye-local coordinates: undo the gaze rotation (yaw about y, then pitch about x).
    p, yw = np.radians(state.pitch), np.radians(state.yaw)
    cy_, sy_ = np.cos(yw), np.sin(yw)
    lx = cy_ * dx - sy_ * nz
    lz0 = sy_ * dx + cy_ * nz
    cp, sp = np.cos(p), np.sin(p)
    ly = cp * dy + sp * lz0
    lz = -sp * dy + cp * lz0
    # Sclera: shaded like a wider ball (the visible white extends past the rotation radius).
    ws = 0.62 * EYE_WIDTH
    sx = (_X - app.center[0]) / ws
    sy = (_Y - app.center[1]) / ws
    shade = 0.45 + 0.55 * np.sqrt(np.clip(1 - sx * sx - sy * sy, 0, 1))
    col = app.sclera[None, None, :] * shade[..., None]
    # Veins: thin red lines fixed to the ball, stronger towards the periphery.
    vein = np.zeros_like(dx)
    for a, b, c in app.veins:
        d = np.abs(a * lx + b * ly + c) / max(np.hypot(a, b), 1e-3)
        vein = np.maximum(vein, np.exp(-(d / 0.025) ** 2))
    vein *= app.vein_strength * np.clip(1.2 - lz, 0, 1) * inside
    col = col * (1 - vein[..., None] * np.array([0.1, 0.55, 0.5]))
    # Iris: polar texture around the gaze axis.
    sin_i = app.iris_radius / r
    rho = np.sqrt(lx * lx + ly * ly) / sin_i  # 0 at iris centre, 1 at the limbus
    front = inside & (lz > 0)
    phi = np.arctan2(ly, lx)
    fib = np.zeros_like(phi)
    for f, a, ph in zip(app.iris_freqs, app.iris_amps, app.iris_phases):
        fib += a * np.sin(f * phi + ph + 3 * rho)
    iris_col = _mix(app.iris_inner[None, None, :], app.iris_outer[None, None, :], np.clip(rho, 0, 1)[..., None])
    iris_col = iris_col * (1 + fib[..., None])
    limb = np.clip((rho - 0.78) / 0.22, 0, 1) ** 2 * app.limbus
    iris_col = iris_col * (1 - limb[..., None])
    iris_col = np.where((rho < app.pupil_ratio)[..., None], np.array([0.02, 0.02, 0.025]), iris_col)
    iris_col = iris_col * (0.8 + 0.2 * nz[..., None])
    iris_mask = np.clip((1.0 - rho) * 8, 0, 1) * front  # soft 1/8 limbus edge
    col = col * (1 - iris_mask[..., None]) + iris_col * iris_mask[..., None]
    # Corneal highlight: rides on the cornea, offset towards the light.
    g = _gaze_vector(state)
    cornea = app.center + 0.6 * r * g[:2] + 0.45 * app.iris_radius * app.highlight_dir
    hd = ((_X - cornea[0]) ** 2 + (_Y - cornea[1]) ** 2) / app.highlight_size ** 2
    col = col + app.highlight_gain * np.exp(-hd)[..., None]
    # The upper lid shades the top of the ball.
    below = np.clip(_Y - upper, 0, None)
    col = col * (1 - 0.35 * np.exp(-below / 2.0))[..., None]
    # Caruncle: pink tissue in the inner (nasal) corner.
    cx = CORNER_X1 - 2.5 if app.side == "right" else CORNER_X0 + 2.5
    car = np.exp(-(((_X - cx) / 2.2) ** 2 + ((_Y - CORNER_Y) / 1.6) ** 2))
    col = _mix(col, (app.skin * np.array([1.05, 0.62, 0.62]))[None, None, :], car[..., None])
    return col


# ----------------------------------------------------------------------------- the image


def _fixed_point(x: float, y: float) -> tuple[int, int]:
    """Crop coordinates -> supersampled canvas pixels in OpenCV's 4-bit fixed point."""
    return int(np.rint((x + 0.5) * SS * 16 - 8)), int(np.rint((y + 0.5) * SS * 16 - 8))


def _draw_lashes(canvas: np.ndarray, app: Appearance, state: EyeState, lashes: np.ndarray,
                 lower: bool) -> None:
    """Anti-aliased strokes (coverage in ``canvas``) rooted on a lid, pointing away from the eye."""
    if len(lashes) == 0:
        return
    t = lashes[:, 0] if app.side == "right" else 1 - lashes[:, 0]
    xs = CORNER_X0 + EYE_WIDTH * t
    up, low = lid_curves(app, state, xs)
    roots = low if lower else up
    lateral = -1.0 if app.side == "right" else 1.0  # away from the nose
    o = float(np.clip(state.openness, 0, 1))
    for x0, y0, (tt, length, tilt, thick) in zip(xs, roots, lashes):
        direction = np.array([lateral * (0.3 + tt) * 0.6 + tilt, 1.0 if lower else -(0.3 + 0.7 * o)])
        direction /= np.linalg.norm(direction)
        x1, y1 = np.array([x0, y0]) + length * direction
        cv2.line(canvas, _fixed_point(x0, y0), _fixed_point(x1, y1), float(thick),
                 max(1, int(np.rint(thick * SS))), cv2.LINE_AA, shift=4)


def _glasses(img: np.ndarray, app: Appearance) -> np.ndarray:
    g = app.glasses
    if g is None:
        return img
    img = img * g["tint"][None, None, :]
    if g["rim"] != "none":
        if g["rim"] == "top":
            d = _Y - (1 + 8 * g["rim_pos"] + g["rim_curve"] * (_X - 32) ** 2)
        elif g["rim"] == "bottom":
            d = _Y - (39 - 8 * g["rim_pos"] - g["rim_curve"] * (_X - 32) ** 2)
        else:
            x0 = 2 + 6 * g["rim_pos"] if g["rim_pos"] < 0.5 else CROP_W - 2 - 6 * (1 - g["rim_pos"])
            d = _X - (x0 + g["rim_curve"] * (_Y - 20) ** 2)
        rim = np.clip(g["rim_width"] / 2 + 0.5 - np.abs(d), 0, 1)
        img = _mix(img, g["rim_color"][None, None, :], rim[..., None])
    a, x0, w, s = g["streak"]
    streak = s * np.exp(-((_X - x0 - a * (_Y - 20)) / w) ** 2)
    refl = np.clip(g["reflect"] * (0.5 + 0.5 * g["reflect_field"]), 0, 1) + streak
    return img + refl[..., None] * g["reflect_color"][None, None, :]


def render_eye(app: Appearance, state: EyeState, noise_seed: int = 0) -> np.ndarray:
    """One (CROP_H, CROP_W, 3) uint8 RGB eye-region image."""
    upper, lower = lid_curves(app, state, _X[0])
    upper = upper[None, :]
    lower = lower[None, :]
    aperture = np.clip((_Y - upper) * SS, 0, 1) * np.clip((lower - _Y) * SS, 0, 1)
    # Skin with low-frequency shading, pores, a lid crease and a darker lid margin.
    skin = app.skin[None, None, :] * (app.skin_lowfreq + app.skin_fine)[..., None]
    t = (_X - CORNER_X0) / EYE_WIDTH
    if app.side == "left":
        t = 1 - t
    o = float(np.clip(state.openness, 0, 1))
    crease_y = CORNER_Y - (app.up_height + app.crease_gap) * (0.6 + 0.4 * o) * \
        _bump(np.clip(t * 0.9 + 0.05, 0, 1), app.up_peak, app.up_power)
    crease = app.crease_strength * np.exp(-((_Y - crease_y) / 1.2) ** 2) * (np.abs(t - 0.5) < 0.6)
    skin = skin * (1 - crease[..., None])
    img = skin * (1 - aperture[..., None]) + _eyeball(app, state, upper) * aperture[..., None]
    # Dark lid margin just above the upper lid line; it fades fast into the aperture below.
    above = np.where(_Y < upper, (upper - _Y) / app.margin_width, (_Y - upper) * 3)
    margin = np.exp(-above ** 2) * ((t > -0.02) & (t < 1.02))
    margin *= np.clip((lower - upper) * 2 + 0.6, 0, 1) * 0.8 + 0.2  # stays when closed
    img = _mix(img, app.lash_color[None, None, :], 0.75 * margin[..., None])
    waterline = np.exp(-((_Y - lower - 0.6) / 0.6) ** 2) * ((t > 0.05) & (t < 0.95)) * o
    img = img * (1 + 0.12 * waterline[..., None])
    # Lashes.
    cover = np.zeros(_X.shape, np.float32)
    _draw_lashes(cover, app, state, app.lashes, lower=False)
    _draw_lashes(cover, app, state, app.lower_lashes, lower=True)
    cover = np.clip(cover, 0, 1)[..., None]
    img = img * (1 - cover) + app.lash_color[None, None, :] * cover
    # Brow at the top edge.
    if app.brow is not None:
        by, thick, slope = app.brow
        edge = by + thick + slope * (_X - 32)
        brow = np.clip(edge - _Y, 0, 1.5) / 1.5 * (0.75 + 0.25 * np.sin(_X * 3.1 + _Y * 1.3))
        img = _mix(img, app.brow_color[None, None, :], brow[..., None])
    # Light: gain, colour and a linear gradient across the crop.
    light = app.light_gain * (1 + app.light_grad[0] * (_X - 32) / 32 + app.light_grad[1] * (_Y - 20) / 20)
    img = img * light[..., None] * app.light_color[None, None, :]
    img = _glasses(img, app)
    # Camera: downsample, blur, noise, gamma, JPEG.
    img = cv2.resize(img.astype(np.float32), (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    if app.blur > 0.2:
        img = cv2.GaussianBlur(img, (0, 0), app.blur)
    rng = np.random.default_rng(noise_seed)
    img = img + rng.normal(0, app.noise, img.shape).astype(np.float32)
    img = np.clip(img, 0, 1) ** app.gamma
    out = (img * 255 + 0.5).astype(np.uint8)
    if app.jpeg is not None:
        _, buf = cv2.imencode(".jpg", out[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, app.jpeg])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    return out


# ----------------------------------------------------------------------------- pairs


@dataclass
class Pair:
    source: np.ndarray  # uint8 (H, W, 3)
    target: np.ndarray
    condition: np.ndarray  # (3,): delta_pitch, delta_yaw (degrees), openness ratio
    appearance: Appearance
    source_state: EyeState
    target_state: EyeState


def sample_states(rng: np.random.Generator) -> tuple[EyeState, EyeState]:
    pitch = rng.uniform(*PITCH_RANGE)
    yaw = rng.uniform(*YAW_RANGE)
    open0 = rng.uniform(0.8, 1.0) if rng.uniform() < 0.85 else rng.uniform(0.3, 0.8)
    if rng.uniform() < 0.08:
        return EyeState(pitch, yaw, open0), EyeState(pitch, yaw, open0)
    dp = rng.uniform(-MAX_DELTA_PITCH, MAX_DELTA_PITCH)
    dy = rng.uniform(-MAX_DELTA_YAW, MAX_DELTA_YAW)
    pitch1 = float(np.clip(pitch + dp, PITCH_RANGE[0] - 5, PITCH_RANGE[1] + 5))
    yaw1 = float(np.clip(yaw + dy, YAW_RANGE[0] - 5, YAW_RANGE[1] + 5))
    ratio = 1.0
    if rng.uniform() < 0.25:
        ratio = 0.0 if rng.uniform() < 0.3 else rng.uniform(0, 1)
    return EyeState(pitch, yaw, open0), EyeState(pitch1, yaw1, open0 * ratio)


def render_pair(seed: int) -> Pair:
    """The same synthetic eye at two gaze directions / openings (deterministic from ``seed``)."""
    rng = np.random.default_rng(seed)
    app = sample_appearance(rng, seed)
    s0, s1 = sample_states(rng)
    ratio = s1.openness / s0.openness if s0.openness > 0 else 1.0
    cond = np.array([s1.pitch - s0.pitch, s1.yaw - s0.yaw, ratio], np.float32)
    return Pair(render_eye(app, s0, seed * 2 + 1), render_eye(app, s1, seed * 2 + 2), cond, app, s0, s1)


def contact_sheet(path: str, seed: int = 0, rows: int = 6) -> None:
    """A PNG of source/target pairs (4 pairs a row, 3x nearest upscale) for eyeballing."""
    tiles = []
    for s in range(seed, seed + rows * 4):
        pair = render_pair(s)
        tiles += [pair.source, pair.target]
    sheet = np.concatenate([np.concatenate(tiles[r * 8:(r + 1) * 8], 1) for r in range(rows)], 0)
    sheet = cv2.resize(sheet, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(path, sheet[:, :, ::-1])


def tidy_appearance(seed: int) -> Appearance:
    """A random eye without glasses, brow, highlights or camera noise: dark iris, light sclera.

    For tests and figures, where the iris must be easy to find.
    """
    app = sample_appearance(np.random.default_rng(seed), seed)
    return replace(app, glasses=None, brow=None, blur=0.0, noise=0.0, jpeg=None, gamma=1.0,
                   light_gain=1.0, light_grad=np.zeros(2), light_color=np.ones(3),
                   iris_inner=np.array([0.15, 0.1, 0.05]), iris_outer=np.array([0.2, 0.12, 0.06]),
                   sclera=np.array([0.9, 0.88, 0.85]), highlight_gain=0.0,
                   skin=np.array([0.8, 0.6, 0.5]), up_height=9.0, low_height=5.0)


def dark_centroid(img: np.ndarray) -> np.ndarray:
    """(x, y) centroid of the dark mass (iris and pupil) in the middle of the eye.

    Meant for tidy_appearance images: there only the iris, pupil and lid margin are that dark.
    """
    luma = img.astype(np.float32).mean(axis=2)
    win = luma[12:28, 14:50]
    weight = np.clip(140.0 - win, 0, None)
    weight[weight < 30] = 0
    ys, xs = np.mgrid[12:28, 14:50]
    return np.array([(weight * xs).sum(), (weight * ys).sum()]) / max(float(weight.sum()), 1e-6)
