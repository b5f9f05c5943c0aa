"""Scene files (YAML, JSON, or a Python script) ⇄ `SceneSpec`, with errors naming file, field path
and bad value.

Reading is bounded: a file over `MAX_FILE_BYTES`, a document nested deeper than `MAX_DEPTH`, or
one whose YAML aliases expand it past `MAX_NODES` values (a "billion laughs" bomb: a few hundred
bytes of anchors that expand to 10^9 nodes) is refused while it is being read, before anything
walks the expanded structure.
"""

from __future__ import annotations

import json
import os
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from render3d.io import atomic_write
from scenes.errors import SceneFileError
from scenes.schema import SceneSpec

SCENE_SUFFIXES = (".yaml", ".yml", ".json")
SCRIPT_SUFFIX = ".py"
MAX_FILE_BYTES = 16 * 2**20
MAX_NODES = 1_000_000  # values after alias expansion; a scene with 10k objects has ~300k
MAX_ERROR_LINES = 20
MAX_DEPTH = 64  # a scene nests about 8 deep; the YAML composer recurses, Python stops near 1000 frames

_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxtuple, _repr.maxdict, _repr.maxstring, _repr.maxother = 3, 6, 6, 6, 60, 60


def _short(value: Any, limit: int = 80) -> str:
    # reprlib visits a bounded number of elements: a value that aliases expand to millions of
    # nodes (or one that contains itself) costs no more than a small one.
    text = _repr.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _BoundedLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that counts, while composing, the nodes the document expands to (an alias
    counts as the whole subtree it names) and its nesting depth, and refuses past the limits."""

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self.source = source
        self.depth = 0
        self.total = 0
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height), once complete

    def _count(self, n: int, mark: Any) -> None:
        self.total += n
        if self.total > MAX_NODES:
            raise SceneFileError(f"{self.source}: line {mark.line + 1}: the document expands to more than "
                                 f"{MAX_NODES:,} values through YAML aliases; refusing it (an alias-expansion "
                                 f"bomb?)")

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = self.anchors.get(event.anchor)
            if node is not None:
                if id(node) not in self.sizes:
                    raise SceneFileError(f"{self.source}: line {event.start_mark.line + 1}: alias *{event.anchor} "
                                         f"refers to a value that contains it (a recursive document)")
                self._count(self.sizes[id(node)][0], event.start_mark)
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise SceneFileError(f"{self.source}: line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [c for pair in node.value for c in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        else:
            children = []
        below = [self.sizes[id(c)] for c in children]
        height = 1 + max((h for _, h in below), default=0)
        if height > MAX_DEPTH:  # aliases can stack shallow pieces into a deep value
            raise SceneFileError(f"{self.source}: line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} "
                                 f"levels deep (counting what aliases expand to)")
        self.sizes[id(node)] = (1 + sum(n for n, _ in below), height)
        self._count(1, node.start_mark)
        return node


def _check_json(data: Any, source: str) -> None:
    """The JSON counterpart of the YAML loader's limits (JSON has no aliases: one linear walk)."""
    stack, total = [(data, 1)], 0
    while stack:
        node, depth = stack.pop()
        total += 1
        if depth > MAX_DEPTH:
            raise SceneFileError(f"{source}: nested more than {MAX_DEPTH} levels deep")
        if total > MAX_NODES:
            raise SceneFileError(f"{source}: more than {MAX_NODES:,} values; too large for a scene file")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, depth + 1) for c in children)


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SceneFileError(f"{path}: {size / 2**20:.1f} MiB is too large for a scene file "
                                 f"(limit {MAX_FILE_BYTES // 2**20} MiB)")
        data = path.read_bytes()
    except OSError as e:
        raise SceneFileError(f"{path}: cannot read scene file ({e.strerror or e})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SceneFileError(f"{path}: not a text file (byte {e.start} is not UTF-8: "
                             f"{data[e.start:e.start + 4]!r}...)") from None


def parse_text(text: str, suffix: str, source: str = "<scene>") -> Any:
    """Parse scene-file text as JSON (`suffix` `.json`) or YAML, within the module's limits.

    Raises:
        SceneFileError: a syntax error, or a document too deep or expanding past the limits.
    """
    kind = "JSON" if suffix.lower() == ".json" else "YAML"
    try:
        if kind == "JSON":
            data = json.loads(text)
            _check_json(data, source)
            return data
        loader = _BoundedLoader(text, source)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except RecursionError:
        raise SceneFileError(f"{source}: nested too deeply to read") from None
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise SceneFileError(f"{source}: not valid {kind}: {_short_error(e)}") from None


def _short_error(e: Exception, limit: int = 300) -> str:
    text = " ".join(str(e).split())
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
    errors = err.errors(include_url=False)
    for e in errors[:MAX_ERROR_LINES]:
        where, parent = _field_path(tuple(e["loc"]), data)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            got = f" (got {_short(parent)})" if isinstance(parent, list) else ""
        else:
            got = f" (got {_short(e.get('input'))})"
        lines.append(f"  {source}: {where}: {msg}{got}")
    if len(errors) > MAX_ERROR_LINES:
        lines.append(f"  ... and {len(errors) - MAX_ERROR_LINES} more")
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
    """Read and validate a scene: a `.yaml`/`.yml`/`.json` file, or a `.py` script defining `scene`
    (`scenes.script.load_scene_script`). Asset paths resolve against the file's folder.

    Raises:
        SceneFileError: missing or unreadable file, unknown suffix, binary content, syntax error,
            a document too large, too deep or expanding through aliases past the limits, invalid
            content, or a script that fails.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == SCRIPT_SUFFIX:
        from scenes.script import load_scene_script  # it builds a Scene, which imports this module

        return load_scene_script(path)
    if suffix not in SCENE_SUFFIXES:
        raise SceneFileError(f"{path}: scene files end in {', '.join((*SCENE_SUFFIXES, SCRIPT_SUFFIX))}, "
                             f"got {path.suffix!r}")
    data = parse_text(_read_text(path), suffix, str(path))
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
