"""The static HTML report: one self-contained file (images, GIFs and MP4s inlined as base64, plots as SVG).

For people who cannot run a server: `neurender view RUN [RUN…] --html report.html` writes the same
content the viewer's panels show, without the 3D scene. Each run page lists its content as blocks.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from render3d.io import atomic_write

_MIME = {".png": "image/png", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".mp4": "video/mp4"}
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class Images:
    """A row of captioned images; each source is a file (PNG/GIF/JPEG/MP4) or an `[H, W, 3|4]` uint8 array."""

    title: str
    items: Sequence[tuple[str, Path | np.ndarray]]


@dataclass(frozen=True)
class Table:
    """Key → value rows (metrics, settings)."""

    title: str
    rows: dict[str, object]


@dataclass(frozen=True)
class Plot:
    """Line plot of several series over one x axis (NaN = no value at that x)."""

    title: str
    x: Sequence[float]
    series: dict[str, Sequence[float]]
    x_label: str = "step"
    log_y: bool = False


@dataclass(frozen=True)
class Text:
    """A paragraph."""

    title: str
    text: str


Block = Images | Table | Plot | Text


@dataclass
class RunReport:
    """Everything one run contributes to the report."""

    title: str
    path: Path
    blocks: list[Block] = field(default_factory=list)


def data_uri(source: Path | np.ndarray) -> tuple[str, str]:
    """`(mime, data URI)` of a file or a uint8 image array (encoded as PNG)."""
    if isinstance(source, np.ndarray):
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(source).save(buf, format="PNG")
        mime, raw = "image/png", buf.getvalue()
    else:
        mime, raw = _MIME.get(source.suffix.lower(), "application/octet-stream"), source.read_bytes()
    return mime, f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def svg_plot(plot: Plot, width: int = 640, height: int = 260) -> str:
    """The plot as an inline `<svg>` element: axes with min/max labels, one polyline per series."""
    m_left, m_right, m_top, m_bottom = 56, 12, 12, 28
    x = np.asarray(plot.x, np.float64)
    ys = {k: np.asarray(v, np.float64) for k, v in plot.series.items()}
    if plot.log_y:
        ys = {k: np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan) for k, v in ys.items()}
    finite = [v[np.isfinite(v)] for v in ys.values()]
    finite = [f for f in finite if f.size]
    lo = min((float(f.min()) for f in finite), default=0.0)
    hi = max((float(f.max()) for f in finite), default=1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    if x1 - x0 < 1e-12:
        x1 = x0 + 1.0
    pw, ph = width - m_left - m_right, height - m_top - m_bottom

    def px(xv: float) -> float:
        return m_left + (xv - x0) / (x1 - x0) * pw

    def py(yv: float) -> float:
        return m_top + (1 - (yv - lo) / (hi - lo)) * ph

    def ylab(v: float) -> str:
        return _fmt(10 ** v) if plot.log_y else _fmt(v)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" class="plot">',
             f'<rect x="{m_left}" y="{m_top}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>',
             f'<text x="{m_left - 4}" y="{m_top + 10}" text-anchor="end">{ylab(hi)}</text>',
             f'<text x="{m_left - 4}" y="{m_top + ph}" text-anchor="end">{ylab(lo)}</text>',
             f'<text x="{m_left}" y="{height - 8}">{_fmt(x0)}</text>',
             f'<text x="{m_left + pw}" y="{height - 8}" text-anchor="end">'
             f"{_fmt(x1)} {html.escape(plot.x_label)}</text>"]
    for i, (name, y) in enumerate(ys.items()):
        color = _COLORS[i % len(_COLORS)]
        pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, y, strict=True) if math.isfinite(b))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>')
        if len(x) <= 50:  # few log lines: mark them, a single one draws no line
            parts.extend(f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="2.5" fill="{color}"/>'
                         for a, b in zip(x, y, strict=True) if math.isfinite(b))
        parts.append(f'<text x="{m_left + 8}" y="{m_top + 14 + 14 * i}" fill="{color}">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _block_html(block: Block) -> str:
    out = [f"<h3>{html.escape(block.title)}</h3>"]
    if isinstance(block, Images):
        out.append('<div class="row">')
        for caption, source in block.items:
            mime, uri = data_uri(source)
            media = (f'<video src="{uri}" controls loop autoplay muted playsinline></video>' if mime == "video/mp4"
                     else f'<img src="{uri}" alt="{html.escape(caption)}">')
            out.append(f"<figure>{media}<figcaption>{html.escape(caption)}</figcaption></figure>")
        out.append("</div>")
    elif isinstance(block, Table):
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
                       for k, v in block.rows.items())
        out.append(f"<table>{rows}</table>")
    elif isinstance(block, Plot):
        out.append(svg_plot(block))
    else:
        out.append(f"<p>{html.escape(block.text)}</p>")
    return "".join(out)


_STYLE = """body{font-family:sans-serif;margin:24px;color:#222}h2{border-bottom:1px solid #ccc;padding-bottom:4px}
.row{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure img,figure video{max-width:320px;min-height:128px;
image-rendering:pixelated;border:1px solid #ddd}figcaption{font-size:12px;color:#555}table{border-collapse:collapse}
th,td{border:1px solid #ddd;padding:2px 8px;text-align:left;font-size:13px}.plot text{font-size:11px}
code{background:#f4f4f4}"""


def render_html(reports: Sequence[RunReport]) -> str:
    """The whole report document as a string."""
    body = []
    for r in reports:
        body.append(f"<section><h2>{html.escape(r.title)}</h2><p><code>{html.escape(str(r.path))}</code></p>")
        body.extend(_block_html(b) for b in r.blocks)
        body.append("</section>")
    title = html.escape(", ".join(r.title for r in reports))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title><style>{_STYLE}</style>'
            f"</head><body><h1>neurender report</h1>{''.join(body)}</body></html>\n")


def write_html(path: str | os.PathLike, reports: Sequence[RunReport]) -> Path:
    """Write the report atomically; returns the path."""
    text = render_html(reports)
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
