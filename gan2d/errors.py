"""The gan2d exception family."""


class Gan2DError(Exception):
    """Base class of every error gan2d raises on bad input."""


class ShapeError(Gan2DError, ValueError):
    """A tensor has the wrong shape for the network or op."""


class CheckpointError(Gan2DError, ValueError):
    """A checkpoint is missing, corrupt, of an unknown format, or does not fit the network."""


class ConfigError(Gan2DError, ValueError):
    """A configuration value is out of range or inconsistent."""
