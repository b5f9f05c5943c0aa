"""Parameters of the procedural head: proportions, facial features, skin, hair and eye colors.

Every field left None is drawn from `seed`, so `HeadParams(seed=s)` is one reproducible random
identity and any field can be pinned. `resolved()` returns the fully specified parameters;
`shape_code()` / `appearance_code()` flatten them into the vectors the dataset engine records.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field

from scenes.spectypes import Color, Spec

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Scale = Annotated[float, Field(ge=0.5, le=1.5)]

SKIN_PALETTE = ((0.98, 0.84, 0.74), (0.90, 0.70, 0.56), (0.74, 0.52, 0.38), (0.52, 0.34, 0.23), (0.33, 0.21, 0.14))
HAIR_PALETTE = ((0.05, 0.04, 0.04), (0.22, 0.13, 0.07), (0.42, 0.27, 0.14), (0.80, 0.64, 0.36),
                (0.55, 0.22, 0.09), (0.62, 0.62, 0.62))
EYE_PALETTE = ((0.30, 0.18, 0.09), (0.18, 0.35, 0.60), (0.28, 0.42, 0.22), (0.45, 0.32, 0.15))

# (field, low, high) of the scalar fields drawn uniformly when unset.
_RANGES = (
    ("width", 0.85, 1.1), ("height", 0.92, 1.08), ("depth", 0.9, 1.1), ("jaw", 0.2, 0.8), ("chin", 0.0, 1.0),
    ("nose_length", 0.0, 1.0), ("nose_width", 0.0, 1.0), ("brow", 0.0, 1.0), ("eye_size", 0.85, 1.15),
    ("eye_spacing", 0.9, 1.1), ("lips", 0.0, 1.0), ("ears", 0.0, 1.0), ("hairline", 0.0, 1.0),
    ("hair_volume", 0.0, 1.0), ("skin_tone", 0.0, 1.0),
)
SHAPE_FIELDS = ("width", "height", "depth", "jaw", "chin", "nose_length", "nose_width", "brow", "eye_size",
                "eye_spacing", "lips", "ears", "hairline", "hair_volume")


class HeadParams(Spec):
    """A procedural head, facing +Z with +Y up, about 1.1 units tall including the neck.

    Attributes:
        seed: draws every field left None.
        width, height, depth: skull proportions, relative to an average head (1.0).
        jaw: 0 wide square jaw … 1 narrow tapered jaw.
        chin: chin protrusion, 0 receding … 1 prominent.
        nose_length, nose_width: nose protrusion and breadth, 0 … 1.
        brow: brow-ridge strength, 0 … 1.
        eye_size, eye_spacing: eye scale and inter-ocular distance relative to average.
        lips: lip fullness, 0 thin … 1 full.
        ears: ear protrusion, 0 … 1.
        hairline: 0 high (receding) … 1 low fringe.
        hair_volume: hair thickness on the skull, 0 … 1.
        skin_tone: 0 lightest … 1 darkest along a five-color palette (ignored if `skin_color` is set).
        skin_color, hair_color, eye_color: explicit colors; drawn from palettes when None.
        segments, rings: mesh resolution around and from pole to pole.
        texture_size: texture height in pixels (width is twice that).
    """

    type: Literal["head"] = "head"
    seed: Annotated[int, Field(ge=0)] = 0
    width: Scale | None = None
    height: Scale | None = None
    depth: Scale | None = None
    jaw: Unit | None = None
    chin: Unit | None = None
    nose_length: Unit | None = None
    nose_width: Unit | None = None
    brow: Unit | None = None
    eye_size: Scale | None = None
    eye_spacing: Scale | None = None
    lips: Unit | None = None
    ears: Unit | None = None
    hairline: Unit | None = None
    hair_volume: Unit | None = None
    skin_tone: Unit | None = None
    skin_color: Color | None = None
    hair_color: Color | None = None
    eye_color: Color | None = None
    segments: Annotated[int, Field(ge=16, le=512)] = 72
    rings: Annotated[int, Field(ge=16, le=512)] = 56
    texture_size: Annotated[int, Field(ge=32, le=4096)] = 256

    def resolved(self) -> HeadParams:
        """Every None field drawn from `seed` (the draws do not depend on which fields are pinned)."""
        g = torch.Generator().manual_seed(self.seed)
        u = torch.rand(len(_RANGES) + 8, generator=g, dtype=torch.float64).tolist()
        upd: dict = {}
        for (name, lo, hi), x in zip(_RANGES, u, strict=False):
            if getattr(self, name) is None:
                upd[name] = lo + (hi - lo) * x
        tone = upd.get("skin_tone", self.skin_tone)
        if self.skin_color is None:
            upd["skin_color"] = _palette(SKIN_PALETTE, tone)
        if self.hair_color is None:
            base = HAIR_PALETTE[int(u[-8] * len(HAIR_PALETTE)) % len(HAIR_PALETTE)]
            upd["hair_color"] = tuple(min(1.0, max(0.0, c * (0.8 + 0.4 * u[-7]))) for c in base)
        if self.eye_color is None:
            upd["eye_color"] = EYE_PALETTE[int(u[-6] * len(EYE_PALETTE)) % len(EYE_PALETTE)]
        return self.model_copy(update=upd)

    def shape_code(self) -> list[float]:
        """The geometric parameters, in `SHAPE_FIELDS` order."""
        r = self.resolved()
        return [float(getattr(r, f)) for f in SHAPE_FIELDS]

    def appearance_code(self) -> list[float]:
        """Skin tone, skin RGB, hair RGB, eye RGB."""
        r = self.resolved()
        return [float(r.skin_tone), *r.skin_color, *r.hair_color, *r.eye_color]


def _palette(colors: tuple[tuple[float, float, float], ...], t: float) -> tuple[float, float, float]:
    x = min(max(t, 0.0), 1.0) * (len(colors) - 1)
    i = min(int(x), len(colors) - 2)
    f = x - i
    return tuple(a + (b - a) * f for a, b in zip(colors[i], colors[i + 1], strict=True))
