"""OBJ face indices are 1-based: 0 and out-of-range indices are refused with the face line named, while
valid absolute, negative (relative) and v/vt/vn indices load unchanged."""

import pytest

from render3d.errors import MeshIOError
from render3d.io import load_mesh

TRI = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 0 1\n"


@pytest.mark.parametrize(("faces", "expected"), [
    ("f 1 2 3\nf 2 4 3\n", [[0, 1, 2], [1, 3, 2]]),
    ("f -4 -3 -2\n", [[0, 1, 2]]),
    ("f 1/1 2/2 3/3\n", [[0, 1, 2]]),
])
def test_valid_indices_load(tmp_path, faces, expected):
    path = tmp_path / "m.obj"
    path.write_text(TRI + faces)
    assert load_mesh(path).faces_packed().tolist() == expected


@pytest.mark.parametrize(("faces", "message"), [
    ("f 0 1 2\n", r"face 'f 0 1 2' uses index 0 \(OBJ indices start at 1\)"),
    ("f 1 2 3\nf 2 3 0\n", r"'f 2 3 0' uses index 0"),  # trimesh alone renders this as a face to the last vertex
    ("f 1 2 5\n", r"'f 1 2 5' uses index 5 but the file defines 4 vertices"),
    ("f 1 2 -5\n", r"uses index -5 but the file defines 4 vertices"),
    ("f 1/1 2/2 3/0\n", r"'f 1/1 2/2 3/0' uses index 0"),
    ("f 1/4 2/2 3/3\n", r"uses index 4 but the file defines 3 texture coordinates"),
    ("f 1 2 x\n", r"non-integer index 'x'"),
])
def test_bad_indices_are_refused_naming_the_face(tmp_path, faces, message):
    path = tmp_path / "m.obj"
    path.write_text(TRI + faces)
    with pytest.raises(MeshIOError, match=message):
        load_mesh(path)
