import pytest
import torch

from render3d.errors import ShapeError
from render3d.losses import silhouette_iou_loss


def test_binary_masks_match_set_iou():
    pred = torch.zeros(2, 4, 4)
    target = torch.zeros(2, 4, 4)
    pred[0, :2] = 1  # 8 px
    target[0, :, :2] = 1  # 8 px, overlap 4 → IoU 4/12
    pred[1] = 1
    target[1] = 1
    loss = silhouette_iou_loss(pred, target)
    assert float(loss) == pytest.approx(((1 - 4 / 12) + 0.0) / 2, abs=1e-5)


def test_soft_values_and_gradient():
    pred = torch.full((1, 2, 2), 0.5, requires_grad=True)
    target = torch.ones(1, 2, 2)
    loss = silhouette_iou_loss(pred, target)
    assert float(loss) == pytest.approx(0.5, abs=1e-5)  # inter 2, union 4
    loss.backward()
    assert bool((pred.grad < 0).all())  # more coverage on the target lowers the loss


def test_shape_mismatch_raises():
    with pytest.raises(ShapeError):
        silhouette_iou_loss(torch.zeros(1, 4, 4), torch.zeros(1, 4, 5))
