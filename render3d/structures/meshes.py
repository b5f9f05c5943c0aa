"""Batched triangle meshes with per-vertex attributes and UV textures.

Storage is packed (all meshes concatenated); padded views are derived on demand. Everything is
differentiable with respect to vertex positions, colors and textures.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import torch

from render3d.errors import InvalidMeshError, ShapeError
from render3d.structures.packing import as_list, pad_packed, split_sizes


class Meshes:
    """A batch of B triangle meshes.

    Args:
        verts: `[B, V, 3]` tensor or list of `[V_i, 3]` float tensors (world units).
        faces: `[B, F, 3]` tensor or list of `[F_i, 3]` integer tensors indexing that mesh's verts.
        vert_colors: optional `[B, V, C]` or list of `[V_i, C]` per-vertex colors/features.
        vert_normals: optional `[B, V, 3]` or list of `[V_i, 3]` normals; computed when absent.
        verts_uvs: optional list of `[T_i, 2]` UVs in [0, 1], origin at the texture's bottom-left
            (OBJ convention; texture row 0 is the image top).
        faces_uvs: optional list of `[F_i, 3]` indices into `verts_uvs` (required with `verts_uvs`).
        textures: optional `[B, Ht, Wt, C]` or list of `[Ht_i, Wt_i, C]` texture images in [0, 1].

    Raises:
        InvalidMeshError: empty meshes, non-finite vertices, face indices out of range.
        ShapeError: wrong ranks or trailing sizes, mismatched batch sizes.

    Example:
        >>> v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
        >>> m = Meshes([v], [torch.tensor([[0, 1, 2]])])
        >>> m.faces_packed().shape
        torch.Size([1, 3])
    """

    def __init__(
        self,
        verts: torch.Tensor | Sequence[torch.Tensor],
        faces: torch.Tensor | Sequence[torch.Tensor],
        *,
        vert_colors: torch.Tensor | Sequence[torch.Tensor] | None = None,
        vert_normals: torch.Tensor | Sequence[torch.Tensor] | None = None,
        verts_uvs: torch.Tensor | Sequence[torch.Tensor] | None = None,
        faces_uvs: torch.Tensor | Sequence[torch.Tensor] | None = None,
        textures: torch.Tensor | Sequence[torch.Tensor] | None = None,
    ) -> None:
        verts_l = as_list(verts, "verts", 3)
        faces_l = [f.long() for f in as_list(faces, "faces", 3)]
        if len(verts_l) != len(faces_l):
            raise ShapeError(f"verts has {len(verts_l)} meshes but faces has {len(faces_l)}")
        if len(verts_l) == 0:
            raise InvalidMeshError("Meshes needs at least one mesh")
        for i, (v, f) in enumerate(zip(verts_l, faces_l, strict=True)):
            if v.shape[0] == 0 or f.shape[0] == 0:
                raise InvalidMeshError(f"mesh {i} is empty ({v.shape[0]} verts, {f.shape[0]} faces)")
            if not torch.isfinite(v).all():
                raise InvalidMeshError(f"mesh {i} has non-finite (NaN/inf) vertex coordinates")
            if int(f.min()) < 0 or int(f.max()) >= v.shape[0]:
                raise InvalidMeshError(
                    f"mesh {i} face indices span [{int(f.min())}, {int(f.max())}] but it has {v.shape[0]} verts"
                )
        self._verts_list = [v if v.is_floating_point() else v.float() for v in verts_l]
        self._faces_list = faces_l
        self._vert_colors = self._per_vertex(vert_colors, "vert_colors", None)
        self._vert_normals = self._per_vertex(vert_normals, "vert_normals", 3)
        self._verts_uvs: list[torch.Tensor] | None = None
        self._faces_uvs: list[torch.Tensor] | None = None
        self._textures: list[torch.Tensor] | None = None
        if (verts_uvs is None) != (faces_uvs is None) or (verts_uvs is None) != (textures is None):
            raise ShapeError("verts_uvs, faces_uvs and textures must be given together")
        if verts_uvs is not None:
            self._verts_uvs = as_list(verts_uvs, "verts_uvs", 2)
            self._faces_uvs = [f.long() for f in as_list(faces_uvs, "faces_uvs", 3)]
            self._textures = as_list(textures, "textures", None, rank=3)
            for name, lst in (("verts_uvs", self._verts_uvs), ("faces_uvs", self._faces_uvs),
                              ("textures", self._textures)):
                if len(lst) != len(self):
                    raise ShapeError(f"{name} has {len(lst)} entries for {len(self)} meshes")
            for i, (fu, f, uv) in enumerate(zip(self._faces_uvs, faces_l, self._verts_uvs, strict=True)):
                if fu.shape != f.shape:
                    raise ShapeError(f"faces_uvs[{i}] has shape {tuple(fu.shape)}, faces {tuple(f.shape)}")
                if int(fu.min()) < 0 or int(fu.max()) >= uv.shape[0]:
                    raise InvalidMeshError(f"faces_uvs[{i}] indexes outside verts_uvs[{i}]")

    def _per_vertex(self, attr, name: str, width: int | None) -> list[torch.Tensor] | None:
        if attr is None:
            return None
        lst = as_list(attr, name, width)
        if len(lst) != len(self._verts_list):
            raise ShapeError(f"{name} has {len(lst)} entries for {len(self._verts_list)} meshes")
        for i, (a, v) in enumerate(zip(lst, self._verts_list, strict=True)):
            if a.shape[0] != v.shape[0]:
                raise ShapeError(f"{name}[{i}] has {a.shape[0]} rows for {v.shape[0]} verts")
        return lst

    def __len__(self) -> int:
        return len(self._verts_list)

    @property
    def device(self) -> torch.device:
        return self._verts_list[0].device

    # ---- lists and packed views -------------------------------------------------------------
    def verts_list(self) -> list[torch.Tensor]:
        """Per-mesh vertices, each `[V_i, 3]`."""
        return self._verts_list

    def faces_list(self) -> list[torch.Tensor]:
        """Per-mesh faces, each `[F_i, 3]` indexing that mesh's own verts."""
        return self._faces_list

    @cached_property
    def num_verts_per_mesh(self) -> torch.Tensor:
        """`[B]` long."""
        return torch.tensor([v.shape[0] for v in self._verts_list], device=self.device)

    @cached_property
    def num_faces_per_mesh(self) -> torch.Tensor:
        """`[B]` long."""
        return torch.tensor([f.shape[0] for f in self._faces_list], device=self.device)

    @cached_property
    def mesh_to_verts_first_idx(self) -> torch.Tensor:
        """`[B]` offset of each mesh's first vertex in the packed verts."""
        return torch.cumsum(self.num_verts_per_mesh, 0) - self.num_verts_per_mesh

    @cached_property
    def mesh_to_faces_first_idx(self) -> torch.Tensor:
        """`[B]` offset of each mesh's first face in the packed faces."""
        return torch.cumsum(self.num_faces_per_mesh, 0) - self.num_faces_per_mesh

    def verts_packed(self) -> torch.Tensor:
        """`[sum V_i, 3]`."""
        return torch.cat(self._verts_list, 0)

    @cached_property
    def _faces_packed(self) -> torch.Tensor:
        offs = self.mesh_to_verts_first_idx.tolist()
        return torch.cat([f + o for f, o in zip(self._faces_list, offs, strict=True)], 0)

    def faces_packed(self) -> torch.Tensor:
        """`[sum F_i, 3]` long, indexing the packed verts."""
        return self._faces_packed

    @cached_property
    def face_to_mesh_idx(self) -> torch.Tensor:
        """`[sum F_i]` long: the mesh each packed face belongs to."""
        return torch.repeat_interleave(torch.arange(len(self), device=self.device), self.num_faces_per_mesh)

    @cached_property
    def vert_to_mesh_idx(self) -> torch.Tensor:
        """`[sum V_i]` long: the mesh each packed vertex belongs to."""
        return torch.repeat_interleave(torch.arange(len(self), device=self.device), self.num_verts_per_mesh)

    def verts_padded(self) -> torch.Tensor:
        """`[B, max V_i, 3]`, zero padded."""
        return pad_packed(self.verts_packed(), self.num_verts_per_mesh, 0.0)

    def faces_padded(self) -> torch.Tensor:
        """`[B, max F_i, 3]` long indexing each mesh's own verts, padded with -1."""
        return pad_packed(torch.cat(self._faces_list, 0), self.num_faces_per_mesh, -1)

    def faces_verts_packed(self) -> torch.Tensor:
        """`[sum F_i, 3, 3]` vertex positions of every packed face."""
        return self.verts_packed()[self.faces_packed()]

    # ---- attributes ---------------------------------------------------------------------------
    @property
    def has_vert_colors(self) -> bool:
        return self._vert_colors is not None

    @property
    def has_texture(self) -> bool:
        return self._textures is not None

    def vert_colors_packed(self) -> torch.Tensor | None:
        """`[sum V_i, C]` or None."""
        return None if self._vert_colors is None else torch.cat(self._vert_colors, 0)

    def vert_colors_list(self) -> list[torch.Tensor] | None:
        return self._vert_colors

    def verts_uvs_list(self) -> list[torch.Tensor] | None:
        return self._verts_uvs

    def faces_uvs_list(self) -> list[torch.Tensor] | None:
        return self._faces_uvs

    def textures_list(self) -> list[torch.Tensor] | None:
        """Per-mesh texture images `[Ht_i, Wt_i, C]` in [0, 1], row 0 at the top."""
        return self._textures

    def faces_uvs_packed(self) -> torch.Tensor | None:
        """`[sum F_i, 3, 2]` UVs at each packed face's corners, or None."""
        if self._verts_uvs is None or self._faces_uvs is None:
            return None
        return torch.cat([uv[f] for uv, f in zip(self._verts_uvs, self._faces_uvs, strict=True)], 0)

    def faces_normals_packed(self) -> torch.Tensor:
        """`[sum F_i, 3]` unit face normals (counter-clockwise winding seen from outside)."""
        fv = self.faces_verts_packed()
        n = torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1)
        return torch.nn.functional.normalize(n, dim=1, eps=1e-12)

    def verts_normals_packed(self) -> torch.Tensor:
        """`[sum V_i, 3]` the given normals, else area-weighted averages of adjacent face normals."""
        if self._vert_normals is not None:
            return torch.cat(self._vert_normals, 0)
        fv = self.faces_verts_packed()
        area_n = torch.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1)
        n = torch.zeros_like(self.verts_packed())
        faces = self.faces_packed()
        for k in range(3):
            n = n.index_add(0, faces[:, k], area_n)
        return torch.nn.functional.normalize(n, dim=1, eps=1e-12)

    # ---- derived meshes -------------------------------------------------------------------------
    def _with(self, **changes) -> Meshes:
        kwargs = dict(
            verts=self._verts_list, faces=self._faces_list, vert_colors=self._vert_colors,
            vert_normals=self._vert_normals, verts_uvs=self._verts_uvs, faces_uvs=self._faces_uvs,
            textures=self._textures,
        )
        kwargs.update(changes)
        return Meshes(**kwargs)

    def update_packed(self, verts_packed: torch.Tensor) -> Meshes:
        """A mesh batch with the same topology and new vertex positions `[sum V_i, 3]`.

        Given normals are dropped (they no longer match); colors, UVs and textures are kept.
        """
        if verts_packed.shape != (int(self.num_verts_per_mesh.sum()), 3):
            raise ShapeError(f"verts_packed must be [{int(self.num_verts_per_mesh.sum())}, 3], "
                             f"got {list(verts_packed.shape)}")
        return self._with(verts=split_sizes(verts_packed, self.num_verts_per_mesh), vert_normals=None)

    def offset_verts(self, offsets_packed: torch.Tensor) -> Meshes:
        """Vertices moved by `offsets_packed: [sum V_i, 3]`."""
        return self.update_packed(self.verts_packed() + offsets_packed)

    def with_vert_colors(self, colors: torch.Tensor | Sequence[torch.Tensor]) -> Meshes:
        """The same meshes with new per-vertex colors (`[B, V, C]` or list of `[V_i, C]`)."""
        return self._with(vert_colors=colors)

    def with_texture(self, verts_uvs, faces_uvs, textures) -> Meshes:
        """The same meshes with a UV texture (see the constructor for shapes)."""
        return self._with(verts_uvs=verts_uvs, faces_uvs=faces_uvs, textures=textures)

    def _map_lists(self, fn) -> Meshes:
        """A new batch built by applying `fn(list) -> list` to every per-mesh list."""
        def f(lst):
            return None if lst is None else fn(lst)
        return Meshes(
            f(self._verts_list), f(self._faces_list), vert_colors=f(self._vert_colors),
            vert_normals=f(self._vert_normals), verts_uvs=f(self._verts_uvs),
            faces_uvs=f(self._faces_uvs), textures=f(self._textures),
        )

    def extend(self, n: int) -> Meshes:
        """Each mesh repeated `n` times in order: batch `[m0 x n, m1 x n, ...]`."""
        return self._map_lists(lambda lst: [x for x in lst for _ in range(n)])

    def __getitem__(self, i: int) -> Meshes:
        return self._map_lists(lambda lst: [lst[i]])

    def to(self, device: torch.device | str) -> Meshes:
        return self._map_lists(lambda lst: [x.to(device) for x in lst])

    def bounding_boxes(self) -> torch.Tensor:
        """`[B, 2, 3]` per-mesh (min, max) corners."""
        return torch.stack([torch.stack([v.min(0).values, v.max(0).values]) for v in self._verts_list])
