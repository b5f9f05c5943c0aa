"""Connectivity of a mesh batch (edges, edge→face adjacency, vertex neighbors), computed once.

Mesh fitting moves vertices but keeps faces, so the regularizers in `render3d.losses` take a
`MeshTopology` built once before the loop instead of re-deriving edges every iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch

from render3d.errors import ShapeError
from render3d.structures import Meshes


@dataclass(frozen=True)
class MeshTopology:
    """Packed connectivity of B meshes; every index refers to the batch's packed verts/faces.

    Attributes:
        num_verts_per_mesh: vertex count of each mesh (to check a batch still matches).
        num_faces_per_mesh: face count of each mesh.
        edges: `[E, 2]` long, unique undirected edges `(i, j)` with `i < j`, grouped by mesh.
        edge_to_mesh: `[E]` long, the mesh each edge belongs to.
        num_edges_per_mesh: `[B]` long.
        face_to_edges: `[F, 3]` long, the edge opposite each face corner (corner k ↔ edge
            between corners k+1 and k+2).
        edge_to_faces: `[E, 2]` long, the first two faces on each edge; -1 where an edge has
            fewer (boundary edges have one).
        face_pairs: `[P, 2]` long, every pair of faces sharing an edge (all pairs on
            non-manifold edges).
        pair_edges: `[P]` long, the edge each pair shares.
        pair_opposite: `[P, 2]` long, each face's vertex not on the shared edge.
        neighbor_offsets: `[V + 1]` long CSR offsets: vertex v's neighbors are
            `neighbors[neighbor_offsets[v]:neighbor_offsets[v + 1]]`.
        neighbors: `[2E]` long, neighbor vertex indices, sorted by source vertex.
        neighbor_sources: `[2E]` long, the source vertex of each `neighbors` entry.

    Example:
        >>> m = Meshes([torch.rand(4, 3)], [torch.tensor([[0, 1, 2], [0, 2, 3]])])
        >>> topo = MeshTopology.from_meshes(m)
        >>> topo.edges.shape, topo.face_pairs.tolist()
        (torch.Size([5, 2]), [[0, 1]])
    """

    num_verts_per_mesh: tuple[int, ...]
    num_faces_per_mesh: tuple[int, ...]
    edges: torch.Tensor
    edge_to_mesh: torch.Tensor
    num_edges_per_mesh: torch.Tensor
    face_to_edges: torch.Tensor
    edge_to_faces: torch.Tensor
    face_pairs: torch.Tensor
    pair_edges: torch.Tensor
    pair_opposite: torch.Tensor
    neighbor_offsets: torch.Tensor
    neighbors: torch.Tensor
    neighbor_sources: torch.Tensor

    @classmethod
    @torch.no_grad()
    def from_meshes(cls, meshes: Meshes) -> MeshTopology:
        """Derive the connectivity of `meshes` (vertex positions are not used)."""
        faces = meshes.faces_packed()
        device = faces.device
        F = faces.shape[0]
        V = int(meshes.num_verts_per_mesh.sum())
        # Directed corner edges: slot k joins corners k+1 and k+2, i.e. lies opposite corner k.
        a = faces[:, [1, 2, 0]]
        b = faces[:, [2, 0, 1]]
        lo, hi = torch.minimum(a, b).reshape(-1), torch.maximum(a, b).reshape(-1)
        keys = lo * V + hi
        uniq, inverse = torch.unique(keys, sorted=True, return_inverse=True)
        edges = torch.stack([uniq // V, uniq % V], 1)
        E = edges.shape[0]
        vert_mesh = meshes.vert_to_mesh_idx
        edge_to_mesh = vert_mesh[edges[:, 0]]
        face_to_edges = inverse.view(F, 3)

        # Faces on each edge, grouped by edge via a stable sort of the 3F (edge, face) slots.
        slot_edge, order = torch.sort(inverse, stable=True)
        slot_face = torch.div(order, 3, rounding_mode="floor")
        slot_corner = order % 3
        counts = torch.bincount(slot_edge, minlength=E)
        starts = torch.cumsum(counts, 0) - counts
        edge_to_faces = torch.full((E, 2), -1, dtype=torch.long, device=device)
        for k in range(2):
            has = counts > k
            edge_to_faces[has, k] = slot_face[starts[has] + k]
        pairs, pair_edges, opposite = [], [], []
        max_count = int(counts.max())
        for i in range(max_count):
            for j in range(i + 1, max_count):
                e = torch.nonzero(counts > j).squeeze(1)
                si, sj = starts[e] + i, starts[e] + j
                pairs.append(torch.stack([slot_face[si], slot_face[sj]], 1))
                pair_edges.append(e)
                opposite.append(torch.stack([faces[slot_face[si], slot_corner[si]],
                                             faces[slot_face[sj], slot_corner[sj]]], 1))
        empty = torch.zeros(0, 2, dtype=torch.long, device=device)
        face_pairs = torch.cat(pairs, 0) if pairs else empty
        pair_edges_t = torch.cat(pair_edges, 0) if pair_edges else empty[:, 0]
        pair_opposite = torch.cat(opposite, 0) if opposite else empty

        src = torch.cat([edges[:, 0], edges[:, 1]])
        dst = torch.cat([edges[:, 1], edges[:, 0]])
        src, order = torch.sort(src, stable=True)
        dst = dst[order]
        deg = torch.bincount(src, minlength=V)
        offsets = torch.cat([torch.zeros(1, dtype=torch.long, device=device), torch.cumsum(deg, 0)])
        return cls(
            num_verts_per_mesh=tuple(meshes.num_verts_per_mesh.tolist()),
            num_faces_per_mesh=tuple(meshes.num_faces_per_mesh.tolist()),
            edges=edges, edge_to_mesh=edge_to_mesh,
            num_edges_per_mesh=torch.bincount(edge_to_mesh, minlength=len(meshes)),
            face_to_edges=face_to_edges, edge_to_faces=edge_to_faces, face_pairs=face_pairs,
            pair_edges=pair_edges_t, pair_opposite=pair_opposite, neighbor_offsets=offsets,
            neighbors=dst, neighbor_sources=src,
        )

    @property
    def num_meshes(self) -> int:
        return len(self.num_verts_per_mesh)

    def vertex_degrees(self) -> torch.Tensor:
        """`[V]` long, number of distinct neighbors of each packed vertex."""
        return self.neighbor_offsets[1:] - self.neighbor_offsets[:-1]

    def vertex_neighbors(self, v: int) -> torch.Tensor:
        """`[deg_v]` long, the neighbors of packed vertex `v`."""
        return self.neighbors[self.neighbor_offsets[v]:self.neighbor_offsets[v + 1]]

    def check(self, meshes: Meshes) -> None:
        """Raise `ShapeError` unless `meshes` has the vertex and face counts this was built for.

        Faces themselves are not compared (that would cost as much as rebuilding); the caller
        promises the same topology.
        """
        nv = tuple(meshes.num_verts_per_mesh.tolist())
        nf = tuple(meshes.num_faces_per_mesh.tolist())
        if nv != self.num_verts_per_mesh or nf != self.num_faces_per_mesh:
            raise ShapeError(f"topology was built for meshes with verts {list(self.num_verts_per_mesh)} / faces "
                             f"{list(self.num_faces_per_mesh)}, got verts {list(nv)} / faces {list(nf)}")
        if meshes.device != self.edges.device:
            raise ShapeError(f"topology lives on {self.edges.device} but meshes on {meshes.device}; "
                             "call topology.to(device)")

    def to(self, device: torch.device | str) -> MeshTopology:
        """A copy with every tensor on `device`."""
        moved = {f.name: getattr(self, f.name).to(device) for f in fields(self)
                 if isinstance(getattr(self, f.name), torch.Tensor)}
        return replace(self, **moved)
