"""Errors raised by the scenes package."""

from render3d.errors import Render3DError


class SceneFileError(Render3DError, ValueError):
    """A scene file (or a scene built in code) is malformed: unknown keys, wrong types, bad values,
    missing assets. The message names the file, the field path and the bad value."""


class DatagenError(Render3DError, ValueError):
    """A dataset-generation request is invalid (counts, sizes, an output folder of another dataset)."""


class DatasetError(Render3DError, ValueError):
    """A multi-view dataset folder cannot be read: no index, another format, missing or broken files."""


class JobError(Render3DError, RuntimeError):
    """A batch job (datagen, batch renders) cannot go on: its output folder cannot be written, memory
    ran out, its tasks keep failing, or the Ray cluster it was sent to cannot be reached."""


class TaskError(JobError):
    """One task of a batch job failed; the message names its input (sample index and seed, scene file)."""
