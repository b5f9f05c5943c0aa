"""Similarity alignment of point sets: Umeyama's closed form for paired points, and ICP for unpaired ones."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from render3d.errors import ShapeError


def _points(x: torch.Tensor, name: str, min_points: int) -> np.ndarray:
    if x.dim() != 2 or x.shape[1] != 3 or x.shape[0] < min_points:
        raise ShapeError(f"{name} must be [N, 3] with N >= {min_points}, got {list(x.shape)}")
    a = x.detach().cpu().double().numpy()
    if not np.isfinite(a).all():
        raise ShapeError(f"{name} holds non-finite values")
    return a


def _umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    U, S, Vt = np.linalg.svd(cov)
    # Reflection guard: the closest rotation, never a mirror.
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U) * np.linalg.det(Vt))])
    R = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / max((xs**2).sum() / len(src), 1e-12))
    return s, R, mu_d - s * R @ mu_s


def _result(s: float, R: np.ndarray, t: np.ndarray, like: torch.Tensor):
    return float(s), torch.from_numpy(R).to(like), torch.from_numpy(t).to(like)


def umeyama(src: torch.Tensor, dst: torch.Tensor) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Least-squares similarity `dst ≈ s R src + t` of paired points (Umeyama 1991).

    Args:
        src: `[N, 3]` points (N >= 3).
        dst: `[N, 3]` their partners.

    Returns:
        scale `s`, rotation `R: [3, 3]` (det +1) and translation `t: [3]`, in `src`'s dtype and device.

    Raises:
        ShapeError: shapes that are not `[N, 3]` alike, or non-finite points.

    Example:
        >>> src = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
        >>> s, R, t = umeyama(src, 2 * src + torch.tensor([1.0, 0, 0]))
        >>> round(s, 6), torch.allclose(R, torch.eye(3), atol=1e-6), t.round(decimals=6).tolist()
        (2.0, True, [1.0, 0.0, 0.0])
    """
    a, b = _points(src, "src", 3), _points(dst, "dst", 3)
    if a.shape != b.shape:
        raise ShapeError(f"src and dst must pair up, got {list(src.shape)} and {list(dst.shape)}")
    return _result(*_umeyama(a, b), src)


def similarity_icp(src: torch.Tensor, dst: torch.Tensor, iters: int = 40,
                   init: tuple[float, torch.Tensor, torch.Tensor] | None = None,
                   ) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Similarity ICP: the `(s, R, t)` moving `src` onto `dst`, nearest-neighbour pairs taken both ways.

    Pairing both ways (each moved source point with its nearest target point, and each target
    point with its nearest moved source point) keeps the scale from collapsing onto a part of
    the target, which one-way ICP with a free scale does.

    Args:
        src: `[N, 3]` points to move.
        dst: `[M, 3]` target points.
        iters: iterations (each re-pairs and solves `umeyama`).
        init: starting `(s, R, t)`; identity when None.

    Returns:
        scale, rotation `[3, 3]` and translation `[3]` with `dst ≈ s R src + t`.

    Raises:
        ShapeError: bad point sets or iters < 1.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> dst = torch.randn(300, 3, generator=g) * torch.tensor([1.0, 0.5, 0.25])
        >>> src = 0.8 * dst + 0.05
        >>> s, R, t = similarity_icp(src, dst)
        >>> round(s, 3), bool(((s * src @ R.T + t) - dst).abs().max() < 1e-4)
        (1.25, True)
    """
    if iters < 1:
        raise ShapeError(f"iters must be >= 1, got {iters}")
    a, b = _points(src, "src", 3), _points(dst, "dst", 3)
    if init is None:
        s, R, t = 1.0, np.eye(3), np.zeros(3)
    else:
        s, R, t = float(init[0]), init[1].detach().cpu().double().numpy(), init[2].detach().cpu().double().numpy()
    tree = cKDTree(b)
    for _ in range(iters):
        cur = s * a @ R.T + t
        _, i_sd = tree.query(cur)
        _, i_ds = cKDTree(cur).query(b)
        s, R, t = _umeyama(np.concatenate([a, a[i_ds]]), np.concatenate([b[i_sd], b]))
    return _result(s, R, t, src)
