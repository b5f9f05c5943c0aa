"""`neurender backends`: every registered backend listed with availability, reason, install command."""

from render3d.backends import registry
from render3d.backends.capabilities import Capabilities, Task
from render3d.backends.registry import BackendInfo
from tools.backends import backend_statuses
from tools.cli import main


def test_backends_command_lists_every_backend_with_install_hint(capsys, monkeypatch):
    missing = BackendInfo("zz_missing", Capabilities(tasks=frozenset({Task.RASTERIZE_MESHES}), differentiable=True,
                                                     devices=frozenset({"cpu"})),
                          "test double", "pip install -c constraints.txt 'neurender[zz]'",
                          lambda: "No module named 'zz'", lambda: None)
    monkeypatch.setitem(registry._registry, "zz_missing", missing)
    registry._probe.cache_clear()
    try:
        assert main(["backends"]) == 0
    finally:
        registry._probe.cache_clear()
    out = capsys.readouterr().out
    for name in ("torch", "pytorch3d", "nvdiffrast", "pyrender", "open3d", "zz_missing"):
        assert name in out
    assert "No module named 'zz'" in out and "'neurender[zz]'" in out  # brackets survive rich markup
    assert "rasterize_meshes" in out


def test_statuses_agree_with_registry():
    rows = {r.name: r for r in backend_statuses()}
    assert rows["torch"].available and rows["torch"].reason == ""
    for name, row in rows.items():
        assert row.available == (registry.unavailable_reason(name) is None)
        assert row.available or row.reason
