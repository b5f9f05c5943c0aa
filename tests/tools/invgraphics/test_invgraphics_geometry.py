"""Cameras, template, texture lookup and exact augmentations of the inverse-graphics package."""

from __future__ import annotations

import math

import pytest
import torch

from render3d.cameras import Cameras, intrinsics_from_fov
from scenes.samples import RIGS, pose_cameras
from tools.errors import ToolError
from tools.invgraphics.augment import flip_views, zoom
from tools.invgraphics.camera import look_at_center, orbit_extrinsics, orbit_params, transfer
from tools.invgraphics.evaluate import hard_iou
from tools.invgraphics.predict import input_crop
from tools.invgraphics.template import SphereTemplate, direction_to_uv, sample_texture, symmetrize_texture

pytestmark = pytest.mark.usefixtures("one_thread")


def test_orbit_cameras_are_the_data_engines() -> None:
    poses = [(30.0, 10.0, 4.0), (-50.0, -15.0, -3.0), (170.0, 40.0, 0.0)]
    cams = pose_cameras("heads", poses, 64)
    rig = RIGS["heads"]
    center = torch.tensor(rig.center)
    params = torch.tensor([[*p, rig.distance] for p in poses])
    R, t = orbit_extrinsics(params, center)
    assert torch.allclose(R, cams.R, atol=1e-5) and torch.allclose(t, cams.t, atol=1e-5)
    assert torch.allclose(orbit_params(cams.R, cams.t, center), params, atol=1e-3)
    assert torch.allclose(look_at_center(cams.R, cams.t), center, atol=1e-4)


def test_transfer_moves_a_view_into_the_predicted_frame() -> None:
    a = torch.tensor([[40.0, 10.0, 0.0, 3.0]])
    b = torch.tensor([[70.0, 10.0, 0.0, 3.0]])
    # A prediction that calls view A "straight ahead" puts view B 30° further round.
    R, t = transfer(b, a, torch.tensor([[0.0, 10.0, 0.0, 3.0]]))
    R0, t0 = orbit_extrinsics(torch.tensor([[30.0, 10.0, 0.0, 3.0]]))
    assert torch.allclose(R, R0, atol=1e-5) and torch.allclose(t, t0, atol=1e-5)
    with pytest.raises(ToolError, match="two cameras"):
        look_at_center(R, t)


def test_template_mirror_and_symmetrized_offsets() -> None:
    t = SphereTemplate.build(2)
    assert torch.allclose(t.verts[t.mirror] * torch.tensor([-1.0, 1, 1]), t.verts, atol=1e-5)
    off = torch.randn(2, t.num_verts, 3)
    sym = t.symmetrize_offsets(off)
    assert torch.allclose(sym[:, t.mirror] * torch.tensor([-1.0, 1, 1]), sym, atol=1e-6)
    assert not torch.allclose(off[:, t.mirror] * torch.tensor([-1.0, 1, 1]), off, atol=1e-2)
    with pytest.raises(ToolError, match=r"0\.\.4"):
        SphereTemplate.build(7)


def test_texture_lookup_follows_longitude_and_latitude() -> None:
    uv = direction_to_uv(torch.tensor([[0.0, 0, 1], [1, 0, 0], [0, 1, 0]]))
    assert torch.allclose(uv, torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, -1.0]]), atol=1e-3)
    th, tw = 8, 16
    lon = (torch.arange(tw) + 0.5) / tw * 2 * math.pi - math.pi  # column centres
    tex = lon.view(1, 1, 1, tw).expand(1, 3, th, tw).clone()
    phi = torch.tensor([-2.0, 0.3, 1.5])
    dirs = torch.stack([torch.sin(phi), torch.zeros(3), torch.cos(phi)], -1)[None]
    got = sample_texture(tex, dirs)[0, :, 0]
    assert torch.allclose(got, phi, atol=1e-4)
    # Across the ±π seam the lookup blends the two edge columns, not a jump across the whole map.
    seam = sample_texture(tex, torch.tensor([[[0.0, 0.0, -1.0]]]))[0, 0, 0]
    assert abs(float(seam)) < 1e-4
    flipped = symmetrize_texture(tex)
    assert torch.allclose(flipped, torch.zeros_like(flipped), atol=1e-5)


def _sphere_masks(cams: Cameras) -> torch.Tensor:
    t = SphereTemplate.build(3)
    return hard_iou_cover(t.verts * 0.6, t.faces, cams)


