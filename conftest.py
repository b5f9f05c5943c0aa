"""Suite-wide rules. `--doctest-modules` (pyproject) runs every docstring example of render3d, gan2d, scenes
and tools in the default suite, and every one must pass: there is no list of known failures any more.
This file, being at the repository root outside any package, also puts the root on `sys.path` for the
collected modules and tests (pytest's rootdir conftest rule)."""
