"""Scene scripts: a Python file that builds a scene in code (`neurender render my_scene.py`).

The script runs with its own folder as the working directory (so relative asset paths resolve
against it, as in scene files) and must leave a `Scene` or `SceneSpec` in a global named `scene`.

Example script:

    from scenes.scene import Scene
    from scenes.assets import HeadParams
    scene = Scene("portrait").add_asset(HeadParams(seed=3)).orbit(frames=12, distance=2.8)
"""

from __future__ import annotations

import contextlib
import os
import runpy
from pathlib import Path

from scenes.errors import SceneFileError
from scenes.scene import Scene
from scenes.schema import SceneSpec


def load_scene_script(path: str | os.PathLike) -> SceneSpec:
    """Run a scene script and return its validated scene.

    Raises:
        SceneFileError: missing file, no `scene` global, or a `scene` of the wrong type. Errors the
            script itself raises propagate unchanged (they are the script's own tracebacks).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise SceneFileError(f"{path}: no such scene script")
    with contextlib.chdir(path.parent):
        namespace = runpy.run_path(str(path), run_name="__scene__")
        scene = namespace.get("scene")
        if isinstance(scene, Scene):
            return scene.spec()
    if isinstance(scene, SceneSpec):
        return scene
    raise SceneFileError(f"{path}: a scene script must define `scene` as a Scene or SceneSpec, "
                         f"got {type(scene).__name__}")
