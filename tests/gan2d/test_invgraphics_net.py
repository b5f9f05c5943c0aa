"""The inverse-graphics encoder's texture path: the object's masked mean color reaches the texture."""

from __future__ import annotations

import pytest
import torch

from gan2d.nets.invgraphics import InverseGraphicsConfig, InverseGraphicsNet, mean_color

pytestmark = pytest.mark.usefixtures("one_thread")


def _disks(colors: torch.Tensor, size: int = 16) -> torch.Tensor:
    """`[N, 3]` colors in [0, 1] → `[N, 4, S, S]` network inputs: a disk of each color on grey, and its mask."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disk = (((yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2) < (size / 3) ** 2).float()
    rgb = 0.5 + disk * (colors[:, :, None, None] - 0.5)
    return torch.cat([rgb * 2 - 1, disk.expand(len(colors), 1, size, size) * 2 - 1], 1)


def test_mean_color_reads_only_the_masked_object() -> None:
    colors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.2, 0.9]])
    images = _disks(colors)
    assert torch.allclose(mean_color(images), colors * 2 - 1, atol=1e-6)
    # Without a mask channel: the whole image, background included.
    assert torch.allclose(mean_color(images[:, :3]), images[:, :3].mean((2, 3)))


def test_texture_learns_to_follow_the_input_hue() -> None:
    torch.manual_seed(0)
    net = InverseGraphicsNet(InverseGraphicsConfig(num_verts=12, resolution=16, base_channels=8, max_channels=16,
                                                   shape_dim=8, texture_dim=8, hidden=16, texture_size=(8, 16),
                                                   texture_channels=16))
    colors = torch.tensor([[0.9, 0.2, 0.3], [0.1, 0.3, 0.9], [0.2, 0.8, 0.2], [0.9, 0.8, 0.3]])
    images = _disks(colors)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(150):
        loss = (net(images)["texture"].mean((2, 3)) - colors).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        err = (net(images)["texture"].mean((2, 3)) - colors).abs().max()
    assert float(err) < 0.1
