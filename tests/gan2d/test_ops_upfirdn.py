"""upfirdn2d: fast path vs reference vs a NumPy loop, shapes of up/downsample2d, first and second order grads."""

import itertools

import numpy as np
import pytest
import torch

from gan2d.errors import ConfigError, ShapeError
from gan2d.ops.upfirdn2d import downsample2d, setup_filter, upfirdn2d, upfirdn2d_reference, upsample2d


def numpy_upfirdn(x: np.ndarray, f: np.ndarray, up: int, down: int, pad: list[int], flip: bool, gain: float):
    """Direct loops over one [H, W] image: zero insertion, pad/crop, true convolution, decimation."""
    px0, px1, py0, py1 = pad
    H, W = x.shape
    u = np.zeros((H * up, W * up))
    u[::up, ::up] = x
    u = np.pad(u, ((max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0))))
    u = u[max(-py0, 0): u.shape[0] - max(-py1, 0), max(-px0, 0): u.shape[1] - max(-px1, 0)]
    k = f * gain if flip else (f * gain)[::-1, ::-1]
    kh, kw = f.shape
    out = np.zeros((u.shape[0] - kh + 1, u.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (u[i:i + kh, j:j + kw] * k).sum()
    return out[::down, ::down]


PADS = [[0, 0, 0, 0], [2, 1, 2, 1], [1, 2, 3, -1], [-1, 0, 2, 1]]
CASES = list(itertools.product([1, 2, 3], [1, 2], PADS, [False, True]))


@pytest.mark.parametrize(("up", "down", "pad", "flip"), CASES)
def test_fast_reference_and_numpy_agree(up, down, pad, flip):
    g = torch.Generator().manual_seed(up * 100 + down * 10 + pad[0])
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64, generator=g)
    f = torch.rand(4, 3, dtype=torch.float64, generator=g)  # asymmetric: catches flips
    fast = upfirdn2d(x, f, up, down, pad, flip, gain=1.5)
    ref = upfirdn2d_reference(x, f, up, down, pad, flip, gain=1.5)
    want = numpy_upfirdn(x[1, 2].numpy(), f.numpy(), up, down, pad, flip, 1.5)
    assert fast.shape == ref.shape
    assert fast.shape[2:] == want.shape
    np.testing.assert_allclose(ref[1, 2].numpy(), want, atol=1e-12)
    np.testing.assert_allclose(fast.numpy(), ref.numpy(), atol=1e-12)


def test_setup_filter_is_normalized_outer_product():
    f = setup_filter([1, 3, 3, 1])
    expected = np.outer([1, 3, 3, 1], [1, 3, 3, 1]) / 64.0
    np.testing.assert_allclose(f.numpy(), expected, rtol=1e-7)
    with pytest.raises(ConfigError):
        setup_filter([])


def test_resampling_shapes_and_dc_gain():
    f = setup_filter([1, 3, 3, 1])
    ones = torch.ones(1, 2, 8, 8)
    up = upsample2d(ones, f)
    down = downsample2d(ones, f)
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    # Away from the zero-padded border a constant image stays constant (filter sums to 1, gain up^2).
    assert torch.allclose(up[:, :, 2:-2, 2:-2], torch.ones(1, 2, 12, 12))
    assert torch.allclose(down[:, :, 1:-1, 1:-1], torch.ones(1, 2, 2, 2))


def test_bad_inputs_raise():
    f = setup_filter([1, 3, 3, 1])
    with pytest.raises(ShapeError):
        upfirdn2d(torch.ones(2, 8, 8), f)
    with pytest.raises(ShapeError):
        upfirdn2d(torch.ones(1, 1, 8, 8), torch.ones(4))
    with pytest.raises(ConfigError):
        upfirdn2d(torch.ones(1, 1, 8, 8), f, up=0)


@pytest.mark.parametrize(("up", "down"), [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_first_and_second_order_grads_match_reference(up, down):
    f = setup_filter([1, 3, 3, 1]).double()
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn_like(upfirdn2d_reference(x, f, up, down, [2, 1, 2, 1]))

    def grads(op):
        y = op(x, f, up, down, [2, 1, 2, 1])
        (gx,) = torch.autograd.grad((y.square() * w).sum(), x, create_graph=True)
        (ggx,) = torch.autograd.grad(gx.square().sum(), x)
        return gx.detach(), ggx

    gx_fast, gg_fast = grads(upfirdn2d)
    gx_ref, gg_ref = grads(upfirdn2d_reference)
    assert torch.allclose(gx_fast, gx_ref, atol=1e-10)
    assert torch.allclose(gg_fast, gg_ref, atol=1e-10)


def test_gradcheck_fast_path():
    f = setup_filter([1, 3, 3, 1]).double()
    x = torch.randn(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: upfirdn2d(t, f, up=2, padding=[2, 1, 2, 1], gain=4), (x,))
    assert torch.autograd.gradgradcheck(lambda t: upfirdn2d(t, f, down=2, padding=1).square(), (x,))