def hard_iou_cover(verts: torch.Tensor, faces: torch.Tensor, cams: Cameras) -> torch.Tensor:
    from render3d.raster import RasterSettings, rasterize_meshes
    from render3d.structures import Meshes

    return rasterize_meshes(Meshes([verts] * len(cams), [faces] * len(cams)), cams, RasterSettings()).mask.float()


def _camera(K: torch.Tensor, params: torch.Tensor, size: int) -> Cameras:
    R, t = orbit_extrinsics(params)
    return Cameras(K, R, t, size, size)


def test_zoom_is_the_camera_with_a_longer_focal_length() -> None:
    K = intrinsics_from_fov(40, 48, 48)[None]
    cams = _camera(K, torch.tensor([[20.0, 10.0, 0.0, 3.0]]), 48)
    mask = _sphere_masks(cams)
    img = mask[..., None].expand(-1, -1, -1, 3)
    _, zm, K2 = zoom(img, mask, K, torch.zeros(1, 3), torch.tensor([1.3]))
    direct = _sphere_masks(Cameras(K2, cams.R, cams.t, 48, 48))
    inter = ((zm > 0.5).float() * direct).sum()
    assert float(inter / ((zm > 0.5).float() + direct - (zm > 0.5).float() * direct).sum()) > 0.97


def test_flip_is_the_mirrored_object_seen_by_mirrored_cameras() -> None:
    t = SphereTemplate.build(2)
    lump = t.verts * 0.5 + torch.tensor([0.25, 0.0, 0.0]) * (t.verts[:, :1] > 0.3)  # bulge toward +x
    K = intrinsics_from_fov(40, 32, 32)[None]
    p = torch.tensor([[35.0, 10.0, 5.0, 3.0]])
    mask = hard_iou_cover(lump, t.faces, _camera(K, p, 32))
    _, fm, fp, fK = flip_views(mask[:, None, ..., None].expand(-1, -1, -1, -1, 3), mask[:, None], p[:, None],
                               K[:, None], torch.tensor([True]))
    mirrored = lump * torch.tensor([-1.0, 1, 1])
    want = hard_iou_cover(mirrored, t.faces[:, [0, 2, 1]], _camera(fK[:, 0], fp[:, 0], 32))
    assert torch.allclose(fp[0, 0], torch.tensor([-35.0, 10.0, -5.0, 3.0]))
    assert float((fm[:, 0] - want).abs().mean()) < 0.002  # a wrong roll sign alone gives 0.01


def test_input_crop_is_an_exact_camera() -> None:
    K = intrinsics_from_fov(40, 96, 96)
    cams = _camera(K[None], torch.tensor([[0.0, 15.0, 0.0, 3.0]]), 96)
    mask = _sphere_masks(cams)[0]
    image = torch.full((96, 96, 3), 0.8)
    image[mask > 0.5] = torch.tensor([0.2, 0.4, 0.6])
    crop, cmask, Kc, bg = input_crop(image, mask, K, 32, fill=0.75)
    assert crop.shape == (32, 32, 3) and cmask.shape == (32, 32)
    assert torch.allclose(bg, torch.tensor([0.8, 0.8, 0.8]))
    direct = _sphere_masks(Cameras(Kc[None], cams.R, cams.t, 32, 32))[0]
    m = (cmask > 0.5).float()
    assert float((m * direct).sum() / (m + direct - m * direct).sum()) > 0.93
    # The mask's farthest pixel sits at 75% of the half side.
    assert abs(float(m.any(0).sum()) / 32 - 0.75) < 0.1
    with pytest.raises(ToolError, match="empty"):
        input_crop(image, torch.zeros(96, 96), K, 32)


def test_hard_iou_of_a_mesh_with_its_own_render_is_one() -> None:
    t = SphereTemplate.build(2)
    K = intrinsics_from_fov(40, 32, 32)[None].expand(2, 3, 3)
    cams = _camera(K, torch.tensor([[0.0, 0.0, 0.0, 3.0], [90.0, 20.0, 0.0, 3.0]]), 32)
    masks = hard_iou_cover(t.verts * 0.7, t.faces, cams)
    assert torch.allclose(hard_iou(t.verts * 0.7, t.faces, cams, masks), torch.ones(2))
    assert float(hard_iou(t.verts * 0.5, t.faces, cams, masks).max()) < 0.6
