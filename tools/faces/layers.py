"""Camera-layer discovery by style swapping (the GANverse3D observation: early layers hold the view).

For pairs of latents (a, b), the styles of a set of synthesis layers are copied from b into a. The pose
transfer of the set is how far the measured pose moves from a's toward b's (mean |Δpose| over mean
|pose(b) − pose(a)|), the identity transfer the same ratio for the identity descriptor. A camera layer
moves the pose and leaves the identity: layers are ranked by `pose − identity` transfer of their single
swap, growing sets along that ranking are scored the same way, and the best-scoring set is the camera
layers (`mixing` takes them from a camera code, everything else from the identity).
"""

from __future__ import annotations

from typing import Any

import torch

from tools.faces.control import StyleGenerator, render, sample_ws
from tools.faces.readers import Reader, Reading, appearance_proxy, read_batched


def _transfer(base: Reading, other: Reading, mixed: Reading, base_id: torch.Tensor, other_id: torch.Tensor,
              mixed_id: torch.Tensor) -> tuple[float, float]:
    pose = float((mixed.pose - base.pose).norm(dim=1).mean() / (other.pose - base.pose).norm(dim=1).mean())
    ident = float((mixed_id - base_id).norm(dim=1).mean() / (other_id - base_id).norm(dim=1).mean().clamp(min=1e-8))
    return pose, ident


def discover_camera_layers(G: StyleGenerator, reader: Reader, pairs: int = 64, seed: int = 2,
                           truncation: float = 0.7) -> tuple[tuple[int, ...], dict[str, Any]]:
    """Find the style layers that carry the view.

    Args:
        G: generator.
        reader: pose (and identity) reader; without identity an appearance proxy stands in.
        pairs: latent pairs per measurement.
        seed: seed of the latents.
        truncation: truncation of the latents.

    Returns:
        (camera layers sorted, report): the report lists per layer and per tested set the pose and
        identity transfer.
    """
    ws_a = sample_ws(G, pairs, seed, truncation)
    ws_b = sample_ws(G, pairs, seed + 1, truncation)
    img_a, img_b = render(G, ws_a), render(G, ws_b)
    read_a, read_b = read_batched(reader, img_a), read_batched(reader, img_b)

    def ident(reading: Reading, images: torch.Tensor) -> torch.Tensor:
        return reading.identity if reading.identity is not None else appearance_proxy(images)

    id_a, id_b = ident(read_a, img_a), ident(read_b, img_b)

    def score(layers: list[int]) -> tuple[float, float]:
        mixed = ws_a.clone()
        mixed[:, layers] = ws_b[:, layers]
        images = render(G, mixed)
        reading = read_batched(reader, images)
        return _transfer(read_a, read_b, reading, id_a, id_b, ident(reading, images))

    single = []
    for layer in range(G.num_ws):
        pose, identity = score([layer])
        single.append({"layer": layer, "pose_transfer": pose, "identity_transfer": identity})
    order = sorted(range(G.num_ws), key=lambda i: single[i]["pose_transfer"] - single[i]["identity_transfer"],
                   reverse=True)
    sets = []
    for k in range(1, G.num_ws + 1):
        layers = sorted(order[:k])
        pose, identity = score(layers)
        sets.append({"layers": layers, "pose_transfer": pose, "identity_transfer": identity})
    best = max(sets, key=lambda s: s["pose_transfer"] - s["identity_transfer"])
    report = {"pairs": pairs, "truncation": truncation, "single_layer": single, "sets": sets,
              "camera_layers": best["layers"], "identity_from": "descriptor" if read_a.identity is not None
              else "appearance proxy (color statistics)"}
    return tuple(best["layers"]), report
