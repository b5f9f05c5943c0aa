"""Pose control in a StyleGAN2's W space: linear yaw/pitch directions, monotone calibration, closed loop.

Directions (InterFaceGAN): sample latents, measure their poses with a reader, and fit a ridge regression
of each angle on w. Pose is decorrelated from identity first: the identity descriptor is regressed on w
too, and the pose regressions run inside the orthogonal complement of those identity directions (pitch
also orthogonal to yaw), so moving along a pose direction leaves the predicted identity unchanged.

An edit sets a latent's coordinates along the two (orthonormal) directions, measured from `w_avg`, to
chosen steps: `w' = w + Σ_a (s_a − (w − w_avg)·n_a) n_a`, on the edited style layers only. Because the
coordinate is set, not shifted, the same step gives the same pose for any identity, which is what makes
one calibration per direction possible. Two methods share this:

- `direction`: edit the identity's own styles on `edit_layers`.
- `mixing`: build a camera code (`w_avg` edited to the steps) and take its styles on the camera layers
  (`tools.faces.layers`), the identity's on the rest.

Each (method, angle) gets a `Calibration`; `closed_loop` starts from the calibrated steps and corrects
them by the measured error until the reader agrees with the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch

from tools.errors import ToolError
from tools.faces.calibration import Calibration, fit_calibration
from tools.faces.readers import Reader, read_batched

Method = Literal["direction", "mixing"]
METHODS: tuple[str, ...] = ("direction", "mixing")
AXES = ("yaw", "pitch")


class StyleGenerator(Protocol):
    """What pose control needs of a generator (met by `gan2d.nets.stylegan2.Generator`)."""

    z_dim: int
    w_dim: int
    num_ws: int
    img_resolution: int
    mapping: Any
    synthesis: Any


def sample_ws(G: StyleGenerator, n: int, seed: int, truncation: float = 1.0) -> torch.Tensor:
    """`[n, num_ws, w_dim]` styles of `n` latents drawn from `seed`."""
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return G.mapping(z, None, truncation_psi=truncation)


def seed_ws(G: StyleGenerator, seeds: list[int], truncation: float) -> torch.Tensor:
    """Styles of integer seeds, latents drawn as NVIDIA's generate.py does (`RandomState(seed).randn`)."""
    z = torch.from_numpy(np.stack([np.random.RandomState(s).randn(G.z_dim) for s in seeds])).float()
    with torch.no_grad():
        return G.mapping(z, None, truncation_psi=truncation)


