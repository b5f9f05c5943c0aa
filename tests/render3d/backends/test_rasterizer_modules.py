"""MeshRasterizer / PointsRasterizer pick their backend through the registry."""

import logging

import pytest
import torch
import trimesh

from render3d import Cameras, Meshes, Pointclouds, intrinsics_from_fov, look_at
from render3d.errors import BackendUnavailable
from render3d.points import PointsRasterizer, PointsRasterSettings
from render3d.raster import MeshRasterizer, RasterSettings


def _scene():
    ico = trimesh.creation.icosphere(subdivisions=2)
    mesh = Meshes([torch.tensor(ico.vertices, dtype=torch.float32)], [torch.tensor(ico.faces)])
    R, t = look_at(torch.tensor([[0.5, 0.4, 3.0]]), torch.zeros(1, 3))
    return mesh, Cameras(intrinsics_from_fov(50, 48, 48)[None], R, t, 48, 48)


def test_named_backends_agree_with_reference():
    pytest.importorskip("pytorch3d")
    mesh, cams = _scene()
    ref = MeshRasterizer(RasterSettings())(mesh, cams)
    p3d = MeshRasterizer(RasterSettings(), backend="pytorch3d")(mesh, cams)
    assert (ref.pix_to_face == p3d.pix_to_face).float().mean() > 0.999
    pc = Pointclouds([torch.tensor(trimesh.creation.icosphere(subdivisions=2).vertices, dtype=torch.float32)],
                     radius=0.05)
    a = PointsRasterizer(PointsRasterSettings(points_per_pixel=2))(pc, cams)
    b = PointsRasterizer(PointsRasterSettings(points_per_pixel=2), backend="pytorch3d")(pc, cams)
    assert (a.idx[..., 0] == b.idx[..., 0]).float().mean() > 0.999


def test_auto_reports_its_choice_and_missing_backends_raise(caplog):
    mesh, cams = _scene()
    with caplog.at_level(logging.INFO, logger="render3d.backends"):
        frags = MeshRasterizer(RasterSettings(), backend="auto")(mesh, cams)
    assert frags.mask.any()
    assert "auto -> torch" in caplog.text
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="nvdiffrast"):
            MeshRasterizer(RasterSettings(), backend="nvdiffrast")(mesh, cams)
    with pytest.raises(BackendUnavailable, match="rasterize_meshes"):
        MeshRasterizer(RasterSettings(), backend="pyrender")(mesh, cams)
