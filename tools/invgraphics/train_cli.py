"""`neurender train inverse-graphics`: train the inverse-graphics encoder on multi-view sets (resumable).

The shipped weights (`tools/invgraphics/weights/MODEL_CARD.md`, whose Reproduce section has the exact
lines of the run they came from) are reproduced by the data engine's sets and the default options:

    neurender datagen --kind shapes --count 600 --views 4 --size 64 --seed 13 --out data/shapes
    neurender datagen --kind heads --count 500 --views 4 --size 64 --seed 13 --out data/heads
    neurender train inverse-graphics --data data/shapes --data data/heads --kimg KIMG --out runs/invgraphics \\
        --export tools/invgraphics/weights/invgraphics.safetensors

The shipped neural renderer (`tools/invgraphics/weights/NEURAL_RENDERER.md`) is the label-free mapping of the
faces job's pose-conditioned generator, reproduced by

    neurender train neural-renderer --generator tools/invgraphics/weights/neural_renderer_generator.safetensors \
        --kimg 20 --out runs/neural_renderer --export tools/invgraphics/weights/neural_renderer.safetensors

Only typer and the standard library load at import; the command imports torch when it runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tools.errors import ToolError
from tools.rundir import check_out_dir


def register(app: typer.Typer) -> None:
    @app.command("inverse-graphics")
    def train_inverse_graphics(
        out: Path = typer.Option(..., "--out", help="run directory"),
        data: list[Path] = typer.Option([], "--data", help="a multi-view set (datagen --kind shapes|heads, "
                                                           "datagen --from-gan); repeat for several"),
        kimg: float | None = typer.Option(None, help="length in thousands of samples [default: 40]"),
        batch: int = typer.Option(8, help="samples per step (each renders 1 + --other-views views)"),
        other_views: int = typer.Option(2, "--other-views", help="views per sample for multi-view consistency"),
        level: int = typer.Option(3, help="template icosphere level (3: 642 vertices)"),
        symmetric: bool = typer.Option(False, "--symmetric/--no-symmetric", help="left-right symmetric shapes "
                                                                                 "and textures"),
        radial: bool = typer.Option(True, "--radial/--free", help="vertices move along the template's normals "
                                                                 "(star-shaped surfaces), or freely in 3D"),
        lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate"),
        vgg: Path | None = typer.Option(None, "--vgg", help="local torchvision VGG16 state dict: adds a "
                                                           "perceptual loss"),
        init: Path | None = typer.Option(None, "--init", help="start from these weights (fine-tuning; the model "
                                                             "options then come from them)"),
        repeat: list[int] = typer.Option([], "--repeat", help="per --data, how often its samples are listed "
                                                              "(weighs small sets up) [default: 1 each]"),
        resume: bool = typer.Option(False, "--resume", help="continue --out from its latest snapshot"),
        seed: int = typer.Option(0, help="seeds the data order and every random draw"),
        export: Path | None = typer.Option(None, "--export", help="write the final averaged encoder here as "
                                                                 "weights (.safetensors + .json)"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Train the inverse-graphics encoder through the differentiable renderer (reproduces the shipped weights)."""
        from dataclasses import replace

        from gan2d.nets.invgraphics import InverseGraphicsConfig
        from tools.invgraphics.data import SetSpec
        from tools.invgraphics.model import ModelConfig
        from tools.invgraphics.task import TaskSettings
        from tools.invgraphics.train import TrainRun, default_loop, export_weights, load_run, run_training

        check_out_dir(out)
        if resume:
            run = load_run(out, kimg)
        else:
            if not data:
                raise ToolError("give at least one --data multi-view set")
            if not 0 <= level <= 4:
                raise ToolError(f"--level must be within 0..4, got {level}")
            if not 1 <= other_views <= 8:
                raise ToolError(f"--other-views must be within 1..8, got {other_views}")
            if vgg is not None and not vgg.is_file():
                raise ToolError(f"--vgg {vgg}: no such file")
            if repeat and (len(repeat) != len(data) or min(repeat) < 1):
                raise ToolError(f"--repeat takes one count >= 1 per --data ({len(data)}), got {repeat}")
            loop = replace(default_loop(), batch_size=batch, lr_g=lr, lr_d=lr, seed=seed, progress=progress,
                           **({} if kimg is None else {"total_kimg": kimg}))
            if init is not None:
                from tools.invgraphics.weights import load_model

                model = load_model(init)[0].config
            else:
                net = InverseGraphicsConfig(num_verts=10 * 4**level + 2, offset_channels=1 if radial else 3)
                model = ModelConfig(net, level, symmetric)
            counts = repeat or [1] * len(data)
            run = TrainRun(tuple(SetSpec(str(d), repeat=r) for d, r in zip(data, counts, strict=True)), model, loop,
                           TaskSettings(other_views=other_views), None if vgg is None else str(vgg),
                           None if init is None else str(init))
        result = run_training(run, out, resume)
        typer.echo(f"{out}: {result.steps} steps, {result.nimg / 1000:.1f} kimg; last snapshot {result.last_snapshot}")
        if export is not None:
            typer.echo(f"weights: {export_weights(out, export)}")

    @app.command("neural-renderer")
    def train_neural_renderer(
        out: Path = typer.Option(..., "--out", help="run directory"),
        generator: Path | None = typer.Option(None, "--generator", help="generator checkpoint (.safetensors, .pkl, "
                                                                       ".pt) [default: the faces job's embedded "
                                                                       "pose-conditioned one]"),
        encoder: Path | None = typer.Option(None, "--encoder", help="inverse-graphics weights [default: shipped]"),
        kimg: float | None = typer.Option(None, help="length in thousands of generated samples [default: 20]"),
        batch: int = typer.Option(8, help="samples per step"),
        camera_layers: int = typer.Option(4, "--camera-layers", help="leading W+ layers the camera drives "
                                                                         "(a W-space generator's mapping)"),
        lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate"),
        pose_critic: Path | None = typer.Option(None, "--pose-critic", help="a head analyzer (not the faces "
                                                "bundle's, which the bench measures with) whose pose reading of the "
                                                "renders must match the requested camera"),
        w_pose: float = typer.Option(1.0, "--w-pose", help="weight of that pose term (with --pose-critic)"),
        resume: bool = typer.Option(False, "--resume", help="continue --out from its latest snapshot"),
        seed: int = typer.Option(0, help="seeds every latent and requested camera"),
        export: Path | None = typer.Option(None, "--export", help="write the final averaged mapping here"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
    ) -> None:
        """Train the GAN's attribute mapping: the generator renders encoded objects at requested cameras."""
        from dataclasses import replace

        from tools.invgraphics.neural_renderer import NeuralRendererSettings
        from tools.invgraphics.neural_renderer_train import (
            NeuralRendererRun,
            default_loop,
            export_mapping,
            load_run,
            run_training,
        )
        from tools.invgraphics.weights import DEFAULT_WEIGHTS

        check_out_dir(out)
        if not w_pose >= 0:
            raise ToolError(f"--w-pose must be >= 0, got {w_pose}")
        if resume:
            run = load_run(out, kimg)
        else:
            if generator is None:
                from tools.faces.bundle import CONDITIONED, WEIGHTS_DIR

                generator = WEIGHTS_DIR / CONDITIONED
            for name, path in (("--generator", generator), ("--encoder", encoder or DEFAULT_WEIGHTS),
                               ("--pose-critic", pose_critic)):
                if path is not None and not Path(path).is_file():
                    raise ToolError(f"{name} {path}: no such file")
            loop = replace(default_loop(), batch_size=batch, lr_g=lr, lr_d=lr, seed=seed, progress=progress,
                           **({} if kimg is None else {"total_kimg": kimg}))
            settings = NeuralRendererSettings(w_pose=w_pose if pose_critic is not None else 0.0)
            run = NeuralRendererRun(str(generator), str(encoder or DEFAULT_WEIGHTS), camera_layers, loop=loop,
                                    settings=settings, pose_critic=None if pose_critic is None else str(pose_critic))
        result = run_training(run, out, resume)
        typer.echo(f"{out}: {result.steps} steps, {result.nimg / 1000:.1f} kimg; last snapshot {result.last_snapshot}")
        if export is not None:
            typer.echo(f"weights: {export_mapping(out, export)}")
