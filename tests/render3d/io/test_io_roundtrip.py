import numpy as np
import pytest
import torch
import trimesh

from render3d.errors import InvalidMeshError, MeshIOError
from render3d.io import load_mesh, load_pointcloud, save_mesh, save_pointcloud
from render3d.structures import Meshes, Pointclouds


def _colored_box():
    box = trimesh.creation.box()
    colors = torch.rand(len(box.vertices), 3)
    return Meshes([torch.tensor(box.vertices, dtype=torch.float32)], [torch.tensor(box.faces)], vert_colors=[colors])


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".glb", ".stl", ".off"])
def test_mesh_roundtrip_geometry(tmp_path, suffix):
    m = _colored_box()
    save_mesh(tmp_path / f"box{suffix}", m)
    back = load_mesh(tmp_path / f"box{suffix}")
    # Same surface: every reloaded vertex lies on an original one and face counts match.
    assert back.faces_packed().shape == m.faces_packed().shape
    d = torch.cdist(back.verts_packed(), m.verts_packed()).min(1).values
    assert d.max() < 1e-5
    if suffix in (".ply", ".glb"):  # trimesh writes no OFF colors
        idx = torch.cdist(back.verts_packed(), m.verts_packed()).argmin(1)
        torch.testing.assert_close(back.vert_colors_packed(), m.vert_colors_packed()[idx], atol=1 / 255, rtol=0)


def test_textured_obj_roundtrip_keeps_texture(tmp_path):
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    uv = torch.tensor([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    tex = torch.zeros(8, 8, 3)
    tex[:4, :, 0] = 1.0  # top half red
    m = Meshes([v], [f], verts_uvs=[uv], faces_uvs=[f], textures=[tex])
    save_mesh(tmp_path / "quad.obj", m)
    assert {p.name for p in tmp_path.iterdir()} >= {"quad.obj", "quad.mtl"}
    back = load_mesh(tmp_path / "quad.obj")
    assert back.has_texture
    torch.testing.assert_close(back.textures_list()[0], tex, atol=1 / 255, rtol=0)
    assert back.faces_packed().shape == (2, 3)


@pytest.mark.parametrize("suffix", [".ply", ".xyz", ".npy"])
def test_pointcloud_roundtrip(tmp_path, suffix):
    pts = torch.rand(100, 3)
    cols = torch.rand(100, 3)
    nrm = torch.nn.functional.normalize(torch.randn(100, 3), dim=1)
    save_pointcloud(tmp_path / f"c{suffix}", Pointclouds([pts], features=[cols], normals=[nrm]))
    back = load_pointcloud(tmp_path / f"c{suffix}")
    torch.testing.assert_close(back.points_packed(), pts, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(back.features_packed(), cols, atol=1 / 255, rtol=0)
    torch.testing.assert_close(back.normals_packed(), nrm, atol=1e-6, rtol=1e-5)


def test_pcd_ascii_and_binary(tmp_path):
    pts = np.random.rand(20, 3).astype(np.float32)
    rgb = np.random.randint(0, 256, (20, 3)).astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    head = "VERSION .7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F U\nCOUNT 1 1 1 1\nWIDTH 20\nHEIGHT 1\n" \
           "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 20\n"
    lines = "\n".join(f"{x} {y} {z} {c}" for (x, y, z), c in zip(pts, packed, strict=True))
    (tmp_path / "a.pcd").write_text(head + "DATA ascii\n" + lines + "\n")
    rec = np.zeros(20, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
    rec["x"], rec["y"], rec["z"], rec["rgb"] = pts[:, 0], pts[:, 1], pts[:, 2], packed
    (tmp_path / "b.pcd").write_bytes((head + "DATA binary\n").encode() + rec.tobytes())
    for name in ("a.pcd", "b.pcd"):
        pc = load_pointcloud(tmp_path / name)
        np.testing.assert_allclose(pc.points_packed().numpy(), pts, atol=1e-6)
        np.testing.assert_allclose(pc.features_packed().numpy(), rgb / 255.0, atol=1e-6)


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(MeshIOError, match="no such file"):
        load_mesh(tmp_path / "missing.obj")
    (tmp_path / "junk.obj").write_text("this is not an obj\n")
    with pytest.raises((MeshIOError, InvalidMeshError)):
        load_mesh(tmp_path / "junk.obj")
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(InvalidMeshError, match="NaN"):
        load_mesh(tmp_path / "nan.obj")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    with pytest.raises(InvalidMeshError, match="no points"):
        load_pointcloud(tmp_path / "empty.npy")
    with pytest.raises(MeshIOError, match="unsupported"):
        save_mesh(tmp_path / "x.fbx", _colored_box())
    assert not (tmp_path / "x.fbx").exists()


def test_image_outputs(tmp_path):
    from PIL import Image

    from render3d.io import colorize_depth, contact_sheet, save_gif, save_npy, save_png

    img = torch.zeros(4, 6, 3)
    img[0, 0] = torch.tensor([1.0, 0.5, 0.0])
    save_png(tmp_path / "a.png", img)
    back = np.asarray(Image.open(tmp_path / "a.png"))
    assert back.shape == (4, 6, 3) and back[0, 0].tolist() == [255, 128, 0]
    save_npy(tmp_path / "d.npy", torch.arange(6.0).reshape(2, 3))
    assert np.load(tmp_path / "d.npy").tolist() == [[0, 1, 2], [3, 4, 5]]
    sheet = contact_sheet([img, img[..., :1], img], cols=2, pad=1)
    assert sheet.shape == (2 * 5 + 1, 2 * 7 + 1, 3)
    assert sheet[1, 1].tolist() == [1.0, 0.5, 0.0] and sheet[0, 0].tolist() == [1.0, 1.0, 1.0]
    depth = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    col = colorize_depth(depth)
    assert col[0, 0].tolist() == [0, 0, 0]  # background stays black
    assert col[0, 1, 0] > col[1, 1, 0]  # near is brighter (yellow) than far (purple) in red
    save_gif(tmp_path / "t.gif", [img, img * 0.5])
    assert Image.open(tmp_path / "t.gif").n_frames == 2
    assert not list(tmp_path.glob(".*"))  # no temp files left behind
