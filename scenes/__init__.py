"""scenes: scene files ⇄ typed specs, procedural assets, camera paths, scripted renders, datasets.

Where things live:

- `scenes.schema`: the pydantic models of a scene (objects, transforms, materials, lights,
  cameras and paths, render settings); `scenes.fileio`: `load_scene`, `save_scene`,
  `parse_scene` with errors naming file, field path and value (`scenes.errors.SceneFileError`).
- `scenes.scene.Scene`: the same model built in code, `Scene().add_mesh(...).add_light(...).orbit(...)`;
  `scenes.script.load_scene_script` runs a `.py` file that defines `scene` (`load_scene` does for `.py`).
- `scenes.assets`: primitives, superquadrics, procedural textures and the parametric head, each a
  seeded parameter model; `build_asset(params)`.
- `scenes.paths`: orbit / dolly / keyframed camera trajectories.
- `scenes.build` → `scenes.render`: specs into render3d objects, per-object passes (through the
  chosen backend's render task) composited by depth into rgb, depth, normals, mask, instance and
  albedo (`render` returns a `scenes.result.SceneRender`); `scenes.outputs.write_run` writes the
  run directory; `render_scene_file` loads, renders and writes.
- `scenes.samples` + `scenes.datagen`: random heads / shapes / scenes rendered into resumable
  multi-view datasets with ground-truth cameras, poses, depth, masks and meshes;
  `scenes.multiview`: that `neurender-multiview/1` layout (`scenes/DATASET.md`), its writers and
  `MultiviewDataset`, which reads it back as tensors and render3d cameras.
- `scenes.jobs`: batch jobs of independent tasks that each write one folder atomically (datagen, batch
  renders): resume, retries, progress, run here, on local processes or on Ray (`scenes.jobs.ray_runner`).
- `scenes.budget`: the memory a render needs, checked before building (huge scenes are refused).

Example:
    >>> from scenes import HeadParams, Scene, render
    >>> out = render(Scene().add_asset(HeadParams(seed=1)).orbit(frames=2).configure(width=32, height=32))
    >>> out.rgb.shape
    torch.Size([2, 32, 32, 3])
"""

from render3d.lazy import lazy_attributes

# `render` shares its name with the module `scenes.render`: bound eagerly, or importing that module
# (which sets the package attribute) would shadow the function.
from scenes.render import render

_LAZY = {
    **dict.fromkeys(["Scene"], "scenes.scene"),
    **dict.fromkeys(["load_scene", "parse_scene", "save_scene"], "scenes.fileio"),
    **dict.fromkeys(["load_scene_script"], "scenes.script"),
    **dict.fromkeys(["SceneSpec"], "scenes.schema"),
    **dict.fromkeys(["build_scene"], "scenes.build"),
    **dict.fromkeys(["render_scene_file"], "scenes.render"),
    **dict.fromkeys(["SceneRender"], "scenes.result"),
    **dict.fromkeys(["write_run"], "scenes.outputs"),
    **dict.fromkeys(["DatagenError", "SceneFileError"], "scenes.errors"),
    **dict.fromkeys(["BoxParams", "HeadParams", "IcosphereParams", "PlaneParams", "SphereParams", "TorusParams",
                     "build_asset"], "scenes.assets"),
    **dict.fromkeys(["DatagenConfig", "generate"], "scenes.datagen"),
    **dict.fromkeys(["MultiviewDataset"], "scenes.multiview"),
}

__all__ = [
    "BoxParams", "DatagenConfig", "DatagenError", "HeadParams", "IcosphereParams", "MultiviewDataset", "PlaneParams",
    "Scene",
    "SceneFileError", "SceneRender", "SceneSpec", "SphereParams", "TorusParams", "build_asset", "build_scene",
    "generate", "load_scene", "load_scene_script", "parse_scene", "render", "render_scene_file", "save_scene",
    "write_run",
]
__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)
