import pytest
import torch

from render3d import Meshes
from render3d.errors import ShapeError
from render3d.fragments import Fragments
from render3d.texture import (
    MipmapTexture,
    mip_level,
    sample_mesh_textures,
    sample_texture,
    uv_screen_derivatives,
)


def _tex4() -> torch.Tensor:
    """4×4 single-channel texture whose value is 10·row + col (row 0 = top)."""
    r, c = torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij")
    return (10 * r + c)[..., None]


def _uv_of_texel(row: float, col: float, size: int = 4) -> list[float]:
    return [(col + 0.5) / size, 1 - (row + 0.5) / size]


def test_orientation_texel_centers_and_bilinear_midpoints():
    tex = _tex4()
    uv = torch.tensor([_uv_of_texel(0, 0), _uv_of_texel(3, 1), _uv_of_texel(1.5, 2.5)])
    assert sample_texture(uv, tex)[:, 0].tolist() == pytest.approx([0.0, 31.0, 17.5])


def test_wrap_modes():
    tex = _tex4()
    uv = torch.tensor([[0.125 + 1.0, 0.875], [0.125, 0.875 - 2.0]])
    assert sample_texture(uv, tex, wrap="repeat")[:, 0].tolist() == pytest.approx([0.0, 0.0])
    # Between the right edge column (3) and the wrapped left column (0) on row 0.
    edge = torch.tensor([[1.0, 0.875]])
    assert float(sample_texture(edge, tex, wrap="repeat")) == pytest.approx(1.5)
    assert float(sample_texture(edge, tex, wrap="clamp")) == pytest.approx(3.0)
    far = torch.tensor([[-3.0, 0.875], [0.125, 5.0]])
    assert sample_texture(far, tex, wrap="clamp")[:, 0].tolist() == pytest.approx([0.0, 0.0])


def test_mip_pyramid_levels_are_box_filtered():
    mip = MipmapTexture(_tex4())
    assert mip.num_levels == 3
    torch.testing.assert_close(mip.levels[1][..., 0], torch.tensor([[5.5, 7.5], [25.5, 27.5]]))
    assert float(mip.levels[2]) == pytest.approx(16.5)
    odd = MipmapTexture(torch.rand(5, 3, 2))
    assert [tuple(t.shape) for t in odd.levels] == [(5, 3, 2), (2, 1, 2), (1, 1, 2)]
    torch.testing.assert_close(odd.levels[-1].reshape(2), odd.levels[1].mean((0, 1)))


def test_trilinear_picks_level_from_footprint():
    mip = MipmapTexture(_tex4())
    uv = torch.tensor([_uv_of_texel(1.5, 1.5)])
    eye = torch.eye(2)[None]
    # Footprint of 1 texel → level 0; 2 texels → level 1; 4+ → the 1×1 level; sqrt(2) → halfway.
    for texels, expected in ((1, 16.5), (2, 16.5), (8, 16.5)):
        assert float(sample_texture(uv, mip, "trilinear", uv_grad=eye * texels / 4)) == pytest.approx(expected)
    uv_corner = torch.tensor([_uv_of_texel(0, 0)])
    lvl0 = 0.0
    lvl1 = float(sample_texture(uv_corner, mip.levels[1]))
    got = float(sample_texture(uv_corner, mip, "trilinear", uv_grad=eye * 2**0.5 / 4))
    assert got == pytest.approx(0.5 * lvl0 + 0.5 * lvl1)
    assert float(mip_level(eye * 2**0.5 / 4, (4, 4), 3)) == pytest.approx(0.5)


