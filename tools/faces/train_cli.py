"""`neurender train faces`: reproduce the embedded faces models (resumable stages in one run folder).

Only typer and the standard library load at import.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tools.errors import ToolError
from tools.rundir import check_out_dir

STAGE_NAMES = ("all", "data", "analyzer", "gan", "control", "inverter")


def register(train_app: typer.Typer) -> None:
    """Add `faces` to the `train` group."""

    @train_app.command("faces")
    def faces_cmd(
        out: Path = typer.Option(..., "--out", help="run folder; rerunning continues where it stopped"),
        stage: str = typer.Option("all", help=f"stage to run: {'|'.join(STAGE_NAMES)}"),
        kimg: float | None = typer.Option(None, help="generator length in thousands of images [default 150]"),
        identities: int = typer.Option(3000, help="heads in the generator's training set (4 views each)"),
        export: Path | None = typer.Option(None, "--export", help="copy the finished models here with a model card"),
        bench_json: Path | None = typer.Option(None, "--bench-json", help="bench faces JSON to cite in the card"),
        progress: bool = typer.Option(True, "--progress/--no-progress"),
        pose_conditioned: bool = typer.Option(False, "--pose-conditioned", help="train the generator of "
                                              "`faces --method condition` (conditioned on the heads' yaw/pitch) "
                                              "instead (its inverter stage trains the conditioned photo inverter; "
                                              "the control stage is the default one's only)"),
        view_pairs: float = typer.Option(0.0, "--view-pairs", help="weight of the view-pair discriminator, which "
                                         "ties identity across a turn (with --pose-conditioned; 0 = none)"),
        start_from: Path | None = typer.Option(None, "--start-from", help="start the generator from this run's "
                                               "weights (RUN, RUN/gan or a snapshot folder), or from a generator "
                                               "file such as the shipped one (with its run's D and P when they lie "
                                               "beside it as NAME.D/.P.safetensors, else D starts fresh); a new run "
                                               "only"),
        d_warmup: float | None = typer.Option(None, "--d-warmup", help="kimg the discriminators train alone "
                                              "before the generator moves [default: 4 from a generator file "
                                              "without its D beside it, else 0]"),
        view_identity: float = typer.Option(0.0, "--view-identity", help="weight of the identity-descriptor "
                                            "agreement of the generator's view pairs (with --view-pairs)"),
        identity_critic: Path | None = typer.Option(None, "--identity-critic", help="head analyzer whose "
                                                    "descriptors --view-identity compares and whose pose "
                                                    "--view-pose reads (train a second one: the bench measures "
                                                    "with the bundle's)"),
        view_identity_relative: bool = typer.Option(False, "--view-identity-relative", help="divide "
                                                    "--view-identity's distance by the batch's distances between "
                                                    "different latents (making every head alike does not pay)"),
        view_pose: float = typer.Option(0.0, "--view-pose", help="weight of the critic's pose error against each "
                                        "generated view's label (with --view-pairs and --identity-critic)"),
        lr: float = typer.Option(0.0025, "--lr", help="the generator's and discriminators' Adam learning rate"),
        view_head_only: bool = typer.Option(False, "--view-head-only", help="train only the label's style "
                                            "offsets of a --start-from generator (the rest of it frozen)"),
        analyzer_seed: int | None = typer.Option(None, "--analyzer-seed", help="seed of the head analyzer's "
                                                 "draws (a second one for --identity-critic needs another) "
                                                 "[default, as for the three below: AnalyzerTrainConfig's]"),
        analyzer_channels: int | None = typer.Option(None, "--analyzer-channels", help="the analyzer encoder's "
                                                     "width at full resolution"),
        analyzer_contrastive: float | None = typer.Option(None, "--analyzer-contrastive", help="weight of the "
                                                          "analyzer's contrastive identity term (InfoNCE over "
                                                          "two views per head; 0 = off)"),
        analyzer_batch: int | None = typer.Option(None, "--analyzer-batch", help="images per analyzer step "
                                                  "(heads and images without a face)"),
    ) -> None:
        """Train the faces generator, head analyzer, pose control and photo inverter."""
        if stage not in STAGE_NAMES:
            raise ToolError(f"--stage must be one of {', '.join(STAGE_NAMES)}, got {stage!r}")
        if kimg is not None and not kimg > 0:
            raise ToolError(f"--kimg must be positive, got {kimg}")
        if identities < 8:
            raise ToolError(f"--identities must be at least 8, got {identities}")
        if view_pairs < 0 or (view_pairs > 0 and not pose_conditioned):
            raise ToolError(f"--view-pairs must be >= 0 and needs --pose-conditioned, got {view_pairs}")
        if view_identity < 0 or (view_identity > 0 and (view_pairs <= 0 or identity_critic is None)):
            raise ToolError(f"--view-identity must be >= 0 and needs --view-pairs and --identity-critic, got "
                            f"{view_identity}")
        if view_pose < 0 or (view_pose > 0 and (view_pairs <= 0 or identity_critic is None)):
            raise ToolError(f"--view-pose must be >= 0 and needs --view-pairs and --identity-critic, got {view_pose}")
        if not 0 < lr <= 1:
            raise ToolError(f"--lr must be in (0, 1], got {lr}")
        if view_head_only and (not pose_conditioned or start_from is None):
            raise ToolError("--view-head-only fine-tunes a trained pose-conditioned generator: it needs "
                            "--pose-conditioned and --start-from")
        analyzer_settings = {k: v for k, v in (("seed", analyzer_seed), ("base_channels", analyzer_channels),
                                               ("contrastive_weight", analyzer_contrastive),
                                               ("batch", analyzer_batch)) if v is not None}
        limits = (("--analyzer-channels", analyzer_channels, 1), ("--analyzer-contrastive", analyzer_contrastive, 0),
                  ("--analyzer-batch", analyzer_batch, 8))
        if d_warmup is not None and not d_warmup >= 0:
            raise ToolError(f"--d-warmup must be >= 0, got {d_warmup}")
        for flag, value, least in limits:
            if value is not None and value < least:
                raise ToolError(f"{flag} must be >= {least}, got {value}")
        if identity_critic is not None:
            from tools.faces.analyzer import load_analyzer

            load_analyzer(identity_critic)  # a bad file fails here, before any run folder is written
        start = None
        if start_from is not None:
            from tools.faces.train import start_snapshot

            start = str(start_snapshot(start_from).resolve())
        check_out_dir(out)
        import dataclasses

        from tools.faces import train as stages
        from tools.faces.invert import InverterTrainConfig

        opts = stages.FacesTrainOptions(identities=identities)
        opts = dataclasses.replace(opts, analyzer=dataclasses.replace(opts.analyzer, **analyzer_settings))
        if kimg is not None:
            opts = dataclasses.replace(opts, gan=dataclasses.replace(opts.gan, kimg=kimg))
        opts = dataclasses.replace(opts, gan=dataclasses.replace(opts.gan, progress=progress,
                                                                 pose_conditioned=pose_conditioned,
                                                                 view_pairs=view_pairs, start_from=start,
                                                                 view_identity=view_identity, d_warmup=d_warmup,
                                                                 view_pose=view_pose, view_head_only=view_head_only,
                                                                 view_identity_relative=view_identity_relative, lr=lr,
                                                                 identity_critic=None if identity_critic is None
                                                                 else str(identity_critic.resolve())))
        if pose_conditioned and export is not None:
            raise ToolError("--export writes the unconditioned bundle; pass a pose-conditioned generator's "
                            "RUN/gan snapshot to `neurender faces --method condition --weights`")
        if pose_conditioned and stage == "control":
            raise ToolError(f"--stage {stage} is for the unconditioned generator; a pose-conditioned one needs no "
                            "W-space control (use `neurender faces --method condition`)")
        todo = STAGE_NAMES[1:] if stage == "all" else (stage,)
        if pose_conditioned:
            todo = tuple(t for t in todo if t != "control")
        out.mkdir(parents=True, exist_ok=True)
        import json

        (out / "options.json").write_text(json.dumps(stages.options_dict(opts), indent=2))
        for name in todo:
            typer.echo(f"stage {name}", err=True)
            if name == "data":
                stages.stage_data(out, opts, progress)
            elif name == "analyzer":
                scores = stages.stage_analyzer(out, opts, progress)
                floor = scores["noise_floor"]
                typer.echo(f"analyzer held-out median |error|: yaw {floor['yaw_median_abs']:.2f}°, pitch "
                           f"{floor['pitch_median_abs']:.2f}°")
            elif name == "gan":
                stages.stage_gan(out, opts)
            elif name == "control":
                stages.stage_control(out, progress)
            else:
                stages.stage_inverter(out, InverterTrainConfig(), progress)
        if export is not None:
            from tools.faces.export import export_weights

            typer.echo(f"exported to {export_weights(out, export, bench_json)}")
