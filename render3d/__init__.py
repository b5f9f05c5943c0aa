"""render3d: differentiable mesh and point-cloud rendering in the OpenCV camera convention.

Images are `[B, H, W, C]` float32 in [0, 1], depth is camera z, masks are in [0, 1].

The verbs a user needs, from one place: structures and cameras (imported with the package), and —
imported on first use, so `import render3d` loads neither the backend registry nor file I/O — the
functional stages (`rasterize_meshes`, `interpolate`, `rasterize_points`, blends), the modules that
compose them (`MeshRasterizer`, `Shader(shading, blend)`, `MeshRenderer`, `PointsRasterizer`,
`PointsRenderer`), lights, losses, mesh/point I/O and the backend registry.

Example:
    >>> import torch
    >>> from render3d import Cameras, MeshRasterizer, MeshRenderer, Meshes, Shader, intrinsics_from_fov, look_at
    >>> R, t = look_at(torch.tensor([[0.0, 0, 3]]), torch.zeros(1, 3))
    >>> cams = Cameras(intrinsics_from_fov(60, 8, 8)[None], R, t, 8, 8)
    >>> tri = Meshes([torch.tensor([[-1.0, -1, 0], [1, -1, 0], [0, 1, 0]])], [torch.tensor([[0, 1, 2]])])
    >>> MeshRenderer(MeshRasterizer(), Shader("unlit"))(tri, cams).alpha[0, 4, 4].item()
    1.0
"""

from render3d.cameras import Cameras, intrinsics_from_fov, look_at, orbit
from render3d.errors import BackendUnavailable, InvalidMeshError, MeshIOError, Render3DError, ShapeError
from render3d.fragments import Fragments, PointFragments

# `interpolate` shares its name with the module `render3d.interpolate`: bound eagerly, or importing that
# module (which sets the package attribute) would shadow the function.
from render3d.interpolate import interpolate
from render3d.lazy import lazy_attributes
from render3d.output import RenderOutput
from render3d.render_settings import RenderSettings
from render3d.structures import Meshes, Pointclouds

_LAZY = {
    **dict.fromkeys(["rasterize_meshes"], "render3d.raster.rasterize"),
    **dict.fromkeys(["RasterSettings"], "render3d.raster.settings"),
    **dict.fromkeys(["MeshRasterizer"], "render3d.raster.rasterizer"),
    **dict.fromkeys(["interpolate_vertex_attrs"], "render3d.interpolate"),
    **dict.fromkeys(["SoftBlendSettings", "hard_rgb_blend", "sigmoid_alpha_blend", "softmax_rgb_blend"],
                    "render3d.blend"),
    **dict.fromkeys(["Materials"], "render3d.shading.materials"),
    **dict.fromkeys(["Shader"], "render3d.shading.shader"),
    **dict.fromkeys(["MeshRenderer"], "render3d.renderer"),
    **dict.fromkeys(["supersampled_cameras"], "render3d.buffers"),
    **dict.fromkeys(["PointsRasterSettings"], "render3d.points.settings"),
    **dict.fromkeys(["rasterize_points"], "render3d.points.rasterize"),
    **dict.fromkeys(["alpha_composite", "norm_weighted_composite"], "render3d.points.composite"),
    **dict.fromkeys(["PointsRasterizer", "PointsRenderer"], "render3d.points.renderer"),
    **dict.fromkeys(["AmbientLight", "DirectionalLight", "Lights", "PointLight", "SHLight"], "render3d.lights"),
    **dict.fromkeys(["chamfer_distance", "edge_length_loss", "laplacian_smoothing", "normal_consistency",
                     "silhouette_iou_loss"], "render3d.losses"),
    **dict.fromkeys(["load_mesh", "load_pointcloud", "save_mesh", "save_pointcloud"], "render3d.io"),
    **dict.fromkeys(["backend_names", "get_backend", "select_backend"], "render3d.backends"),
}

__all__ = [
    "AmbientLight", "BackendUnavailable", "Cameras", "DirectionalLight", "Fragments", "InvalidMeshError", "Lights",
    "Materials", "MeshIOError", "MeshRasterizer", "MeshRenderer", "Meshes", "PointFragments", "PointLight",
    "Pointclouds", "PointsRasterSettings", "PointsRasterizer", "PointsRenderer", "RasterSettings", "Render3DError",
    "RenderOutput", "RenderSettings", "SHLight", "Shader", "ShapeError", "SoftBlendSettings", "alpha_composite",
    "backend_names", "chamfer_distance", "edge_length_loss", "get_backend", "hard_rgb_blend", "interpolate",
    "interpolate_vertex_attrs", "intrinsics_from_fov", "laplacian_smoothing", "load_mesh", "load_pointcloud",
    "look_at", "norm_weighted_composite", "normal_consistency", "orbit", "rasterize_meshes", "rasterize_points",
    "save_mesh", "save_pointcloud", "select_backend", "sigmoid_alpha_blend", "silhouette_iou_loss",
    "softmax_rgb_blend", "supersampled_cameras",
]
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
