"""The render3d exception family: every user-facing failure is one of these."""


class Render3DError(Exception):
    """Base class of every error render3d raises on bad input or missing capability."""


class ShapeError(Render3DError, ValueError):
    """A tensor has the wrong shape, dtype or device for the call."""


class InvalidMeshError(Render3DError, ValueError):
    """A mesh or point cloud is empty, malformed, or holds non-finite values."""


class BackendUnavailable(Render3DError, RuntimeError):
    """A named backend is not installed or cannot run here; the message holds the install hint."""


class MeshIOError(Render3DError, OSError):
    """A mesh or point-cloud file cannot be read or written."""


class ImageIOError(Render3DError, OSError):
    """An image file cannot be read: missing, not an image, or too large to decode safely."""
