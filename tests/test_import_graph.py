"""The import graph of the project's packages: every module imports in a fresh interpreter, module-level
imports form no cycle, and no function-local import hides one (DESIGN.md: the dependency rule).

A function-local import of one of our modules — or a dynamic one, `importlib.import_module(f"pkg.{x}")`,
read as an import of every module under that prefix — is allowed only when the imported module does not
import the importing module back (directly or transitively, at module level): otherwise the local import
is dodging a cycle. Importing `a.b.c` also runs the `__init__` of `a` and `a.b` (except packages holding
the importer, which are already running), so those count as imported too. Imports under
`if TYPE_CHECKING:` are annotations only and are not edges. Lazy imports of third-party packages
(pyrender, open3d, ...) are not our modules and are not checked here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("render3d", "scenes", "gan2d", "tools")

#: Function-local imports known to dodge a cycle, each in a file another change owns, with the cycle.
#: An entry that no longer dodges a cycle fails the test, so the list can only shrink.
KNOWN_DODGES: dict[tuple[str, str], str] = {
    ("scenes.fileio", "scenes.script"): "scenes.script -> scenes.scene -> scenes.fileio (H4: scenes/*)",
}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Our modules an import statement in `module` loads (the most specific existing name)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            pkg = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                pkg = pkg.rpartition(".")[0]
            base = f"{pkg}.{base}" if base else pkg
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [t for name in names for t in _with_packages(module, name)]


def _with_packages(module: str, name: str) -> list[str]:
    """`name` (our module, or its nearest existing parent) and the packages importing it initializes."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    found = []
    while name:
        if name in MODULES and name != module and not module.startswith(name + "."):
            found.append(name)
        name = name.rpartition(".")[0]
    return found


def _dynamic(module: str, node: ast.Call) -> list[str]:
    """The modules an `importlib.import_module(<literal or f-string with a literal prefix>)` may load."""
    func = node.func
    if not (isinstance(func, (ast.Attribute, ast.Name)) and getattr(func, "attr", getattr(func, "id", None))
            == "import_module") or not node.args:
        return []
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return _with_packages(module, arg.value)
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        prefix = str(arg.values[0].value)
        return [t for name in MODULES if name.startswith(prefix) and "." not in name[len(prefix):]
                for t in _with_packages(module, name)]
    return []


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


@cache
def _imports(module: str) -> tuple[frozenset[str], tuple[tuple[str, int], ...]]:
    """(module-level imports, function-local imports with their line) of our modules in `module`."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top: set[str] = set()
    local: list[tuple[str, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    visit(ast.Module(body=[sub], type_ignores=[]), in_function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _resolve(module, child):
                    (local.append((target, child.lineno)) if in_function else top.add(target))
            elif isinstance(child, ast.Call):
                local.extend((target, child.lineno) for target in _dynamic(module, child))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return frozenset(top), tuple(local)


@cache
def _reach(module: str) -> frozenset[str]:
    """Every module `module` loads at import time, transitively (itself excluded unless on a cycle)."""
    seen: set[str] = set()
    stack = list(_imports(module)[0])
    while stack:
        m = stack.pop()
        if m not in seen:
            seen.add(m)
            stack.extend(_imports(m)[0])
    return frozenset(seen)


def test_every_module_imports_in_a_fresh_interpreter():
    code = ("import importlib, sys\n"
            f"for name in {sorted(MODULES)!r}:\n"
            "    importlib.import_module(name)\n"
            "print(len(sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


def test_module_level_imports_form_no_cycle():
    cycles = sorted(m for m in MODULES if m in _reach(m))
    assert cycles == [], f"modules on an import cycle: {cycles}"


def test_no_function_local_import_dodges_a_cycle():
    dodges = {}
    for module in MODULES:
        for target, line in _imports(module)[1]:
            if module in _reach(target) or module == target:
                dodges[(module, target)] = f"{MODULES[module].relative_to(ROOT)}:{line}"
    unexpected = {k: v for k, v in dodges.items() if k not in KNOWN_DODGES}
    assert unexpected == {}, f"function-local imports of a module that imports the caller back: {unexpected}"
    fixed = sorted(set(KNOWN_DODGES) - set(dodges))
    assert fixed == [], f"no longer dodging a cycle, drop from KNOWN_DODGES: {fixed}"


def test_the_check_sees_a_dodged_cycle(tmp_path, monkeypatch):
    """The analysis itself: a local import of a module that imports the caller back is found."""
    pkg = tmp_path / "demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from demo.b import g\n    return g\n")
    (pkg / "b.py").write_text("from demo.a import f\n\ndef g():\n    return f\n")
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {"demo": pkg / "__init__.py", "demo.a": pkg / "a.py",
                                                           "demo.b": pkg / "b.py"})
    _imports.cache_clear()
    _reach.cache_clear()
    try:
        assert _imports("demo.a") == (frozenset(), (("demo.b", 2),))
        assert "demo.a" in _reach("demo.b")
    finally:
        _imports.cache_clear()
        _reach.cache_clear()
