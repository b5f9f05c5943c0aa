"""`neurender reconstruct IMAGE`: one photo in, a textured mesh with novel views and a report out."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import typer
from tqdm import tqdm

from render3d.io import atomic_write
from tools.errors import ToolError
from tools.invgraphics.initialize import learned_start
from tools.reconstruct.bake import bake_texture
from tools.reconstruct.fit import FitSettings, check_inputs, fit
from tools.reconstruct.init import Initialization
from tools.reconstruct.inputs import Segmenter, parse_box, photo_intrinsics, photo_mask
from tools.reconstruct.render import shade_vertices
from tools.reconstruct.segment import load_image
from tools.reconstruct.settings import Prior, RasterBackend, Symmetry, describe_priors
from tools.rundir import check_out_dir, staged_dir


class Device(enum.StrEnum):
    """Where the fit runs."""

    cpu = "cpu"
    cuda = "cuda"


@dataclass(frozen=True)
class ReconstructJob:
    """A reconstruction run; written beside the outputs as `config.json`.

    Attributes:
        out: run directory.
        mask: optional mask image path (else the photo's alpha, else automatic segmentation).
        segment: how to segment without a mask or alpha (`Segmenter`: auto, plain, grabcut).
        box: optional (x0, y0, x1, y1) pixel box around the object, seeding GrabCut.
        fov: vertical field of view in degrees (ignored when `K` is given); None: the photo's EXIF
            focal length, else 40°.
        K: (fx, fy, cx, cy) in the photo's pixels, or None.
        size: working resolution (long side, pixels).
        device: "cpu" or "cuda".
        seed: random seed (the fit is deterministic given it).
        fit: fitter settings.
    """

    out: str = "runs/reconstruct"
    mask: str | None = None
    segment: str = "auto"
    box: tuple[int, int, int, int] | None = None
    fov: float | None = None
    K: tuple[float, float, float, float] | None = None
    size: int = 128
    device: str = "cpu"
    seed: int = 0
    fit: FitSettings = field(default_factory=FitSettings)

    def __post_init__(self) -> None:
        if not 16 <= self.size <= 1024:
            raise ToolError(f"--size must be within 16..1024 pixels, got {self.size}")
        if self.fov is not None and not 1.0 <= self.fov <= 170.0:
            raise ToolError(f"--fov must be within 1..170 degrees, got {self.fov}")
        if self.K is not None and (len(self.K) != 4 or not all(math.isfinite(k) for k in self.K)
                                   or self.K[0] <= 0 or self.K[1] <= 0):
            raise ToolError(f"--K must be fx,fy,cx,cy with positive focal lengths, got {self.K}")
        if self.segment not in [m.value for m in Segmenter]:
            raise ToolError(f"--segment must be one of {', '.join(m.value for m in Segmenter)}, got {self.segment!r}")
        if self.device not in [d.value for d in Device]:
            raise ToolError(f"--device must be cpu or cuda, got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ToolError("--device cuda asked for, but no CUDA device is available")


def working_inputs(photo: torch.Tensor, mask: torch.Tensor, K0: torch.Tensor, size: int):
    """Resize the photo and mask so the long side is about `size` (even sides) and scale K to match.

    Returns:
        `(image [h, w, 3], mask [h, w] in {0, 1}, K [3, 3])`.
    """
    H0, W0 = mask.shape
    s = size / max(H0, W0)
    h, w = max(2, 2 * round(H0 * s / 2)), max(2, 2 * round(W0 * s / 2))
    chw = torch.cat([photo, mask[..., None]], -1).permute(2, 0, 1)[None]
    small = torch.nn.functional.interpolate(chw, size=(h, w), mode="area" if s < 1 else "bilinear",
                                            align_corners=None if s < 1 else False)[0].permute(1, 2, 0)
    K = K0.clone()
    K[0] *= w / W0
    K[1] *= h / H0
    return small[..., :3].clamp(0, 1), (small[..., 3] > 0.5).float(), K


def reconstruct(image_path: str | Path, job: ReconstructJob,
                init: Initialization | Callable[..., Initialization] | None = None,
                show_progress: bool = True) -> dict:
    """Reconstruct a textured mesh from one photo and write the run directory.

    Args:
        image_path: PNG/JPEG (RGB, RGBA with alpha as the mask, grayscale).
        job: run settings.
        init: optional learned initialization, or a function of the working (image, mask, K) giving one
            (`tools.invgraphics.initialize.learned_start`).
        show_progress: draw a progress bar with the current silhouette IoU.

    Returns:
        the metrics written to `metrics.json`.

    Raises:
        ToolError: unreadable input, no object found, bad settings.
    """
    from tools.reconstruct.outputs import write_outputs

    torch.manual_seed(job.seed)
    photo, alpha = load_image(image_path)
    H0, W0 = photo.shape[:2]
    mask0, source, notes = photo_mask(photo, alpha, job.mask, job.segment, job.box)
    K0, k_source = photo_intrinsics(image_path, W0, H0, job.K, job.fov)
    image, mask, K = working_inputs(photo, mask0, K0, job.size)
    if mask.sum() < 16:
        raise ToolError(f"no object found: the object covers fewer than 16 pixels at --size {job.size}")
    check_inputs(job.fit)
    if callable(init):
        init = init(image, mask, K)
        learned_shape = init.offsets is not None
        notes = [*notes, "started from the inverse-graphics encoder's prediction (--learned)" if learned_shape
                 else "started from the fit's own template seen from the encoder's camera (--learned: the predicted "
                 "shape's outline fit the mask poorly)"]
    out = check_out_dir(job.out, replace=True)
    config = {"image": str(image_path), "mask_source": source, "K_source": k_source, "K_photo": K0.tolist(),
              "K_working": K.tolist(),
              "working_size": [int(mask.shape[1]), int(mask.shape[0])], **asdict(job)}
    dev = torch.device(job.device)
    bar = tqdm(total=job.fit.steps, desc="reconstruct", unit="step", disable=not show_progress, leave=False)

    def progress(step: int, rec: dict) -> None:
        bar.update(1)
        if step % 5 == 0:
            bar.set_postfix(iou=f"{rec['iou']:.3f}", loss=f"{rec['loss']:.3f}")

    try:
        res = fit(image.to(dev), mask.to(dev), K.to(dev), job.fit, init, progress)
    finally:
        bar.close()
    mesh = res.meshes()
    radiance = shade_vertices(mesh, res.albedo, res.sh_coeffs).clamp(0, 1)
    cam = res.camera().to("cpu")
    # Baking and the output renders are one-off and small: done on the CPU whatever the fit ran on.
    textured = bake_texture(res.verts.cpu(), res.faces.cpu(), radiance.cpu(), photo, mask, cam)
    metrics = {"input_iou": res.iou, "fit_psnr": res.psnr, "steps": job.fit.steps, "seconds": res.seconds,
               "verts": int(res.verts.shape[0]), "faces": int(res.faces.shape[0]),
               "camera_distance": res.distance, "camera_elevation": res.elevation, "mask_source": source,
               "K_source": k_source, "template": res.template,
               "priors": describe_priors(job.fit, res.template, res.rings, res.support, res.panel,
                                         res.pairs),
               "contacts": None if res.support is None else res.support.as_dict(), "notes": notes}
    # Written into a staging folder swapped in whole on success: a failed or interrupted write leaves
    # --out as it was (nothing partial, no stale files of an earlier run).
    with staged_dir(out) as stage:
        atomic_write(stage / "config.json", lambda p: p.write_text(json.dumps(config, indent=2)))
        return write_outputs(stage, textured, cam, res.elevation, image.cpu(), mask.cpu(), (H0, W0),
                             res.history, metrics)


def _parse_intrinsics(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError as e:
        raise ToolError(f"--K must be four numbers fx,fy,cx,cy, got {text!r}") from e
    if len(vals) != 4:
        raise ToolError(f"--K must be four numbers fx,fy,cx,cy, got {text!r}")
    return vals  # type: ignore[return-value]


def register(app: typer.Typer) -> None:
    """Add the `reconstruct` command to the CLI."""

    @app.command("reconstruct")
    def reconstruct_cmd(
        image: Path = typer.Argument(..., help="photo of one object (PNG/JPEG; RGBA alpha is used as the mask)"),
        mask: Path | None = typer.Option(None, "--mask", help="foreground mask image (white = object)"),
        fov: float | None = typer.Option(None, "--fov", help="vertical field of view in degrees (unset: the "
                                         "photo's EXIF focal length, else 40)"),
        segment: Segmenter = typer.Option(Segmenter.auto, "--segment", help="without --mask/alpha: plain backdrop "
                                          "model, GrabCut, or auto (GrabCut unless the border is plain)"),
        box: str | None = typer.Option(None, "--box", help="x0,y0,x1,y1 pixel box around the object (seeds GrabCut)"),
        K: str | None = typer.Option(None, "--K", help="intrinsics fx,fy,cx,cy in the photo's pixels"),
        out: Path = typer.Option(Path("runs/reconstruct"), "--out", help="run directory"),
        size: int = typer.Option(128, "--size", help="working resolution (long side)"),
        steps: int | None = typer.Option(None, "--steps", help="optimization steps [default: 200; 50 with --learned]"),
        learned: bool = typer.Option(False, "--learned", help="start from the inverse-graphics encoder's prediction "
                                     "(shipped weights), then a short fit"),
        template: str = typer.Option("auto", "--template", help="starting shape: silhouette (the mask inflated, "
                                     "holes kept) | revolution (the mask's outline, round rows) | sphere (a "
                                     "surface of revolution) | ellipsoid | a mesh file | auto (sphere or "
                                     "revolution for masks one run per row, else silhouette)"),
        symmetry: Symmetry = typer.Option(Symmetry.none, "--symmetry", help="mirror prior: x (left-right), "
                                          "z (front-back)"),
        prior: Prior = typer.Option(Prior.inflation, "--prior", help="unseen side: keep the inflated start's "
                                    "depth profile, or a thin-plate smooth back"),
        rings: bool = typer.Option(True, "--rings/--no-rings", help="an elliptical hole is a circular ring seen "
                                   "at a slant (tyres, hoops, rings)"),
        contacts: bool = typer.Option(True, "--contacts/--no-contacts", help="three or four feet of the "
                                      "outline that are a tripod's or a rectangle's footprint stand on a floor: "
                                      "a foot lower in the image is nearer (stools, chairs, tables)"),
        legs: bool = typer.Option(True, "--legs/--no-legs", help="on those feet, each leg a straight rod, upright "
                                  "or leaning towards the footprint's centre, and what the legs hold up where "
                                  "they end (with --contacts)"),
        panels: bool = typer.Option(True, "--panels/--no-panels", help="on those legs, a large part rising above "
                                    "what they hold up (a backrest) is a thin upright slab on a side of the "
                                    "footprint, as thick as the legs are wide (with --legs)"),
        pairs: bool = typer.Option(True, "--pairs/--no-pairs", help="without such feet, two long legs holding up "
                                   "a body between them are as deep as that body (an animal's leg pairs, a "
                                   "bench's boards)"),
        ground_elevation: float | None = typer.Option(None, "--ground-elevation", help="camera elevation above the "
                                                      "floor in degrees, when known (default: from the feet's "
                                                      "footprint)"),
        elevation: float = typer.Option(0.0, "--elevation", help="starting camera elevation in degrees"),
        perceptual: Path | None = typer.Option(None, "--perceptual", help="local VGG16 weights file (perceptual loss)"),
        backend: RasterBackend = typer.Option(RasterBackend.auto, "--backend", help="rasterizer the fit runs on"),
        device: Device = typer.Option(Device.cpu, "--device", help="where the fit runs"),
        seed: int = typer.Option(0, "--seed", help="random seed"),
    ) -> None:
        """Reconstruct a textured 3D mesh from one photo by inverse rendering."""
        settings = FitSettings(steps=200 if steps is None else steps, template=template, symmetry=symmetry.value,
                               prior=prior.value, rings=rings, contacts=contacts, legs=legs, panels=panels, pairs=pairs,
                               ground_elevation=ground_elevation, elevation=elevation, backend=backend.value,
                               perceptual_weights=None if perceptual is None else str(perceptual))
        init = None
        if learned:
            init, settings = learned_start(settings, steps)
        job = ReconstructJob(out=str(out), mask=None if mask is None else str(mask), segment=segment.value,
                             box=parse_box(box), fov=fov, K=_parse_intrinsics(K),
                             size=size, device=device.value, seed=seed, fit=settings)
        metrics = reconstruct(image, job, init)
        for note in metrics["notes"]:
            typer.echo(f"note: {note}", err=True)
        typer.echo(f"input-view IoU {metrics['input_iou']:.3f}, PSNR {metrics['textured_psnr']:.1f} dB, "
                   f"{metrics['seconds']:.1f} s; report: {out / 'report.png'}")
