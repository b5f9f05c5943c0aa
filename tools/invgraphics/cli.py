"""`neurender invgraphics PHOTO`: one photo → the encoder's textured mesh, its camera, and a yaw sweep.

Writes into `--out` (all or nothing): `mesh.ply` (vertex colors: the texture under the predicted
lighting, in the photo's camera frame: camera on +Z looking at the origin), `input.png` (the
network's view of the photo), `sweep_mesh.png` and/or `sweep_gan.png` (the same reconstruction
rendered by render3d and by the GAN over the requested yaws; with `both`, also `sheet.png`: the mesh
row above the GAN row) and `prediction.json` (camera, timings, sources). The library imports live
inside the command, so `--help` and usage errors load no torch.
"""

from __future__ import annotations

import enum
from pathlib import Path

import typer

from tools.errors import ToolError
from tools.rundir import check_out_dir


class Renderer(enum.StrEnum):
    """Who renders the yaw sweep."""

    mesh = "mesh"
    gan = "gan"
    both = "both"


def register(app: typer.Typer) -> None:
    @app.command("invgraphics")
    def invgraphics_cmd(
        photo: Path = typer.Argument(..., help="photo of one object (PNG/JPEG; RGBA alpha is used as the mask)"),
        out: Path = typer.Option(Path("runs/invgraphics"), "--out", help="run folder (a previous run is replaced)"),
        mask: Path | None = typer.Option(None, "--mask", help="foreground mask image (white = object)"),
        fov: float | None = typer.Option(None, "--fov", help="vertical field of view in degrees [default: EXIF, "
                                                             "else 40]"),
        weights: Path | None = typer.Option(None, "--weights", help="inverse-graphics weights [default: shipped]"),
        renderer: Renderer = typer.Option(Renderer.mesh, "--renderer", help="who renders the yaw sweep"),
        yaw: str = typer.Option("-60:60:7", "--yaw", help="sweep yaws: FROM:TO:COUNT or one number"),
        generator: Path | None = typer.Option(None, "--generator", help="generator for --renderer gan [default: the "
                                                                       "faces job's pose-conditioned one]"),
        mapping: Path | None = typer.Option(None, "--mapping", help="attribute mapping for --renderer gan "
                                                                   "[default: shipped]"),
        size: int = typer.Option(128, "--size", help="side of the mesh sweep images"),
    ) -> None:
        """Predict a textured mesh and camera from one photo with the inverse-graphics encoder."""
        from tools.faces.job import parse_values

        yaws = parse_values(yaw, "--yaw", 180.0)
        if not 16 <= size <= 1024:
            raise ToolError(f"--size must be within 16..1024, got {size}")
        if fov is not None and not 1.0 <= fov <= 170.0:
            raise ToolError(f"--fov must be within 1..170 degrees, got {fov}")
        check_out_dir(out, replace=True)
        from tools.invgraphics.run import run_invgraphics

        result = run_invgraphics(photo, out, mask=mask, fov=fov, weights=weights, renderer=renderer.value, yaws=yaws,
                                 generator=generator, mapping=mapping, size=size)
        for note in result["notes"]:
            typer.echo(f"note: {note}", err=True)
        cam = result["camera"]
        typer.echo(f"{out}: camera yaw {cam['yaw']:.1f}° pitch {cam['pitch']:.1f}° distance {cam['distance']:.2f}; "
                   f"predicted in {result['predict_seconds']:.2f} s; {out / 'mesh.ply'}")
