"""The `neurender invgraphics` job: read a photo, predict, write the run folder (all or nothing)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from render3d.io import save_mesh, save_png
from render3d.structures import Meshes
from tools.errors import ToolError
from tools.invgraphics.predict import in_photo_frame, input_crop, predict
from tools.invgraphics.sweep import gan_sweep, mesh_sweep, sweep_sheet
from tools.invgraphics.weights import load_model
from tools.rundir import staged_dir


def _strip(images: torch.Tensor) -> torch.Tensor:
    """`[N, S, S, 3]` → one `[S, N·S, 3]` row."""
    return torch.cat(list(images), 1)


def load_neural_renderer(encoder, generator: Path | None, mapping: Path | None, encoder_path: Path | None = None):
    """The GAN renderer for `encoder`: the generator (default: the pose-conditioned one the shipped mapping was
    trained for, `weights/neural_renderer_generator.safetensors`)
    and the attribute mapping (default: shipped), and notes when they were not trained together.

    Raises:
        ToolError: missing or unusable files, a mapping whose sizes or kind (label-free or W+) do not fit them, or
            one trained for another generator (`check_pair`).
    """
    from tools.invgraphics.neural_renderer import NeuralRenderer
    from tools.invgraphics.neural_renderer_train import check_pair, load_generator, load_mapping
    from tools.invgraphics.weights import DEFAULT_WEIGHTS, WEIGHTS_DIR

    # The shipped mapping is only valid for the generator it was trained with, so that generator ships beside it
    # (the faces job's default may move on to a retrained one).
    generator = generator or WEIGHTS_DIR / "neural_renderer_generator.safetensors"
    mapping = mapping or WEIGHTS_DIR / "neural_renderer.safetensors"
    G = load_generator(generator)
    M, extra = load_mapping(mapping)
    if M.config.w_dim != G.w_dim or M.config.num_ws != G.num_ws:
        raise ToolError(f"--mapping {mapping} maps to W+ [{M.config.num_ws}, {M.config.w_dim}], the generator "
                        f"takes [{G.num_ws}, {G.w_dim}]")
    c = encoder.config.net
    if (M.config.shape_dim, M.config.texture_dim) != (c.shape_dim, c.texture_dim):
        raise ToolError(f"--mapping {mapping} reads codes of another encoder")
    return NeuralRenderer(G, M, encoder), check_pair(extra, generator, encoder_path or DEFAULT_WEIGHTS)


def run_invgraphics(photo: Path, out: Path, mask: Path | None = None, fov: float | None = None,
                    weights: Path | None = None, renderer: str = "mesh", yaws: Sequence[float] = (0.0,),
                    generator: Path | None = None, mapping: Path | None = None, size: int = 128) -> dict:
    """Predict from `photo` and write the run folder `out`.

    Returns:
        what `prediction.json` holds plus "notes".

    Raises:
        ToolError: unreadable inputs or weights, no object in the photo.
    """
    from tools.reconstruct.inputs import photo_intrinsics, photo_mask
    from tools.reconstruct.segment import load_image

    model, extra = load_model(weights)
    image, alpha = load_image(photo)
    H, W = image.shape[:2]
    obj, mask_source, notes = photo_mask(image, alpha, None if mask is None else str(mask))
    K, k_source = photo_intrinsics(photo, W, H, None, fov)
    if obj.sum() < 16:
        raise ToolError(f"no object found in {photo}: the mask covers fewer than 16 pixels")
    neural = None
    if renderer in ("gan", "both"):
        neural, pair_notes = load_neural_renderer(model, generator, mapping, weights)
        notes = [*notes, *pair_notes]
    t0 = time.perf_counter()
    pred, _ = predict(model, image, obj, K)
    seconds = time.perf_counter() - t0
    mesh = in_photo_frame(pred)
    crop, cmask, _, _ = input_crop(image, obj, K, model.resolution)
    sweeps = {}
    if renderer in ("mesh", "both"):
        sweeps["mesh"] = mesh_sweep(model, image, obj, K, yaws, size)[0]
    if neural is not None:
        sweeps["gan"] = gan_sweep(neural, image, obj, K, yaws)
    cam = pred.camera[0].tolist()
    result = {"photo": str(photo), "weights": str(weights) if weights else "shipped", "mask_source": mask_source,
              "K_source": k_source, "K": K.tolist(), "yaws": list(yaws), "renderer": renderer,
              "camera": {"yaw": cam[0], "pitch": cam[1], "roll": cam[2], "distance": cam[3]},
              "predict_seconds": seconds, "verts": int(mesh.verts.shape[0]), "faces": int(mesh.faces.shape[0]),
              "weights_scores": extra.get("scores")}
    with staged_dir(out) as tmp:
        save_mesh(tmp / "mesh.ply", Meshes([mesh.verts], [mesh.faces], vert_colors=[mesh.radiance]))
        save_png(tmp / "input.png", torch.cat([crop, cmask[..., None].expand(-1, -1, 3)], 1))
        for name, images in sweeps.items():
            save_png(tmp / f"sweep_{name}.png", _strip(images))
        if len(sweeps) > 1:
            save_png(tmp / "sheet.png", sweep_sheet([sweeps["mesh"], sweeps["gan"]], size))
        (tmp / "prediction.json").write_text(json.dumps(result, indent=2))
    return {**result, "notes": notes}
