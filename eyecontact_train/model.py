"""The warping network: crops + (delta_pitch, delta_yaw, openness) -> redirected crops.

DeepWarp / ECC-Net style: a small U-Net predicts a coarse flow (1/4 resolution) refined at half
and full resolution, a per-pixel colour correction (for sclera/skin that a warp cannot uncover)
and a blend mask. The output is ``input + mask * (warp(input, flow) + correction - input)``.

Identity by construction: the network predicts one flow and one correction *per condition
component* and mixes them linearly with the gates (dp/20, dy/25, 1 - openness). A zero delta with
openness 1 therefore gives exactly zero flow and zero correction, whatever the weights are, and the
bilinear sampler on the unchanged pixel grid returns the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from eyecontact.eyecrop import CROP_H, CROP_W

# Condition scaling: the gates are about 1 at the edge of the trained range.
PITCH_SCALE = 20.0
YAW_SCALE = 25.0
FLOW_SCALE = 4.0  # pixels of flow per unit network output and unit gate
N_GATES = 3


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.1))


def gates(condition: torch.Tensor) -> torch.Tensor:
    """(N, 3) degrees/openness -> (N, 3) gates that are all zero for 'no change'."""
    return torch.stack([condition[:, 0] / PITCH_SCALE, condition[:, 1] / YAW_SCALE,
                        1.0 - condition[:, 2]], dim=1)


def _mix(fields: torch.Tensor, g: torch.Tensor, per_gate: int) -> torch.Tensor:
    """Sum over gates of gate_k * fields[:, k*per_gate:(k+1)*per_gate]."""
    out = fields[:, 0:per_gate] * g[:, 0:1, None, None]
    for k in range(1, N_GATES):
        out = out + fields[:, k * per_gate:(k + 1) * per_gate] * g[:, k:k + 1, None, None]
    return out


class GazeWarpNet(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        cin = 3 + N_GATES + 2  # RGB, gate planes, pixel coordinates
        self.enc1 = nn.Sequential(_conv(cin, w, 2), _conv(w, w))  # 20x32
        self.enc2 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))  # 10x16
        self.enc3 = nn.Sequential(_conv(2 * w, 3 * w, 2), _conv(3 * w, 3 * w))  # 5x8
        self.dec2 = _conv(3 * w + 2 * w, 2 * w)  # 10x16
        self.flow2 = nn.Conv2d(2 * w, 2 * N_GATES, 1)
        self.dec1 = _conv(2 * w + w, w + w // 2)  # 20x32
        self.flow1 = nn.Conv2d(w + w // 2, 2 * N_GATES, 1)
        self.dec0 = _conv(w + w // 2 + 3, w)  # full resolution, sees the sharp input
        self.head0 = nn.Conv2d(w, 2 * N_GATES + 3 * N_GATES + 1, 1)
        for head in (self.flow2, self.flow1, self.head0):
            nn.init.normal_(head.weight, std=1e-3)
            nn.init.zeros_(head.bias)
        ys = (torch.arange(CROP_H, dtype=torch.float32) + 0.5) / CROP_H * 2 - 1
        xs = (torch.arange(CROP_W, dtype=torch.float32) + 0.5) / CROP_W * 2 - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        self.register_buffer("coords", torch.stack([gx, gy])[None], persistent=False)  # (1,2,H,W)
        self.register_buffer("base_grid", torch.stack([gx, gy], dim=-1)[None], persistent=False)
        # Pixels -> normalised grid units (align_corners=False).
        self.register_buffer("px_to_grid", torch.tensor([2.0 / CROP_W, 2.0 / CROP_H]).view(1, 1, 1, 2),
                             persistent=False)
        # Leave the outermost pixels alone so the pasted crop has no visible seam.
        taper_y = torch.clamp(torch.minimum(torch.arange(CROP_H), torch.arange(CROP_H).flip(0)).float() / 2, 0, 1)
        taper_x = torch.clamp(torch.minimum(torch.arange(CROP_W), torch.arange(CROP_W).flip(0)).float() / 2, 0, 1)
        self.register_buffer("taper", (taper_y[:, None] * taper_x[None, :])[None, None], persistent=False)

    def forward(self, crops: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        out, _ = self.forward_with_flow(crops, condition)
        return out

    def forward_with_flow(self, crops: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = crops.shape[0]
        g = gates(condition)
        planes = g[:, :, None, None].expand(n, N_GATES, CROP_H, CROP_W)
        coords = self.coords.expand(n, 2, CROP_H, CROP_W)
        x = torch.cat([crops * 2 - 1, planes, coords], dim=1)
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([F.interpolate(e3, scale_factor=2.0, mode="nearest"), e2], 1))
        flow = _mix(self.flow2(d2), g, 2)
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0, mode="nearest"), e1], 1))
        flow = F.interpolate(flow, scale_factor=2.0, mode="bilinear", align_corners=False) + _mix(self.flow1(d1), g, 2)
        d0 = self.dec0(torch.cat([F.interpolate(d1, scale_factor=2.0, mode="bilinear", align_corners=False),
                                  crops], 1))
        head = self.head0(d0)
        flow = F.interpolate(flow, scale_factor=2.0, mode="bilinear", align_corners=False) \
            + _mix(head[:, 0:2 * N_GATES], g, 2)
        flow = flow * FLOW_SCALE  # pixels
        correction = _mix(head[:, 2 * N_GATES:5 * N_GATES], g, 3)
        mask = torch.sigmoid(head[:, 5 * N_GATES:5 * N_GATES + 1] + 2.0) * self.taper
        grid = self.base_grid + flow.permute(0, 2, 3, 1) * self.px_to_grid
        warped = F.grid_sample(crops, grid, mode="bilinear", padding_mode="border", align_corners=False)
        out = crops + mask * (warped + correction - crops)
        return out.clamp(0.0, 1.0), flow
