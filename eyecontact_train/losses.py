"""Training objectives.

Synthetic pairs have a known target: L1 on pixels plus L1 on image gradients (keeps the iris and
lid edges sharp rather than averaged). Real crops have none, so they get the unsupervised
cycle loss: redirecting by d and then by -d must give the input back. The identity loss (d = 0
returns the input) is kept as a measured check: the architecture makes it zero by construction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gradients(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return img[:, :, :, 1:] - img[:, :, :, :-1], img[:, :, 1:, :] - img[:, :, :-1, :]


def reconstruction(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    gx_p, gy_p = _gradients(pred)
    gx_t, gy_t = _gradients(target)
    return F.l1_loss(pred, target) + 0.5 * (F.l1_loss(gx_p, gx_t) + F.l1_loss(gy_p, gy_t))


def flow_smoothness(flow: torch.Tensor) -> torch.Tensor:
    """Total variation of the flow (pixels), so disoccluded areas get plausible motion."""
    gx, gy = _gradients(flow)
    return gx.abs().mean() + gy.abs().mean()


def cycle(model, crops: torch.Tensor, condition: torch.Tensor, there: torch.Tensor | None = None) -> torch.Tensor:
    """|| G(G(x, d), -d) - x ||_1 for gaze-only conditions (openness 1); ``there`` = G(x, d) if known."""
    if there is None:
        there = model(crops, condition)
    back_cond = torch.stack([-condition[:, 0], -condition[:, 1], torch.ones_like(condition[:, 2])], 1)
    back = model(there, back_cond)
    return reconstruction(back, crops)


def identity(model, crops: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros(crops.shape[0], 3, device=crops.device)
    zero[:, 2] = 1.0
    return F.l1_loss(model(crops, zero), crops)


def iris_flow(flow: torch.Tensor, mask: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |flow - target| (pixels) over ``mask``: the landmark-guided real-domain loss.

    Cycle consistency alone is also satisfied by leaving real eyes alone. On real crops the face
    mesh gives the iris centre, so the eyeball model says where the iris must go: every pixel of
    the moved iris disc must sample the input one shift back (flow = -shift).
    """
    err = (flow - target[:, :, None, None]).abs().sum(dim=1, keepdim=True)
    return (err * mask).sum() / mask.sum().clamp(min=1.0)


def translate(img: torch.Tensor, shift_px: torch.Tensor) -> torch.Tensor:
    """``img`` sampled one ``shift_px`` (N, 2; x, y pixels) away: out(p) = img(p + shift)."""
    n, _, h, w = img.shape
    theta = torch.zeros(n, 2, 3, device=img.device, dtype=img.dtype)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = shift_px[:, 0] * 2.0 / w
    theta[:, 1, 2] = shift_px[:, 1] * 2.0 / h
    grid = F.affine_grid(theta, [n, 3, h, w], align_corners=False)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)


def iris_pixels(out: torch.Tensor, crops: torch.Tensor, mask: torch.Tensor, flow_px: torch.Tensor) -> torch.Tensor:
    """Mean |out - input moved rigidly| over ``mask`` (the inner moved iris).

    The flow loss alone can be met while the blend mask or the colour correction hide the warp
    (and the cycle loss rewards exactly that); this one asks for the moved iris to be *visible*.
    """
    target = translate(crops, flow_px)
    err = (out - target).abs().mean(dim=1, keepdim=True)
    return (err * mask).sum() / mask.sum().clamp(min=1.0)
