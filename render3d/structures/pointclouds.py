"""Batched point clouds with features, normals and per-point radii."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import torch

from render3d.errors import InvalidMeshError, ShapeError
from render3d.structures.packing import as_list, pad_packed, split_sizes


class Pointclouds:
    """A batch of B point clouds.

    Args:
        points: `[B, N, 3]` or list of `[N_i, 3]` positions.
        features: optional `[B, N, C]` or list of `[N_i, C]` (colors in [0, 1] when C = 3).
        normals: optional `[B, N, 3]` or list of `[N_i, 3]`.
        radius: per-point splat radius in world units: a float for all points, or `[B, N]` /
            list of `[N_i]`.

    Raises:
        InvalidMeshError: empty clouds, non-finite points, non-positive radius.
        ShapeError: wrong shapes or mismatched batch sizes.

    Example:
        >>> pc = Pointclouds(torch.rand(2, 100, 3), features=torch.rand(2, 100, 3), radius=0.01)
        >>> pc.points_packed().shape
        torch.Size([200, 3])
    """

    def __init__(
        self,
        points: torch.Tensor | Sequence[torch.Tensor],
        *,
        features: torch.Tensor | Sequence[torch.Tensor] | None = None,
        normals: torch.Tensor | Sequence[torch.Tensor] | None = None,
        radius: float | torch.Tensor | Sequence[torch.Tensor] = 0.01,
    ) -> None:
        pts = [p if p.is_floating_point() else p.float() for p in as_list(points, "points", 3)]
        if not pts:
            raise InvalidMeshError("Pointclouds needs at least one cloud")
        for i, p in enumerate(pts):
            if p.shape[0] == 0:
                raise InvalidMeshError(f"point cloud {i} is empty")
            if not torch.isfinite(p).all():
                raise InvalidMeshError(f"point cloud {i} has non-finite (NaN/inf) coordinates")
        self._points = pts
        self._features = self._per_point(features, "features", None)
        self._normals = self._per_point(normals, "normals", 3)
        if isinstance(radius, (int, float)):
            if not radius > 0:
                raise InvalidMeshError(f"radius must be > 0, got {radius}")
            self._radius = [torch.full((p.shape[0],), float(radius), device=p.device) for p in pts]
        else:
            self._radius = self._per_point(radius, "radius", None, rank=1)
            if any(bool((r <= 0).any()) for r in self._radius):
                raise InvalidMeshError("every point radius must be > 0")

    def _per_point(self, attr, name: str, width: int | None, rank: int = 2) -> list[torch.Tensor] | None:
        if attr is None:
            return None
        lst = as_list(attr, name, width, rank=rank)
        if len(lst) != len(self._points):
            raise ShapeError(f"{name} has {len(lst)} entries for {len(self._points)} clouds")
        for i, (a, p) in enumerate(zip(lst, self._points, strict=True)):
            if a.shape[0] != p.shape[0]:
                raise ShapeError(f"{name}[{i}] has {a.shape[0]} rows for {p.shape[0]} points")
        return lst

    def __len__(self) -> int:
        return len(self._points)

    @property
    def device(self) -> torch.device:
        return self._points[0].device

    def points_list(self) -> list[torch.Tensor]:
        return self._points

    def features_list(self) -> list[torch.Tensor] | None:
        return self._features

    def normals_list(self) -> list[torch.Tensor] | None:
        return self._normals

    @cached_property
    def num_points_per_cloud(self) -> torch.Tensor:
        """`[B]` long."""
        return torch.tensor([p.shape[0] for p in self._points], device=self.device)

    @cached_property
    def cloud_to_packed_first_idx(self) -> torch.Tensor:
        """`[B]` offset of each cloud's first point in the packed points."""
        return torch.cumsum(self.num_points_per_cloud, 0) - self.num_points_per_cloud

    @cached_property
    def packed_to_cloud_idx(self) -> torch.Tensor:
        """`[sum N_i]` long: the cloud each packed point belongs to."""
        return torch.repeat_interleave(torch.arange(len(self), device=self.device), self.num_points_per_cloud)

    def points_packed(self) -> torch.Tensor:
        """`[sum N_i, 3]`."""
        return torch.cat(self._points, 0)

    def features_packed(self) -> torch.Tensor | None:
        """`[sum N_i, C]` or None."""
        return None if self._features is None else torch.cat(self._features, 0)

    def normals_packed(self) -> torch.Tensor | None:
        """`[sum N_i, 3]` or None."""
        return None if self._normals is None else torch.cat(self._normals, 0)

    def radius_packed(self) -> torch.Tensor:
        """`[sum N_i]` world-space radii."""
        return torch.cat(self._radius, 0)

    def points_padded(self) -> torch.Tensor:
        """`[B, max N_i, 3]`, zero padded."""
        return pad_packed(self.points_packed(), self.num_points_per_cloud, 0.0)

    def _map_lists(self, fn) -> Pointclouds:
        def f(lst):
            return None if lst is None else fn(lst)
        return Pointclouds(f(self._points), features=f(self._features), normals=f(self._normals),
                           radius=f(self._radius))

    def update_packed(self, points_packed: torch.Tensor) -> Pointclouds:
        """Same clouds with new positions `[sum N_i, 3]` (features, normals and radii kept)."""
        n = int(self.num_points_per_cloud.sum())
        if points_packed.shape != (n, 3):
            raise ShapeError(f"points_packed must be [{n}, 3], got {list(points_packed.shape)}")
        return Pointclouds(split_sizes(points_packed, self.num_points_per_cloud), features=self._features,
                           normals=self._normals, radius=self._radius)

    def with_features(self, features: torch.Tensor | Sequence[torch.Tensor]) -> Pointclouds:
        return Pointclouds(self._points, features=features, normals=self._normals, radius=self._radius)

    def extend(self, n: int) -> Pointclouds:
        """Each cloud repeated `n` times in order."""
        return self._map_lists(lambda lst: [x for x in lst for _ in range(n)])

    def __getitem__(self, i: int) -> Pointclouds:
        return self._map_lists(lambda lst: [lst[i]])

    def to(self, device: torch.device | str) -> Pointclouds:
        return self._map_lists(lambda lst: [x.to(device) for x in lst])

    def bounding_boxes(self) -> torch.Tensor:
        """`[B, 2, 3]` per-cloud (min, max) corners."""
        return torch.stack([torch.stack([p.min(0).values, p.max(0).values]) for p in self._points])
