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
- `scenes.build` → `scenes.render`: specs into render3d objects, per-object passes composited by
  depth into rgb, depth, normals, mask, instance and albedo (`render`, `render_scene_file`);
  `scenes.outputs` writes the run directory.
- `scenes.samples` + `scenes.datagen`: random heads / shapes / scenes rendered into resumable
  multi-view datasets with ground-truth cameras, poses, depth, masks and meshes;
  `scenes.multiview`: that `neurender-multiview/1` layout (`scenes/DATASET.md`), its writers and
  `MultiviewDataset`, which reads it back as tensors and render3d cameras.
- `scenes.budget`: the memory a render needs, checked before building (huge scenes are refused).

Example:
    >>> from scenes.scene import Scene
    >>> from scenes.assets import HeadParams
    >>> from scenes.render import render
    >>> out = render(Scene().add_asset(HeadParams(seed=1)).orbit(frames=2).configure(width=32, height=32))
    >>> out.rgb.shape
    torch.Size([2, 32, 32, 3])
"""
