"""Files of a faces run: one PNG per view, a labelled grid per identity, poses.json, metrics.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageFont

LABEL_HEIGHT = 22


def to_pil(image: torch.Tensor, size: int) -> Image.Image:
    """gan2d image `[3, R, R]` in [-1, 1] → RGB Pillow image of `size`² (Lanczos when resized).

    uint8 conversion as the official tools do (`x · 127.5 + 128`, clamped).
    """
    arr = (image.permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()
    img = Image.fromarray(arr)
    return img if img.size == (size, size) else img.resize((size, size), Image.Resampling.LANCZOS)


def view_name(seed: int | None, yaw: float, pitch: float) -> str:
    """`seed0007_yaw-40_pitch+15.png` (`photo_…` for a photo); angles to 0.1°, trailing zeros dropped."""
    who = "photo" if seed is None else f"seed{seed:04d}"
    return f"{who}_yaw{yaw:+g}_pitch{pitch:+g}.png".replace("+-", "-")


def labelled_grid(cells: list[Image.Image], labels: list[str], cols: int, title: str) -> Image.Image:
    """Cells row-major in a `cols`-wide grid, each with its label underneath, a title line on top.

    Cells smaller than 96 px are upscaled (nearest) so a person can read them.
    """
    side = cells[0].size[0]
    scale = max(1, -(-96 // side))
    cell = side * scale
    rows = -(-len(cells) // cols)
    font = ImageFont.load_default()
    sheet = Image.new("RGB", (cols * cell, LABEL_HEIGHT + rows * (cell + LABEL_HEIGHT)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), title, fill="black", font=font)
    for i, (img, label) in enumerate(zip(cells, labels, strict=True)):
        r, c = divmod(i, cols)
        x, y = c * cell, LABEL_HEIGHT + r * (cell + LABEL_HEIGHT)
        sheet.paste(img.resize((cell, cell), Image.Resampling.NEAREST), (x, y))
        draw.text((x + 3, y + cell + 5), label, fill="black", font=font)
    return sheet


def write_json(path: Path, data: Any) -> None:
    """JSON with two-space indentation (the caller writes into a staged run folder)."""
    path.write_text(json.dumps(data, indent=2))



def write_identity(result: Any, grid: torch.Tensor, who: int | None, size: int, folder: Path, n_cols: int,
                   title: str, views: list[dict], outside: list[dict]) -> None:
    """Save one identity's closed-loop views (`result.images [V, 3, R, R]`, `result.measured [V, 2]`,
    `result.in_range [V]`, requested at `grid [V, 2]`) and its labelled grid into `folder`; append their
    `poses.json` entries to `views` and the requests outside the control's range to `outside`."""
    cells, labels = [], []
    for v, (target, got) in enumerate(zip(grid.tolist(), result.measured.tolist(), strict=True)):
        name = view_name(who, target[0], target[1])
        img = to_pil(result.images[v], size)
        img.save(folder / name)
        cells.append(img)
        labels.append(f"{target[0]:+.0f}/{target[1]:+.0f} -> {got[0]:+.1f}/{got[1]:+.1f}")
        views.append({"file": name, "seed": who, "yaw": target[0], "pitch": target[1],
                      "yaw_measured": round(got[0], 3), "pitch_measured": round(got[1], 3)})
        if not bool(result.in_range[v]):
            outside.append({"seed": who, "yaw": target[0], "pitch": target[1], "yaw_measured": round(got[0], 2),
                            "pitch_measured": round(got[1], 2)})
    labelled_grid(cells, labels, n_cols, title).save(folder / f"grid_{view_name(who, 0, 0).split('_')[0]}.png")
