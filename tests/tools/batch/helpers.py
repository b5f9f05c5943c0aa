"""Inputs the batch tests share: two small colored clouds and tiny pc2img weights (not the shipped ones:
the batch mechanism is under test, not the model)."""

from pathlib import Path

import torch
import trimesh

from render3d.io import save_pointcloud
from render3d.structures import Pointclouds
from tools.pc2img.model import Pc2ImgConfig, Pc2ImgModel
from tools.pc2img.weights import save_weights


def write_clouds_and_weights(folder: Path) -> Path:
    """`folder/c0.ply`, `folder/c1.ply` (a sphere and a box, 600 colored points) and `folder/w.safetensors`."""
    for k, mesh in enumerate((trimesh.creation.icosphere(2), trimesh.creation.box())):
        pts, _ = trimesh.sample.sample_surface_even(mesh, 600, seed=k)
        colors = torch.rand(len(pts), 3, generator=torch.Generator().manual_seed(k))
        save_pointcloud(folder / f"c{k}.ply", Pointclouds([torch.tensor(pts, dtype=torch.float32)], features=[colors]))
    torch.manual_seed(0)
    model = Pc2ImgModel(Pc2ImgConfig(vis_channels=4, coarse_channels=4, refiner_channels=4, depth=1))
    return save_weights(folder / "w.safetensors", model)
