"""The public surface of render3d and scenes: exactly these names, each resolving, and cheap to import.

Changing what a package exports is a decision: update the pinned set here in the same change.
"""

import subprocess
import sys

import pytest

RENDER3D = {
    # structures, cameras, results (imported with the package)
    "Cameras", "Fragments", "Meshes", "PointFragments", "Pointclouds", "RenderOutput", "RenderSettings",
    "intrinsics_from_fov", "look_at", "orbit",
    "BackendUnavailable", "InvalidMeshError", "MeshIOError", "Render3DError", "ShapeError",
    # functional stages
    "rasterize_meshes", "RasterSettings", "interpolate", "interpolate_vertex_attrs", "rasterize_points",
    "PointsRasterSettings", "alpha_composite", "norm_weighted_composite", "SoftBlendSettings", "hard_rgb_blend",
    "sigmoid_alpha_blend", "softmax_rgb_blend", "supersampled_cameras",
    # modules
    "MeshRasterizer", "Shader", "Materials", "MeshRenderer", "PointsRasterizer", "PointsRenderer",
    # lights, losses, I/O, backends
    "AmbientLight", "DirectionalLight", "Lights", "PointLight", "SHLight",
    "chamfer_distance", "edge_length_loss", "laplacian_smoothing", "normal_consistency", "silhouette_iou_loss",
    "load_mesh", "load_pointcloud", "save_mesh", "save_pointcloud",
    "backend_names", "get_backend", "select_backend",
}

SCENES = {
    "Scene", "SceneSpec", "load_scene", "parse_scene", "save_scene", "load_scene_script", "build_scene",
    "render", "render_scene_file", "SceneRender", "write_run", "SceneFileError", "DatagenError",
    "BoxParams", "HeadParams", "IcosphereParams", "PlaneParams", "SphereParams", "TorusParams", "build_asset",
    "DatagenConfig", "generate", "MultiviewDataset",
}


@pytest.mark.parametrize("package,expected", [("render3d", RENDER3D), ("scenes", SCENES)])
def test_public_names_are_pinned_and_resolve(package, expected):
    module = __import__(package)
    assert set(module.__all__) == expected and len(module.__all__) == len(expected)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        module.nope  # noqa: B018


def test_verbs_are_the_functions_even_after_their_namesake_modules_are_imported():
    code = ("import render3d.interpolate, scenes.render, render3d, scenes\n"
            "from render3d.raster.rasterize import rasterize_meshes\n"
            "from render3d.renderer import MeshRenderer\n"
            "assert render3d.rasterize_meshes is rasterize_meshes and render3d.MeshRenderer is MeshRenderer\n"
            "assert render3d.interpolate.__module__ == 'render3d.interpolate' and callable(render3d.interpolate)\n"
            "assert scenes.render.__module__ == 'scenes.render'\n")
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_importing_render3d_loads_no_registry_io_or_module_layer():
    code = ("import sys, render3d\n"
            "heavy = ['render3d.backends', 'render3d.io', 'render3d.raster.rasterizer', 'render3d.renderer',\n"
            "         'render3d.shading', 'scenes', 'pydantic', 'trimesh']\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
