"""A Ctrl-C during a mesh or PLY point-cloud load is not lost: trimesh's loaders catch `BaseException`,
so the readers hold the signal (`render3d.io.interrupts.deferred_interrupt`) until trimesh returns and
then raise KeyboardInterrupt."""

import os
import signal

import numpy as np
import pytest
import trimesh

from render3d.io import load_mesh, load_pointcloud


def _write_obj(path):
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")


def _write_ply(path):
    trimesh.PointCloud(np.random.default_rng(0).random((20, 3))).export(path)


@pytest.mark.parametrize(("name", "write", "load"), [("t.obj", _write_obj, load_mesh),
                                                     ("c.ply", _write_ply, load_pointcloud)])
def test_ctrl_c_during_trimesh_load_raises_after_it(tmp_path, monkeypatch, name, write, load):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a custom handler in this process")
    path = tmp_path / name
    write(path)
    real_load = trimesh.load
    calls = []

    def swallowing_load(*args, **kwargs):  # what trimesh's loaders do with an interrupt
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except BaseException:
            calls.append("swallowed")
        calls.append("returned")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(trimesh, "load", swallowing_load)
    with pytest.raises(KeyboardInterrupt):
        load(path)
    assert calls == ["returned"]  # the signal never reached trimesh's except clause
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_the_first_trimesh_import_is_not_lost(monkeypatch):
    # trimesh imports its optional dependencies in `try: ... except BaseException`: a Ctrl-C landing in
    # the seconds of its first import (a render's mesh load) was swallowed and the job ran to the end.
    import importlib.abc
    import importlib.util
    import sys

    from render3d.io.interrupts import import_trimesh

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a custom handler in this process")
    calls = []

    class SwallowingTrimesh(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name == "trimesh" else None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            try:
                os.kill(os.getpid(), signal.SIGINT)
            except BaseException:
                calls.append("swallowed")
            calls.append("imported")

    monkeypatch.delitem(sys.modules, "trimesh")
    monkeypatch.setattr(sys, "meta_path", [SwallowingTrimesh(), *sys.meta_path])
    with pytest.raises(KeyboardInterrupt):
        import_trimesh()
    assert calls == ["imported"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
