"""Shading: per-fragment attributes, lit shading models, SH irradiance, materials and the `Shader`."""

from render3d.shading.attributes import fragment_albedo, fragment_normals, fragment_points
from render3d.shading.functional import lambert, phong, shade_fragments, view_directions
from render3d.shading.materials import Materials
from render3d.shading.sh import sh_basis, sh_irradiance
from render3d.shading.shader import Shader

__all__ = [
    "Materials", "Shader", "fragment_albedo", "fragment_normals", "fragment_points", "lambert", "phong",
    "sh_basis", "sh_irradiance", "shade_fragments", "view_directions",
]
