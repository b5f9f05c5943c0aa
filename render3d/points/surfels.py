"""Oriented point splats (surfels): disks lying in each point's tangent plane, seen through pixel rays.

A camera-facing disk sticks out of an object's silhouette by up to its radius, so a cloud whose disks
are large enough to close the gaps between points grows a halo of one disk radius. A disk in the
tangent plane is seen edge-on at the silhouette and does not (Pfister et al., "Surfels", 2000; Zwicker
et al., "Surface splatting", 2001).

For a disk with camera-space center `C`, normal `n` and radius `r`, the pixel ray through
`(u0 + U, v0 + V)` ((u0, v0) the projected center) meets the disk's plane at `X` with

    X - C = (U α + V β) / q,   q = q0 + U qu + V qv,

where, for perspective cameras with `d(u, v) = K⁻¹ (u, v, 1)`, `w = n·C`, `α = w ∂d/∂u - (n·∂d/∂u) C`,
`β = w ∂d/∂v - (n·∂d/∂v) C`, `q0 = w / z`, `qu = n·∂d/∂u`, `qv = n·∂d/∂v` (orthographic cameras: `q = 1`
and `α`, `β` the in-plane steps of one pixel). The pixel is covered when `|X - C| < r`, the inside of
the conic `|U α + V β|² < r² q²`, an ellipse on screen. `dists = |X - C|² / r²` is the squared distance
to the center over the squared radius, as for camera-facing disks.

Disks seen edge-on cover no pixel. Disks reaching behind the camera and points without a usable normal
are drawn camera-facing instead.
"""

from __future__ import annotations

import torch

from render3d.elementwise import dot, transform

# An oriented disk whose ellipse is thinner than this (minor/major axis ratio, via the normalized
# determinant) is seen edge-on: it covers no pixel, its neighbours cover the surface there.
_MIN_ROUNDNESS = 1e-3


def surfel_terms(center: torch.Tensor, normal: torch.Tensor, radius: torch.Tensor, K: torch.Tensor,
                 orthographic: bool) -> dict[str, torch.Tensor]:
    """Per-disk terms of the ray-plane intersection (see the module docstring), each `[n]` (or `[n, 3]`).

    Args:
        center: `[n, 3]` camera-space disk centers.
        normal: `[n, 3]` camera-space normals (any length; the sign does not matter).
        radius: `[n]` world radii.
        K: `[3, 3]` intrinsics (last row 0, 0, 1).
        orthographic: orthographic camera.

    Returns:
        `u0, v0, z` (projected center and depth), `alpha, beta` (`[n, 3]`), `q0, qu, qv`, `radius`, and
        `oriented` (bool: the disk is drawn in its plane; otherwise camera-facing).
    """
    fx, s, fy = K[0, 0], K[0, 1], K[1, 1]
    x, y, z = center.unbind(1)
    zero = torch.zeros_like(z)
    # pixel steps of the ray direction (perspective) or the ray origin (orthographic), camera space
    du = torch.stack([zero + 1 / fx, zero, zero], 1)
    dv = torch.stack([zero - s / (fx * fy), zero + 1 / fy, zero], 1)
    qu, qv = dot(normal, du), dot(normal, dv)
    if orthographic:
        u0, v0 = fx * x + s * y + K[0, 2], fy * y + K[1, 2]
        nz = normal[:, 2]
        safe_nz = torch.where(nz != 0, nz, torch.ones_like(nz))
        ez = torch.stack([zero, zero, zero + 1], 1)
        alpha = du - (qu / safe_nz)[:, None] * ez
        beta = dv - (qv / safe_nz)[:, None] * ez
        length = dot(normal, normal).sqrt()
        # seen edge-on (n_z = 0): q0 = 0 marks the conic as no ellipse, so the disk covers nothing
        q0 = (nz.abs() > 1e-6 * length).to(z.dtype)
        return dict(u0=u0, v0=v0, z=z, alpha=alpha, beta=beta, q0=q0, qu=zero, qv=zero, radius=radius,
                    oriented=length > 0)
    safe_z = torch.where(z != 0, z, torch.ones_like(z))
    u0, v0 = (fx * x + s * y) / safe_z + K[0, 2], fy * y / safe_z + K[1, 2]
    w = dot(normal, center)
    alpha = w[:, None] * du - qu[:, None] * center
    beta = w[:, None] * dv - qv[:, None] * center
    q0 = w / safe_z
    # a disk reaching behind the camera (z <= r) has no bounded image: drawn camera-facing. Seen edge-on
    # (w = 0), alpha and beta are parallel and the conic is no ellipse: it covers nothing.
    usable = (dot(normal, normal) > 0) & (z > radius)
    return dict(u0=u0, v0=v0, z=z, alpha=alpha, beta=beta, q0=q0, qu=qu, qv=qv, radius=radius, oriented=usable)


