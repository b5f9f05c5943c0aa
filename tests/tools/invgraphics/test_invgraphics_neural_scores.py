"""Identity agreement of the neural renderer's bench on toys whose answer is known."""

from __future__ import annotations

import torch

from tools.invgraphics.neural_scores import identity_agreement


def test_identity_agreement_measures_error_in_units_of_the_spread_and_finds_the_right_input() -> None:
    reference = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])  # median distance between two: 2
    codes = reference[:, None].repeat(1, 2, 1)
    codes[0, 1] = torch.tensor([1.8, 0.0])  # view 1 of identity 0 drifted next to identity 1
    codes[2, 0] += torch.tensor([0.0, 0.5])
    error, top1 = identity_agreement(codes, reference)
    assert torch.allclose(error, torch.tensor([[0.0, 0.9], [0.0, 0.0], [0.25, 0.0]]))
    assert top1.tolist() == [[True, False], [True, True], [True, True]]
