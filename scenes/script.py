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
import traceback
from pathlib import Path

from scenes.errors import SceneFileError
from scenes.scene import Scene
from scenes.schema import SceneSpec


def _where(path: Path, e: BaseException) -> str:
    """`path:line` of the script's own line the error came from (its last frame in the script)."""
    line = getattr(e, "lineno", None) if isinstance(e, SyntaxError) else None
    for frame, lineno in traceback.walk_tb(e.__traceback__):
        if Path(frame.f_code.co_filename) == path:
            line = lineno
    return f"{path}:{line}" if line else str(path)


def load_scene_script(path: str | os.PathLike) -> SceneSpec:
    """Run a scene script and return its validated scene.

    Raises:
        SceneFileError: missing file, no `scene` global, a `scene` of the wrong type, or an error
            the script raised (named with the script's line; the original is the `__cause__`).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise SceneFileError(f"{path}: no such scene script")
    with contextlib.chdir(path.parent):
        try:
            namespace = runpy.run_path(str(path), run_name="__scene__")
        except Exception as e:
            raise SceneFileError(f"{_where(path, e)}: the scene script raised {type(e).__name__}: {e}") from e
        scene = namespace.get("scene")
        if isinstance(scene, Scene):
            try:
                return scene.spec()
            except SceneFileError as e:
                raise SceneFileError(f"{path}: its `scene` is invalid: {e}") from None
    if isinstance(scene, SceneSpec):
        return scene
    raise SceneFileError(f"{path}: a scene script must define `scene` as a Scene or SceneSpec, "
                         f"got {type(scene).__name__}")
