"""Scene files (YAML or JSON) ⇄ `SceneSpec`, with errors naming file, field path and bad value."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from render3d.io import atomic_write
from scenes.errors import SceneFileError
from scenes.schema import SceneSpec

SCENE_SUFFIXES = (".yaml", ".yml", ".json")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_path(loc: tuple, data: Any) -> tuple[str, Any]:
    """Render a pydantic error location as `objects[0].transform.scale`, dropping the union member
    labels pydantic inserts (they are not keys of the file). Also returns the value holding the
    last key (what a "missing" error is about)."""
    parts: list[str] = []
    node, parent = data, None
    for item in loc:
        parent = node
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
            continue
        if not isinstance(node, dict) or (item not in node and node.get("type") == item):
            continue  # a union member's label, not a key of the file
        parts.append(("." if parts else "") + str(item))
        node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "<top level>", parent


def format_validation_error(err: ValidationError, source: str, data: Any) -> str:
    """One line per problem: `source: field.path: message (got value)`."""
    lines = [f"{source}: invalid scene ({err.error_count()} problem{'s' if err.error_count() > 1 else ''})"]
    for e in err.errors():
        where, parent = _field_path(tuple(e["loc"]), data)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            got = f" (got {_short(parent)})" if isinstance(parent, list) else ""
        else:
            got = f" (got {_short(e.get('input'))})"
        lines.append(f"  {source}: {where}: {msg}{got}")
    return "\n".join(lines)


def parse_scene(data: Any, source: str = "<scene>", base_dir: str | os.PathLike = ".") -> SceneSpec:
    """Validate a parsed scene document.

    Args:
        data: the document (a mapping) as read from YAML/JSON.
        source: name used in error messages (the file path).
        base_dir: folder relative asset paths resolve against.

    Raises:
        SceneFileError: anything wrong, every problem listed with its field path and value.

    Example:
        >>> spec = parse_scene({"objects": [{"name": "ball", "procedural": {"type": "sphere"}}]})
        >>> spec.objects[0].procedural.radius
        0.5
    """
    if not isinstance(data, dict):
        raise SceneFileError(f"{source}: a scene must be a mapping of keys, got {type(data).__name__}")
    try:
        return SceneSpec.model_validate(data, context={"base_dir": str(base_dir)})
    except ValidationError as e:
        raise SceneFileError(format_validation_error(e, source, data)) from None


def load_scene(path: str | os.PathLike) -> SceneSpec:
    """Read and validate a `.yaml`/`.yml`/`.json` scene file; asset paths resolve against its folder.

    Raises:
        SceneFileError: missing file, unknown suffix, syntax error, or invalid content.
    """
    path = Path(path)
    if path.suffix.lower() not in SCENE_SUFFIXES:
        raise SceneFileError(f"{path}: scene files end in {', '.join(SCENE_SUFFIXES)}, got {path.suffix!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SceneFileError(f"{path}: cannot read scene file ({e.strerror or e})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise SceneFileError(f"{path}: not valid {path.suffix[1:].upper()}: {e}") from None
    return parse_scene(data, str(path), path.parent)


def scene_to_dict(spec: SceneSpec, base_dir: str | os.PathLike | None = None) -> dict:
    """The file form of a scene: JSON-compatible, unset optional fields left out, asset paths
    relative to `base_dir` when given."""
    ctx = None if base_dir is None else {"base_dir": str(Path(base_dir).resolve())}
    return spec.model_dump(mode="json", exclude_none=True, context=ctx)


def save_scene(spec: SceneSpec, path: str | os.PathLike) -> Path:
    """Write a scene as YAML or JSON (by suffix), atomically; `load_scene` of the result equals `spec`."""
    path = Path(path)
    if path.suffix.lower() not in SCENE_SUFFIXES:
        raise SceneFileError(f"{path}: scene files end in {', '.join(SCENE_SUFFIXES)}, got {path.suffix!r}")
    data = scene_to_dict(spec, path.parent)
    text = json.dumps(data, indent=2) + "\n" if path.suffix.lower() == ".json" else yaml.safe_dump(
        data, sort_keys=False, default_flow_style=None)
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
