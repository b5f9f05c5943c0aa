"""A plain Adam for the fitter (`torch.optim` costs seconds to import on a small CPU)."""

from __future__ import annotations

import torch


class Adam:
    """Plain Adam over parameter groups `[(tensors, lr)]`.

    `torch.optim` imports `torch._dynamo` on first use, several seconds on a small CPU: more than
    a whole small fit. The update is the textbook one (Kingma & Ba), betas (0.9, 0.999).
    """

    def __init__(self, groups: list[tuple[list[torch.Tensor], float]], betas=(0.9, 0.999), eps: float = 1e-8):
        self.groups = groups
        self.b1, self.b2, self.eps = betas[0], betas[1], eps
        self.m = [[torch.zeros_like(p) for p in ps] for ps, _ in groups]
        self.v = [[torch.zeros_like(p) for p in ps] for ps, _ in groups]
        self.t = 0

    def zero_grad(self) -> None:
        for ps, _ in self.groups:
            for p in ps:
                p.grad = None

    @torch.no_grad()
    def step(self, lr_scale: float = 1.0) -> None:
        """One update, every group's step size times `lr_scale`."""
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for (ps, lr), ms, vs in zip(self.groups, self.m, self.v, strict=True):
            for p, m, v in zip(ps, ms, vs, strict=True):
                if p.grad is None:
                    continue
                m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                p.sub_(lr_scale * lr * (m / c1) / ((v / c2).sqrt() + self.eps))
