"""Second-order real spherical harmonics and the irradiance of an SH environment.

Basis order (index: function of the unit direction (x, y, z)), the usual l-major, m-ascending
order with the standard real-SH normalization:

    0: Y00  = 0.282095                 4: Y2-2 = 1.092548 xy
    1: Y1-1 = 0.488603 y               5: Y2-1 = 1.092548 yz
    2: Y10  = 0.488603 z               6: Y20  = 0.315392 (3z² - 1)
    3: Y11  = 0.488603 x               7: Y21  = 1.092548 xz
                                       8: Y22  = 0.546274 (x² - y²)

Irradiance follows Ramamoorthi & Hanrahan, "An Efficient Representation for Irradiance
Environment Maps" (SIGGRAPH 2001): `E(n) = Σ Â_l L_lm Y_lm(n)` with the clamped-cosine band
factors Â0 = π, Â1 = 2π/3, Â2 = π/4, which expands to their constants
c1 = 0.429043, c2 = 0.511664, c3 = 0.743125, c4 = 0.886227, c5 = 0.247708. For an environment
band-limited to l ≤ 2 this is exact.
"""

from __future__ import annotations

import math

import torch

from render3d.errors import ShapeError

_Y = (0.282095, 0.488603, 1.092548, 0.315392, 0.546274)
SH_BAND_FACTORS = (math.pi, *([2 * math.pi / 3] * 3), *([math.pi / 4] * 5))


def sh_basis(dirs: torch.Tensor) -> torch.Tensor:
    """The 9 real SH basis functions (order in the module docstring) at unit directions.

    Args:
        dirs: `[..., 3]` unit vectors.

    Returns:
        `[..., 9]`.

    Example:
        >>> [round(v, 6) for v in sh_basis(torch.tensor([0.0, 0.0, 1.0])).tolist()]
        [0.282095, 0.0, 0.488603, 0.0, 0.0, 0.0, 0.630784, 0.0, 0.0]
    """
    if dirs.shape[-1] != 3:
        raise ShapeError(f"dirs must be [..., 3], got {list(dirs.shape)}")
    x, y, z = dirs.unbind(-1)
    return torch.stack([
        torch.full_like(x, _Y[0]), _Y[1] * y, _Y[1] * z, _Y[1] * x,
        _Y[2] * x * y, _Y[2] * y * z, _Y[3] * (3 * z * z - 1), _Y[2] * x * z, _Y[4] * (x * x - y * y),
    ], -1)


def sh_irradiance(normals: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Irradiance `E(n)` at unit normals from the radiance SH coefficients of the environment.

    Args:
        normals: `[B, ..., 3]` unit normals (world space, same frame as the coefficients).
        coeffs: `[B or 1, 9, C]` radiance coefficients `L_lm`, basis order of this module.

    Returns:
        `[B, ..., C]` irradiance (a uniform radiance L gives πL; not clamped at 0).

    Raises:
        ShapeError: wrong shapes or batch sizes.

    Example:
        >>> coeffs = torch.zeros(1, 9, 1); coeffs[0, 0] = 1 / 0.282095  # uniform radiance 1
        >>> round(sh_irradiance(torch.tensor([[0.0, 1.0, 0.0]]), coeffs).item(), 4)
        3.1416
    """
    if coeffs.dim() != 3 or coeffs.shape[1] != 9:
        raise ShapeError(f"SH coeffs must be [B or 1, 9, C], got {list(coeffs.shape)}")
    if normals.dim() < 2 or normals.shape[-1] != 3 or coeffs.shape[0] not in (1, normals.shape[0]):
        raise ShapeError(f"normals must be [B, ..., 3] with B matching coeffs {list(coeffs.shape)}, "
                         f"got {list(normals.shape)}")
    band = coeffs.new_tensor(SH_BAND_FACTORS)[None, :, None]
    weighted = (coeffs * band).to(normals)
    basis = sh_basis(normals).reshape(normals.shape[0], -1, 9)
    out = basis @ weighted.expand(normals.shape[0], -1, -1)
    return out.reshape(*normals.shape[:-1], coeffs.shape[-1])
