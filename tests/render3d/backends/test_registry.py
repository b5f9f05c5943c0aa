"""Registry: declared capabilities, auto selection order, named-backend errors, lazy imports."""

import logging
import subprocess
import sys

import pytest
import torch

from render3d.backends import (
    BackendInfo,
    Capabilities,
    Request,
    Task,
    backend_info,
    backend_names,
    get_backend,
    register_backend,
    registry,
    select_backend,
    unavailable_reason,
)
from render3d.errors import BackendUnavailable, ShapeError


class _Named:
    """A registry test double: a mesh rasterizer that delegates to the reference and carries a name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def rasterize_meshes(self, meshes, cameras, settings):
        return get_backend("torch").rasterize_meshes(meshes, cameras, settings)


def _fake(name: str, devices=("cpu",), differentiable=True, probe=lambda: None, k=1, soft=False) -> BackendInfo:
    caps = Capabilities(tasks=frozenset({Task.RASTERIZE_MESHES}), differentiable=differentiable,
                        devices=frozenset(devices), fragment_fields=frozenset({"pix_to_face", "bary", "zbuf"}),
                        max_faces_per_pixel=k, soft=soft)
    return BackendInfo(name, caps, "fake", f"pip install {name}", probe, lambda: _Named(name))


@pytest.fixture
def clean_registry():
    saved = dict(registry._registry)
    saved_pref = dict(registry.PREFERENCE)
    yield
    registry._registry.clear()
    registry._registry.update(saved)
    registry.PREFERENCE.clear()
    registry.PREFERENCE.update(saved_pref)
    registry._probe.cache_clear()
    registry._instance.cache_clear()


def test_builtin_backends_are_registered_with_capabilities():
    assert {"torch", "pytorch3d", "nvdiffrast", "pyrender", "open3d"} <= set(backend_names())
    assert backend_info("nvdiffrast").capabilities.devices == frozenset({"cuda"})
    assert not backend_info("pyrender").capabilities.differentiable
    assert backend_info("nvdiffrast").capabilities.missing(Request(Task.RASTERIZE_MESHES, needs={"dists"})) is not None
    assert unavailable_reason("torch") is None


def test_capabilities_explain_each_mismatch():
    caps = _fake("x", k=4).capabilities
    assert caps.missing(Request(Task.RASTERIZE_MESHES, faces_per_pixel=4)) is None
    assert "faces per pixel" in caps.missing(Request(Task.RASTERIZE_MESHES, faces_per_pixel=5))
    assert "not cuda" in caps.missing(Request(Task.RASTERIZE_MESHES, device="cuda:0"))
    assert "soft" in caps.missing(Request(Task.RASTERIZE_MESHES, soft=True))
    assert "dists" in caps.missing(Request(Task.RASTERIZE_MESHES, needs={"dists"}))
    assert "rasterize_points" in caps.missing(Request(Task.RASTERIZE_POINTS))
    with pytest.raises(ShapeError):
        Capabilities(tasks=frozenset(), differentiable=False, devices=frozenset(), outputs=frozenset({"colour"}))


def test_auto_follows_preference_skips_unavailable_and_reports(clean_registry, caplog):
    register_backend(_fake("fast", probe=lambda: "not installed here"))
    register_backend(_fake("medium", differentiable=False))
    register_backend(_fake("slow"))
    registry.PREFERENCE[("cpu", Task.RASTERIZE_MESHES)] = ("fast", "medium", "slow")
    with caplog.at_level(logging.INFO, logger="render3d.backends"):
        sel = select_backend(Request(Task.RASTERIZE_MESHES, differentiable=True))
    assert sel.name == "slow" and sel.backend.name == "slow"
    assert "fast: not installed here" in sel.reason and "medium: is not differentiable" in sel.reason
    assert "backend auto -> slow" in caplog.text
    assert select_backend(Request(Task.RASTERIZE_MESHES)).name == "medium"


def test_named_backend_never_falls_back(clean_registry):
    register_backend(_fake("absent", probe=lambda: "No module named 'absent'"))
    register_backend(_fake("gpu_only", devices=("cuda",)))
    with pytest.raises(BackendUnavailable, match=r"pip install absent"):
        get_backend("absent")
    with pytest.raises(BackendUnavailable, match="not cpu"):
        select_backend(Request(Task.RASTERIZE_MESHES), "gpu_only")
    with pytest.raises(BackendUnavailable, match="unknown backend 'nope'"):
        get_backend("nope")


def test_broken_install_is_reported_not_raised(clean_registry):
    def boom():
        raise OSError("libusb-1.0.so.0: cannot open shared object file")

    register_backend(_fake("broken", probe=boom))
    assert "libusb" in unavailable_reason("broken")
    with pytest.raises(BackendUnavailable, match="libusb"):
        get_backend("broken")


def test_no_backend_for_request_raises_with_reasons():
    with pytest.raises(BackendUnavailable, match="no backend can serve"):
        select_backend(Request(Task.RASTERIZE_MESHES, faces_per_pixel=100000))


def test_missing_optional_package_gives_exact_install_command():
    if unavailable_reason("nvdiffrast") is None:
        pytest.skip("nvdiffrast runs here")
    with pytest.raises(BackendUnavailable) as e:
        get_backend("nvdiffrast")
    assert "pip install -c constraints.txt 'neurender[nvdiffrast]'" in str(e.value)


def test_auto_picks_reference_on_cpu_and_respects_request():
    assert select_backend(Request(Task.RASTERIZE_MESHES, differentiable=True)).name == "torch"
    assert select_backend(Request(Task.RASTERIZE_POINTS)).name == "torch"
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable):
            select_backend(Request(Task.RASTERIZE_MESHES, device="cuda"), "nvdiffrast")


def test_import_is_lazy():
    code = ("import sys, render3d, render3d.backends as b; b.backend_names(); "
            "print(sorted(m for m in ('pytorch3d', 'nvdiffrast', 'pyrender', 'open3d', 'OpenGL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_available_backends_implement_the_protocols_of_their_declared_tasks():
    from render3d.backends.interface import TASK_PROTOCOLS, contract_violations

    for name in backend_names():
        if unavailable_reason(name) is not None:
            continue
        backend, tasks = get_backend(name), backend_info(name).capabilities.tasks
        for task, protocol in TASK_PROTOCOLS.items():
            assert isinstance(backend, protocol) == (task in tasks), (name, task)
        assert contract_violations(backend, tasks) == [], name
    # every backend renders: scenes and tools reach all of them through render_meshes / render_points
    assert all(Task.RENDER_MESHES in backend_info(n).capabilities.tasks for n in backend_names())


class _NoPoints:
    def rasterize_meshes(self, meshes, cameras, settings):
        return get_backend("torch").rasterize_meshes(meshes, cameras, settings)


class _OldRenderSignature:
    def render_meshes(self, meshes, cameras, background=(0.0, 0.0, 0.0)):
        raise AssertionError("never called: the registry refuses this backend")


def test_registry_rejects_a_backend_that_declares_a_task_it_does_not_implement(clean_registry):
    both = Capabilities(tasks=frozenset({Task.RASTERIZE_MESHES, Task.RASTERIZE_POINTS}), differentiable=True,
                        devices=frozenset({"cpu"}))
    with pytest.raises(BackendUnavailable, match=r"has no method rasterize_points\(clouds, cameras, settings\)"):
        register_backend(BackendInfo("no_points", both, "fake", "-", lambda: None, _NoPoints))
    assert "no_points" not in backend_names()
    render = Capabilities(tasks=frozenset({Task.RENDER_MESHES}), differentiable=False, devices=frozenset({"cpu"}),
                          outputs=frozenset({"rgb"}))
    with pytest.raises(BackendUnavailable, match=r"render_meshes takes \(meshes, cameras, background=…\), the task "
                                                 r"needs \(meshes, cameras, lights=…, materials=…, settings=…\)"):
        register_backend(BackendInfo("old_render", render, "fake", "-", lambda: None, _OldRenderSignature))
    # a factory that is not a class is checked on the object it builds, before any caller gets it
    register_backend(BackendInfo("late", both, "fake", "-", lambda: None, lambda: _NoPoints()))
    with pytest.raises(BackendUnavailable, match="'late' declares rasterize_meshes, rasterize_points but has no "
                                                 "method rasterize_points"):
        get_backend("late")
    with pytest.raises(BackendUnavailable, match="has no method"):
        select_backend(Request(Task.RASTERIZE_MESHES), "late")


def test_requests_built_from_rasterizer_settings():
    from render3d.points import PointsRasterSettings
    from render3d.raster import RasterSettings

    soft = Request.for_meshes(RasterSettings(faces_per_pixel=20, blur_radius=1.0), "cpu")
    assert soft.soft and soft.faces_per_pixel == 20 and "dists" in soft.needs
    assert backend_info("nvdiffrast").capabilities.missing(Request.for_meshes(RasterSettings(), "cuda")) is None
    assert backend_info("nvdiffrast").capabilities.missing(soft) is not None
    pts = Request.for_points(PointsRasterSettings(points_per_pixel=4), torch.device("cpu"))
    assert pts.task is Task.RASTERIZE_POINTS and pts.faces_per_pixel == 4
    assert select_backend(pts).name == "torch"


def test_an_interrupted_first_registration_is_retried_not_left_empty(clean_registry, monkeypatch):
    # A Ctrl-C (or a worker's import error) while the built-in adapters load must not leave the
    # registry empty for the rest of the process ("unknown backend 'torch'; registered: ").
    real_import = registry.importlib.import_module
    calls = {"n": 0}

    def interrupted_once(name, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_import(name, *args)

    registry._registry.clear()
    monkeypatch.setattr(registry, "_builtins_loaded", False)
    monkeypatch.setattr(registry.importlib, "import_module", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        backend_names()
    assert {"torch", "pytorch3d", "nvdiffrast", "pyrender", "open3d"} <= set(backend_names())
    assert backend_info("torch").name == "torch"