def test_minified_checkerboard_is_gray_with_filtering():
    """A 64-texel checkerboard seen at 8 px: bilinear aliases, trilinear and supersampling average."""
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None]) % 2).float()[..., None]
    px = (torch.arange(8.0) * 8 + 3.5) / 64  # every pixel hits a texel center of one parity
    u, v = torch.meshgrid(px, px, indexing="xy")
    uv = torch.stack([u, v], -1)[None, :, :, None]  # [1, 8, 8, 1, 2]
    grad = uv_screen_derivatives(uv, torch.ones(1, 8, 8, 1, dtype=torch.bool))
    bil = sample_texture(uv, checker, "bilinear")
    tri = sample_texture(uv, MipmapTexture(checker), "trilinear", uv_grad=grad)
    sup = sample_texture(uv, checker, "supersample", uv_grad=grad, samples_per_axis=8)
    assert float((bil - 0.5).abs().min()) == pytest.approx(0.5)
    assert float((tri - 0.5).abs().max()) < 0.02
    assert float((sup - 0.5).abs().max()) < 0.05


def test_screen_derivatives_skip_seams_and_holes():
    u = torch.arange(6.0) / 10
    u[3:] += 0.5  # a UV seam between columns 2 and 3
    uv = torch.stack([u, torch.zeros(6)], -1).view(1, 1, 6, 1, 2)
    valid = torch.ones(1, 1, 6, 1, dtype=torch.bool)
    valid[0, 0, 5] = False
    d = uv_screen_derivatives(uv, valid)
    assert d[0, 0, :5, 0, 0, 0].tolist() == pytest.approx([0.1] * 5)
    assert d[0, 0, 5].abs().sum() == 0
    assert d[..., 1, :].abs().sum() == 0  # one row: no y neighbors


def test_gradcheck_all_modes():
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(3, 4, 1, generator=g, dtype=torch.float64, requires_grad=True)
    uv = (torch.rand(4, 2, generator=g, dtype=torch.float64) * 1.4 - 0.2).requires_grad_(True)
    grad = torch.rand(4, 2, 2, generator=g, dtype=torch.float64) * 0.5
    combos = (("bilinear", "repeat"), ("bilinear", "clamp"), ("trilinear", "repeat"), ("supersample", "clamp"))
    for mode, wrap in combos:
        def f(t, u, mode=mode, wrap=wrap):
            return sample_texture(u, MipmapTexture(t), mode, wrap, uv_grad=grad)
        assert torch.autograd.gradcheck(f, (tex, uv)), (mode, wrap)


def test_per_mesh_textures_of_different_sizes():
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    f = torch.tensor([[0, 1, 2]])
    uvs = torch.tensor([[0.0, 0], [1, 0], [0, 1]])
    meshes = Meshes([v, v], [f, f], verts_uvs=[uvs, uvs], faces_uvs=[f, f],
                    textures=[torch.full((2, 2, 3), 0.25), torch.full((8, 4, 3), 0.75)])
    p2f = torch.tensor([[0, -1], [1, 1]]).view(2, 1, 2, 1)
    bary = torch.full((2, 1, 2, 1, 3), 1 / 3)
    frags = Fragments(p2f, bary, torch.ones(2, 1, 2, 1))
    for mode in ("bilinear", "trilinear", "supersample"):
        out = sample_mesh_textures(meshes, frags, mode)
        assert out.shape == (2, 1, 2, 1, 3)
        assert out[0, 0, 0, 0].tolist() == pytest.approx([0.25] * 3)
        assert out[0, 0, 1, 0].tolist() == [0.0] * 3
        assert out[1].flatten().tolist() == pytest.approx([0.75] * 6)
    mips = [MipmapTexture(t) for t in meshes.textures_list()]
    reused = sample_mesh_textures(meshes, frags, "trilinear", mipmaps=mips)
    torch.testing.assert_close(reused, sample_mesh_textures(meshes, frags, "trilinear"))
    with pytest.raises(ShapeError, match="mipmaps"):
        sample_mesh_textures(meshes, frags, "trilinear", mipmaps=mips[:1])


def test_errors():
    with pytest.raises(ShapeError, match="uv_grad"):
        sample_texture(torch.rand(3, 2), torch.rand(4, 4, 3), "trilinear")
    with pytest.raises(ShapeError, match="wrap"):
        sample_texture(torch.rand(3, 2), torch.rand(4, 4, 3), wrap="mirror")
    with pytest.raises(ShapeError, match="texture"):
        sample_texture(torch.rand(3, 2), torch.rand(4, 4))
