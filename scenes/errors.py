"""Errors raised by the scenes package."""

from render3d.errors import Render3DError


class SceneFileError(Render3DError, ValueError):
    """A scene file (or a scene built in code) is malformed: unknown keys, wrong types, bad values,
    missing assets. The message names the file, the field path and the bad value."""


class DatagenError(Render3DError, ValueError):
    """A dataset-generation request is invalid (counts, sizes, an output folder of another dataset)."""


class DatasetError(Render3DError, ValueError):
    """A multi-view dataset folder cannot be read: no index, another format, missing or broken files."""
