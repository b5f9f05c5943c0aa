"""nvdiffrast adapter: clip-space, row-order, triangle-id and barycentric conversions (CPU, by emulating
nvdiffrast's documented output), and the real CUDA path against the reference (GPU only)."""

import pytest
import torch

from render3d import Cameras, Meshes, look_at
from render3d.backends.nvdiffrast import (
    clip_positions,
    clip_projection,
    decode_triangle_id,
    fragments_from_rast,
    front_facing,
)
from render3d.errors import ShapeError


def _sphere_scene(B=1, H=32, W=40, ortho=False):
    import trimesh

    ico = trimesh.creation.icosphere(1, radius=0.8)
    v, f = torch.tensor(ico.vertices, dtype=torch.float32), torch.tensor(ico.faces)
    v = v * torch.tensor([1.0, 0.7, 1.0]) + torch.tensor([0.1, 0.0, 0.0])
    R, t = look_at(torch.tensor([[0.4, 0.5, 3.0]] * B), torch.zeros(B, 3))
    K = torch.tensor([[30.0, 0.5, 19.0], [0, 32.0, 17.0], [0, 0, 1]]).expand(B, 3, 3).clone()
    if ortho:
        K[:, 0, 0] = K[:, 1, 1] = 12.0
    return Meshes([v] * B, [f] * B), Cameras(K, R, t, W, H, orthographic=ortho)


def _emulate_nvdiffrast(pos, tri, ranges, H, W):
    """nvdiffrast.rasterize semantics: [B, H, W, 4] (u, v, z/w, triangle_id + 1), row 0 at y_ndc = -1."""
    B = ranges.shape[0]
    out = torch.zeros(B, H, W, 4, dtype=torch.float64)
    zbest = torch.full((B, H, W), float("inf"), dtype=torch.float64)
    y, x = torch.meshgrid((torch.arange(H) + 0.5) / H * 2 - 1, (torch.arange(W) + 0.5) / W * 2 - 1, indexing="ij")
    pos = pos.double()
    for b, (start, count) in enumerate(ranges.tolist()):
        for f in range(start, start + count):
            p = pos[tri[f].long()]
            w = p[:, 3]
            n = p[:, :3] / w[:, None]
            (x0, y0), (x1, y1), (x2, y2) = n[:, :2].tolist()
            area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
            s1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) / area
            s2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) / area
            s0 = 1 - s1 - s2
            inside = (s0 >= 0) & (s1 >= 0) & (s2 >= 0)
            zw = s0 * n[0, 2] + s1 * n[1, 2] + s2 * n[2, 2]
            q = torch.stack([s0 / w[0], s1 / w[1], s2 / w[2]], -1)
            bary = q / q.sum(-1, keepdim=True)
            win = inside & (zw < zbest[b]) & (zw >= -1) & (zw <= 1)
            zbest[b] = torch.where(win, zw, zbest[b])
            val = torch.stack([bary[..., 0], bary[..., 1], zw, torch.full_like(zw, f + 1.0)], -1)
            out[b] = torch.where(win[..., None], val, out[b])
    return [out.float()]


def _emulated_fragments(meshes, cams, perspective_correct=True, cull=False):
    pos, cam_z = clip_positions(meshes, cams)
    faces, counts, face_map = meshes.faces_packed(), meshes.num_faces_per_mesh, None
    if cull:
        face_map = front_facing(meshes, cams).nonzero()[:, 0]
        faces = faces[face_map]
        counts = torch.bincount(meshes.face_to_mesh_idx[face_map], minlength=len(meshes))
    ranges = torch.stack([torch.cumsum(counts, 0) - counts, counts], 1).int()
    layers = _emulate_nvdiffrast(pos, faces.int(), ranges, cams.height, cams.width)
    return fragments_from_rast(layers, faces, cam_z, face_map, perspective_correct or cams.orthographic)


@pytest.mark.parametrize("ortho", [False, True])
def test_clip_projection_reproduces_our_pixels(ortho):
    meshes, cams = _sphere_scene(ortho=ortho)
    cam = cams.world_to_camera(meshes.verts_packed()[None])[0]
    P = clip_projection(cams, 0.5, 10.0)[0]
    clip = torch.cat([cam, torch.ones(len(cam), 1)], 1) @ P.T
    ndc = clip[:, :3] / clip[:, 3:]
    u, v = (ndc[:, 0] + 1) * cams.width / 2, (1 - ndc[:, 1]) * cams.height / 2
    uvz = cams.camera_to_pixels(cam[None])[0]
    assert torch.allclose(torch.stack([u, v], 1), uvz[:, :2], atol=1e-4)
    near_far = torch.tensor([[0.0, 0, 0.5, 1], [0, 0, 10.0, 1]]) @ P.T
    assert torch.allclose(near_far[:, 2] / near_far[:, 3], torch.tensor([-1.0, 1.0]), atol=1e-6)
    with pytest.raises(ShapeError):
        clip_projection(cams, 1.0, 0.5)


