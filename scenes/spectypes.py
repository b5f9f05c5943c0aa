"""Shared pieces of the scene schema: the frozen strict base model, vectors, colors, asset paths.

Asset paths are resolved against the scene file's folder while validating (the folder is passed
as the validation context `{"base_dir": ...}`; the working directory when absent) and stored
absolute; when a scene is saved they are written relative to the destination file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, SerializationInfo, ValidationInfo

Vec3 = tuple[float, float, float]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Color = tuple[Unit, Unit, Unit]
Positive = Annotated[float, Field(gt=0.0)]
PositiveVec3 = tuple[Positive, Positive, Positive]


class Spec(BaseModel):
    """Base of every scene-schema model: immutable, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve(value: str, info: ValidationInfo) -> str:
    base = Path((info.context or {}).get("base_dir", "."))
    path = Path(os.path.expanduser(value))
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ValueError(f"asset file not found: {path}")
    return str(path.resolve())


def _relativize(value: str, info: SerializationInfo) -> str:
    base = (info.context or {}).get("base_dir")
    if base is None:
        return value
    try:
        return os.path.relpath(value, base)
    except ValueError:  # another drive on Windows
        return value


AssetPath = Annotated[str, AfterValidator(_resolve), PlainSerializer(_relativize, return_type=str)]
"""A file path: relative to the scene file when read, must exist, stored absolute."""
