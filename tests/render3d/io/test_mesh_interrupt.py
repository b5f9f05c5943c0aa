"""A Ctrl-C during a mesh load is not lost: trimesh's loaders catch `BaseException`, so `load_mesh` holds
the signal until trimesh returns and then raises KeyboardInterrupt."""

import os
import signal

import pytest
import trimesh

from render3d.io import load_mesh


def test_ctrl_c_during_trimesh_load_raises_after_it(tmp_path, monkeypatch):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a custom handler in this process")
    path = tmp_path / "t.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
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
        load_mesh(path)
    assert calls == ["returned"]  # the signal never reached trimesh's except clause
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