def surfel_conic(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients `[5, n]` (a, 2b, c, 2d, 2e) of the normalized conic `a U² + 2b UV + c V² + 2d U + 2e V < 1`
    that holds exactly on the covered pixels, and the `[n]` bool of disks whose conic is a proper ellipse
    (not seen edge-on). Meaningful where `t["oriented"]`."""
    alpha, beta, q0, qu, qv, r = t["alpha"], t["beta"], t["q0"], t["qu"], t["qv"], t["radius"]
    rq2 = (r * q0) * (r * q0)
    safe = torch.where(rq2 > 0, rq2, torch.ones_like(rq2))
    r2 = r * r
    a = (dot(alpha, alpha) - r2 * qu * qu) / safe
    b = (dot(alpha, beta) - r2 * qu * qv) / safe
    c = (dot(beta, beta) - r2 * qv * qv) / safe
    d = -qu / torch.where(q0 != 0, q0, torch.ones_like(q0))
    e = -qv / torch.where(q0 != 0, q0, torch.ones_like(q0))
    det = a * c - b * b
    ellipse = (rq2 > 0) & (a > 0) & (det > _MIN_ROUNDNESS * _MIN_ROUNDNESS * a * c)
    return torch.stack([a, 2 * b, c, 2 * d, 2 * e]), ellipse


def ellipse_bounds(conic: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Center offset `(Uc, Vc)` and half extents `(hu, hv)` in pixels, each `[n]`, of proper ellipses `[5, n]`."""
    a, b2, c, d2, e2 = conic
    b, d, e = b2 / 2, d2 / 2, e2 / 2
    det = a * c - b * b
    safe = torch.where(det > 0, det, torch.ones_like(det))
    uc = (b * e - c * d) / safe
    vc = (b * d - a * e) / safe
    # Q(U, V) = (U - Uc, V - Vc) M (U - Uc, V - Vc)ᵀ + d Uc + e Vc, so Q < 1 inside (..)ᵀ M (..) < g
    g = (1 - d * uc - e * vc).clamp(min=0)
    return uc, vc, (g * c / safe).sqrt(), (g * a / safe).sqrt()


def surfel_dists(t: dict[str, torch.Tensor], U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """`|X - C|² / r²` `[n]` at pixel offsets `U, V` `[n]` from the projected centers (differentiable)."""
    p = U[:, None] * t["alpha"] + V[:, None] * t["beta"]
    q = t["q0"] + U * t["qu"] + V * t["qv"]
    rq = t["radius"] * q
    return dot(p, p) / (rq * rq)


def project_surfels(points: torch.Tensor, normals: torch.Tensor, radius: torch.Tensor, K: torch.Tensor,
                    R: torch.Tensor, t: torch.Tensor, orthographic: bool, znear: float,
                    min_radius_px: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Selection rows `[9, n]` (u, v, z, r_px, then the conic `a, 2b, c, 2d, 2e`) and surfel terms of one camera.

    The world radius is first raised so the disk spans at least `min_radius_px` on screen (its major
    axis). Disks that cannot be drawn oriented get the conic of a camera-facing disk of `r_px`
    (`a = c = 1 / r_px²`). Element-wise arithmetic only, so a subset of points gives bit-identical rows.
    """
    center = transform(points, R, t)
    normal = transform(normals, R)
    fx = K[0, 0].abs()
    z = center[:, 2]
    safe_z = z.clamp(min=znear)
    floor = min_radius_px / fx if orthographic else min_radius_px * safe_z / fx
    r = torch.maximum(radius, floor)
    terms = surfel_terms(center, normal, r, K, orthographic)
    conic, ellipse = surfel_conic(terms)
    oriented = terms["oriented"]
    ellipse = ellipse & oriented
    r_px = fx * r if orthographic else fx * r / safe_z
    inv = 1 / (r_px * r_px)
    zero = torch.zeros_like(inv)
    conic = torch.where(ellipse[None], conic, torch.stack([inv, zero, inv, zero, zero]))
    # an edge-on disk covers nothing: a depth below any znear drops it from the selection
    shown_z = torch.where(oriented & ~ellipse, torch.full_like(z, -torch.inf), z)
    terms.update(ellipse=ellipse, r_px=r_px)
    return torch.cat([torch.stack([terms["u0"], terms["v0"], shown_z, r_px]), conic]), terms


def fragment_dists(t: dict[str, torch.Tensor], px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """`dists` `[n]` of fragments at pixel centers `(px, py)` (pixel index + 0.5), one per disk of `t`.

    Below 1 for every fragment: the selection tests the same inequality in its conic form, whose
    rounding may admit a pixel exactly on the rim.
    """
    U, V = px - t["u0"], py - t["v0"]
    ellipse = t["ellipse"]
    # q = 1 and r = 1 where the disk is drawn camera-facing, so no inf/NaN reaches the gradients
    keep = dict(alpha=t["alpha"], beta=t["beta"], q0=torch.where(ellipse, t["q0"], 1.0),
                qu=torch.where(ellipse, t["qu"], 0.0), qv=torch.where(ellipse, t["qv"], 0.0),
                radius=torch.where(ellipse, t["radius"], 1.0))
    oriented = surfel_dists(keep, U, V)
    facing = (U * U + V * V) / (t["r_px"] * t["r_px"])
    below_one = torch.nextafter(torch.ones((), dtype=U.dtype, device=U.device), torch.zeros((), dtype=U.dtype,
                                                                                           device=U.device))
    return torch.where(ellipse, oriented, facing).clamp(max=below_one)