@torch.no_grad()
def render(G: StyleGenerator, ws: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """`[B, 3, R, R]` images in [-1, 1] of styles `ws` with constant noise (views of one latent match)."""
    return torch.cat([G.synthesis(ws[k:k + batch], noise_mode="const").clamp(-1, 1)
                      for k in range(0, len(ws), batch)])


def ridge(x: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    """Ridge regression weights `[D, K]` of centered `y [N, K]` on centered `x [N, D]`."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    gram = xc.T @ xc + alpha * len(x) * torch.eye(x.shape[1], dtype=x.dtype)
    return torch.linalg.solve(gram, xc.T @ yc)


def _orth_basis(m: torch.Tensor, rel_tol: float = 1e-3) -> torch.Tensor:
    """Orthonormal basis `[D, r]` of the column space of `m [D, K]` (directions above `rel_tol`)."""
    if m.numel() == 0:
        return m.new_zeros(m.shape[0], 0)
    u, s, _ = torch.linalg.svd(m, full_matrices=False)
    return u[:, s > rel_tol * s.max()]


@dataclass
class PoseControl:
    """Directions, layers and calibrations of one generator (JSON round-trippable).

    Attributes:
        w_avg: `[w_dim]` center the coordinates are measured from.
        directions: `[2, w_dim]` orthonormal yaw and pitch directions.
        edit_layers: style layers the `direction` method edits.
        camera_layers: style layers the `mixing` method takes from the camera code.
        calibrations: method → angle → `Calibration`.
        report: fit statistics (R², identity overlap, layer discovery) for model cards and metrics.
    """

    w_avg: torch.Tensor
    directions: torch.Tensor
    edit_layers: tuple[int, ...]
    camera_layers: tuple[int, ...] = ()
    calibrations: dict[str, dict[str, Calibration]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)

    def coordinates(self, ws: torch.Tensor) -> torch.Tensor:
        """`[B, 2]` (yaw, pitch) coordinates of the first edited style of `ws [B, L, D]`."""
        return (ws[:, self.edit_layers[0]] - self.w_avg) @ self.directions.T

    def set_coordinates(self, ws: torch.Tensor, steps: torch.Tensor, layers: tuple[int, ...]) -> torch.Tensor:
        """`ws [B, L, D]` with the coordinates of `layers` set to `steps [B, 2]`."""
        out = ws.clone()
        idx = list(layers)
        cur = (ws[:, idx] - self.w_avg) @ self.directions.T
        out[:, idx] = ws[:, idx] + (steps[:, None, :].to(ws.dtype) - cur) @ self.directions
        return out

    def edit(self, ws: torch.Tensor, steps: torch.Tensor, method: Method) -> torch.Tensor:
        """Styles showing identities `ws [B, L, D]` at direction steps `[B, 2]` by `method`."""
        if method == "direction":
            return self.set_coordinates(ws, steps, self.edit_layers)
        if not self.camera_layers:
            raise ToolError("view-code mixing needs camera layers; this control has none (run layer discovery)")
        camera = self.set_coordinates(self.w_avg.expand_as(ws).clone(), steps, tuple(range(ws.shape[1])))
        out = ws.clone()
        out[:, list(self.camera_layers)] = camera[:, list(self.camera_layers)]
        return out

    def calibration(self, method: str, axis: str) -> Calibration:
        """The calibration of one angle for one method.

        Raises:
            ToolError: the method was never calibrated for this generator.
        """
        try:
            return self.calibrations[method][axis]
        except KeyError:
            raise ToolError(f"method {method!r} is not calibrated for this generator "
                            f"(calibrated: {sorted(self.calibrations)})") from None

    def steps_for(self, method: str, poses: torch.Tensor) -> torch.Tensor:
        """`[B, 2]` calibrated steps for requested `[B, 2]` (yaw, pitch) degrees (clamped to the range)."""
        cols = [self.calibration(method, a).to_step(poses[:, i].double().numpy()) for i, a in enumerate(AXES)]
        return torch.from_numpy(np.stack(cols, 1)).float()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"w_avg": self.w_avg.tolist(), "directions": self.directions.tolist(),
                "edit_layers": list(self.edit_layers), "camera_layers": list(self.camera_layers),
                "calibrations": {m: {a: c.to_dict() for a, c in cal.items()} for m, cal in self.calibrations.items()},
                "report": self.report}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoseControl:
        """Inverse of `to_dict`.

        Raises:
            ToolError: malformed data.
        """
        try:
            cals = {m: {a: Calibration.from_dict(c) for a, c in cal.items()} for m, cal in d["calibrations"].items()}
            return cls(torch.tensor(d["w_avg"], dtype=torch.float32),
                       torch.tensor(d["directions"], dtype=torch.float32),
                       tuple(int(i) for i in d["edit_layers"]), tuple(int(i) for i in d["camera_layers"]), cals,
                       dict(d.get("report", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise ToolError(f"malformed pose control data ({type(e).__name__}: {e})") from e


def fit_directions(G: StyleGenerator, reader: Reader, n: int = 2000, seed: int = 0, truncation: float = 1.0,
                   alpha: float = 1e-3) -> PoseControl:
    """Fit identity-decorrelated yaw and pitch directions from `n` sampled latents (edits every layer).

    Returns:
        A `PoseControl` without calibrations; `report["fit"]` holds R² of each angle's regression and the
        share of each raw direction that lay in the identity subspace.
    """
    ws = sample_ws(G, n, seed, truncation)
    w = ws[:, 0].double()
    reading = read_batched(reader, render(G, ws))
    pose = reading.pose.double()
    eye = torch.eye(w.shape[1], dtype=torch.float64)
    basis = _orth_basis(ridge(w, reading.identity.double(), alpha)) if reading.identity is not None else eye[:, :0]
    proj = eye - basis @ basis.T
    dirs, stats = [], {}
    for i, axis in enumerate(AXES):
        raw = ridge(w, pose[:, i:i + 1], alpha)[:, 0]
        beta = proj @ ridge(w @ proj, pose[:, i:i + 1], alpha)[:, 0]
        pred = (w - w.mean(0)) @ beta + pose[:, i].mean()
        r2 = 1 - ((pred - pose[:, i]) ** 2).mean() / pose[:, i].var()
        stats[axis] = {"r2": float(r2), "identity_share": float((basis.T @ raw).norm() / raw.norm()),
                       "degrees_per_unit": float(beta.norm())}
        dirs.append(beta / beta.norm())
        proj = proj - torch.outer(dirs[-1], dirs[-1])
    w_avg = G.mapping.w_avg.detach().double() if hasattr(G.mapping, "w_avg") else w.mean(0)
    coords = (w - w_avg) @ torch.stack(dirs).T
    stats["coordinate_quantiles"] = {a: [float(coords[:, i].quantile(q)) for q in (0.005, 0.5, 0.995)]
                                     for i, a in enumerate(AXES)}
    stats["samples"], stats["identity_rank"] = n, int(basis.shape[1])
    return PoseControl(w_avg.float(), torch.stack(dirs).float(), tuple(range(G.num_ws)), report={"fit": stats})


def _sweep(G: StyleGenerator, reader: Reader, control: PoseControl, method: Method, ws: torch.Tensor, axis: int,
           steps: np.ndarray, other: float) -> np.ndarray:
    """Measured degrees of `axis` `[K, M]` at each step for M identities, the other coordinate at `other`."""
    m = len(ws)
    grid = torch.zeros(len(steps) * m, 2)
    grid[:, axis] = torch.from_numpy(np.repeat(steps, m)).float()
    grid[:, 1 - axis] = other
    edited = control.edit(ws.repeat(len(steps), 1, 1), grid, method)
    return read_batched(reader, render(G, edited)).pose[:, axis].reshape(len(steps), m).double().numpy()


def calibrate(G: StyleGenerator, reader: Reader, control: PoseControl, method: Method, identities: int = 24,
              num_steps: int = 25, seed: int = 1, truncation: float = 0.7, span: float = 1.6) -> PoseControl:
    """Calibrate both angles of `method` in place (yaw with pitch at its linear zero, pitch at calibrated yaw 0,
    then yaw again at calibrated pitch 0); returns `control`.

    The sweep covers the fitted coordinate quantiles widened by `span`, so the calibration reaches as far
    as the generator turns.
    """
    ws = sample_ws(G, identities, seed, truncation)
    fit = control.report["fit"]
    grids = {}
    for a in AXES:
        lo, mid, hi = fit["coordinate_quantiles"][a]
        half = span * max(hi - mid, mid - lo)
        grids[a] = np.linspace(mid - half, mid + half, num_steps)
    zero = {a: float(fit["coordinate_quantiles"][a][1]) for a in AXES}
    cals: dict[str, Calibration] = {}
    for axis in ("yaw", "pitch", "yaw"):
        i = AXES.index(axis)
        other = AXES[1 - i]
        at = float(cals[other].to_step(0.0)) if other in cals else zero[other]
        measured = _sweep(G, reader, control, method, ws, i, grids[axis], at)
        per_unit = np.ptp(np.median(measured, 1)) / np.ptp(grids[axis])
        cals[axis] = fit_calibration(grids[axis], measured, min_slope=0.05 * max(per_unit, 1e-6))
    control.calibrations[method] = cals
    return control


@dataclass(frozen=True)
class LoopResult:
    """What `closed_loop` reached: images `[B, 3, R, R]`, measured `[B, 2]` degrees, steps `[B, 2]`,
    styles `[B, L, D]`, and which requests lay inside the calibrated range `[B]`."""

    images: torch.Tensor
    measured: torch.Tensor
    steps: torch.Tensor
    ws: torch.Tensor
    in_range: torch.Tensor


def closed_loop(G: StyleGenerator, reader: Reader, control: PoseControl, ws: torch.Tensor, target: torch.Tensor,
                method: Method, iterations: int = 3, tolerance: float = 0.5) -> LoopResult:
    """Render identities `ws [B, L, D]` at requested `target [B, 2]` degrees, correcting the steps until
    the reader measures the request (within `tolerance` degrees) or `iterations` corrections are spent.

    Each correction adds `error / slope` per angle: the first uses the calibration's local slope, later
    ones the secant slope of this image's own last two tries (identities turn at different rates) unless
    that is degenerate (under a fifth of the calibration's). The best render per image (smallest max
    angle error) is kept. Requests outside the calibrated range start from the range's
    end and are flagged in `in_range`.
    """
    cal = [control.calibration(method, a) for a in AXES]
    in_range = torch.tensor([all(c.contains(float(t[i])) for i, c in enumerate(cal)) for t in target])
    steps = control.steps_for(method, target)
    bounds = [(c.steps[0] - 0.25 * (c.steps[-1] - c.steps[0]), c.steps[-1] + 0.25 * (c.steps[-1] - c.steps[0]))
              for c in cal]
    best_err = torch.full((len(ws),), float("inf"))
    best_img = best_pose = best_steps = best_ws = prev_steps = prev_pose = None
    for it in range(iterations + 1):
        edited = control.edit(ws, steps, method)
        images = render(G, edited)
        pose = read_batched(reader, images).pose.float()
        err = (target - pose).abs().max(1).values
        better = err < best_err
        if best_img is None:
            best_img, best_pose, best_steps, best_ws = images, pose, steps.clone(), edited
        else:
            best_img = torch.where(better[:, None, None, None], images, best_img)
            best_pose = torch.where(better[:, None], pose, best_pose)
            best_steps = torch.where(better[:, None], steps, best_steps)
            best_ws = torch.where(better[:, None, None], edited, best_ws)
        best_err = torch.minimum(best_err, err)
        if it == iterations or bool((best_err <= tolerance).all()):
            break
        new_steps = steps.clone()
        for i, c in enumerate(cal):
            slope = torch.from_numpy(np.maximum(c.slope(steps[:, i].double().numpy()), 1e-6)).float()
            if prev_steps is not None:
                ds = steps[:, i] - prev_steps[:, i]
                secant = (pose[:, i] - prev_pose[:, i]) / torch.where(ds.abs() > 1e-9, ds, torch.ones_like(ds))
                usable = (ds.abs() > 1e-9) & (secant.abs() >= 0.2 * slope)
                slope = torch.where(usable, secant, slope)
            lo, hi = bounds[i]
            new_steps[:, i] = (steps[:, i] + (target[:, i] - pose[:, i]) / slope).clamp(lo, hi)
        prev_steps, prev_pose, steps = steps, pose, new_steps
    return LoopResult(best_img, best_pose, best_steps, best_ws, in_range)