def test_triangle_ids_decode_including_bitcast_range():
    big = torch.tensor([0x4A800000 + 20_000_001], dtype=torch.int32).view(torch.float32)
    ids = decode_triangle_id(torch.cat([torch.tensor([0.0, 1.0, 16777216.0]), big]))
    assert ids.tolist() == [-1, 0, 16777215, 20_000_000]


def test_rows_flip_bary_order_and_depth():
    raw = torch.zeros(1, 2, 3, 4)
    raw[0, 0, 1] = torch.tensor([0.2, 0.3, 0.0, 2.0])  # bottom row, face 1
    faces = torch.tensor([[0, 1, 2], [1, 2, 3]])
    z = torch.tensor([1.0, 2.0, 4.0, 8.0])
    fr = fragments_from_rast([raw], faces, z, None, True)
    assert fr.pix_to_face[0, :, :, 0].tolist() == [[-1, -1, -1], [-1, 1, -1]]  # now the last row
    assert torch.allclose(fr.bary[0, 1, 1, 0], torch.tensor([0.2, 0.3, 0.5]))  # u→v0, v→v1, 1-u-v→v2
    assert fr.zbuf[0, 1, 1, 0].item() == pytest.approx(0.2 * 2 + 0.3 * 4 + 0.5 * 8)
    assert fr.zbuf[0, 0, 0, 0] == -1 and fr.dists is None
    screen = fragments_from_rast([raw], faces, z, None, False).bary[0, 1, 1, 0]
    bz = torch.tensor([0.2 * 2, 0.3 * 4, 0.5 * 8])
    assert torch.allclose(screen, bz / bz.sum())
    mapped = fragments_from_rast([raw], faces, z, torch.tensor([5, 9]), True)
    assert mapped.pix_to_face[0, 1, 1, 0] == 9


@pytest.mark.parametrize(("ortho", "persp", "cull"), [(False, True, False), (False, False, True), (True, True, False)])
def test_emulated_nvdiffrast_matches_pytorch3d_adapter(ortho, persp, cull):
    pytest.importorskip("pytorch3d")
    from render3d.backends.pytorch3d import rasterize_meshes_pytorch3d

    meshes, cams = _sphere_scene(B=2, ortho=ortho)
    ours = _emulated_fragments(meshes, cams, persp, cull)
    ref = rasterize_meshes_pytorch3d(meshes, cams, perspective_correct=persp, cull_backfaces=cull)
    same = ours.pix_to_face == ref.pix_to_face
    assert same.float().mean() >= 0.999 and ours.mask.any()
    both = same & (ref.pix_to_face >= 0)
    assert ((ours.bary - ref.bary).abs().amax(-1)[both] < 1e-3).float().mean() >= 0.999
    assert ((ours.zbuf - ref.zbuf).abs()[both] < 1e-3).float().mean() >= 0.999


gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="nvdiffrast needs CUDA; no GPU here")


@pytest.mark.gpu
@gpu
def test_cuda_parity_with_reference_and_context_reuse():
    from render3d.backends import get_backend
    from render3d.raster import RasterSettings

    meshes, cams = _sphere_scene(B=2, H=96, W=128)
    meshes, cams = meshes.to("cuda"), cams.to("cuda")
    nv = get_backend("nvdiffrast")
    fr = nv.rasterize_meshes(meshes, cams, RasterSettings())
    ref = get_backend("torch").rasterize_meshes(meshes, cams, RasterSettings())
    assert (fr.pix_to_face == ref.pix_to_face).float().mean() >= 0.999
    both = (fr.pix_to_face == ref.pix_to_face) & ref.mask[..., None]
    assert ((fr.bary - ref.bary).abs().amax(-1)[both] < 1e-3).float().mean() >= 0.999
    assert ((fr.zbuf - ref.zbuf).abs()[both] < 1e-3).float().mean() >= 0.999
    assert nv.context(torch.device("cuda")) is nv.context(torch.device("cuda", torch.cuda.current_device()))
    frame = nv.rasterize(meshes, cams)
    color = frame.interpolate(torch.rand(meshes.verts_packed().shape[0], 3, device="cuda"))
    assert color.shape == (2, 96, 128, 3) and (color[~fr.mask] == 0).all()
    assert frame.antialias(color).shape == color.shape
