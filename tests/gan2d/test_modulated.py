"""Modulated conv (fused vs non-fused vs per-sample loop), conv2d_resample and bias_act fast vs reference,
equalized-lr gains, noise modes, minibatch stddev — forward, first- and second-order gradients."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from gan2d.errors import ConfigError, ShapeError
from gan2d.layers.equalized import EqualConv2d, EqualLinear
from gan2d.layers.mbstd import minibatch_stddev
from gan2d.layers.modulated import ModulatedConv2d, ToRGB
from gan2d.layers.noise import NoiseInjection
from gan2d.ops.bias_act import bias_act, bias_act_reference
from gan2d.ops.conv2d_resample import conv2d_resample, conv2d_resample_reference
from gan2d.ops.modulated_conv2d import modulated_conv2d
from gan2d.ops.upfirdn2d import setup_filter, upfirdn2d_reference

F64 = torch.float64


def _grads(fn, inputs):
    """Output, first-order grads, and grads of the squared first-order grad norm (double backward)."""
    y = fn(*inputs)
    probe = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
    g1 = torch.autograd.grad((y * probe).sum(), inputs, create_graph=True)
    norm = sum(g.square().sum() for g in g1)
    if not norm.requires_grad:  # piecewise-linear ops have identically zero second derivatives
        return y.detach(), [g.detach() for g in g1], [torch.zeros_like(t) for t in inputs]
    g2 = torch.autograd.grad(norm, inputs, allow_unused=True, materialize_grads=True)
    return y.detach(), [g.detach() for g in g1], g2


def _assert_same(a, b, atol=1e-9):
    ya, g1a, g2a = a
    yb, g1b, g2b = b
    assert torch.allclose(ya, yb, atol=atol)
    for u, v in zip([*g1a, *g2a], [*g1b, *g2b], strict=True):
        assert torch.allclose(u, v, atol=atol)


@pytest.mark.parametrize(("up", "down", "k", "groups", "flip"),
                         [c for c in itertools.product([1, 2], [1, 2], [1, 3], [1, 2], [True, False])
                          if not (c[0] > 1 and c[1] > 1)])
def test_conv2d_resample_fast_equals_reference(up, down, k, groups, flip):
    f = setup_filter([1, 3, 3, 1])
    x = torch.randn(2, 4, 6, 6, dtype=F64, requires_grad=True)
    w = torch.randn(6, 4 // groups, k, k, dtype=F64, requires_grad=True)
    fast = _grads(lambda a, b: conv2d_resample(a, b, f, up, down, k // 2, groups, flip), (x, w))
    ref = _grads(lambda a, b: conv2d_resample_reference(a, b, f, up, down, k // 2, groups, flip), (x, w))
    _assert_same(fast, ref)
    assert fast[0].shape[2:] == (6 * up // down, 6 * up // down)


def _modconv_loop(x, weight, styles, up, demodulate, f):
    """Independent reference: build each sample's weight explicitly, convolve samples one at a time."""
    outs = []
    for n in range(x.shape[0]):
        w = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            w = w * (w.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).rsqrt()
        xn = x[n:n + 1]
        if up == 2:  # FIR upsample with the conv padding folded in, then a true (flipped-kernel) convolution
            xn = upfirdn2d_reference(xn, f, up=2, padding=[3, 2, 3, 2], gain=4)  # 3x3 kernel: pad 1 + FIR (2, 1)
            outs.append(F.conv2d(xn, w.flip([2, 3])))
        else:
            outs.append(F.conv2d(xn, w, padding=w.shape[-1] // 2))
    return torch.cat(outs)


@pytest.mark.parametrize(("up", "demodulate", "k"), [(1, True, 3), (2, True, 3), (1, False, 1), (1, False, 3)])
def test_modulated_conv_fused_nonfused_and_loop_agree(up, demodulate, k):
    f = setup_filter([1, 3, 3, 1]).double()
    x = torch.randn(3, 4, 5, 5, dtype=F64, requires_grad=True)
    weight = torch.randn(5, 4, k, k, dtype=F64, requires_grad=True)
    styles = torch.randn(3, 4, dtype=F64, requires_grad=True)
    flip = up == 1

    def run(fused):
        return lambda a, b, c: modulated_conv2d(a, b, c, up=up, padding=k // 2, resample_filter=f,
                                                demodulate=demodulate, flip_weight=flip, fused=fused)

    fused, nonfused = _grads(run(True), (x, weight, styles)), _grads(run(False), (x, weight, styles))
    _assert_same(fused, nonfused)
    loop = _modconv_loop(x, weight, styles, up, demodulate, f)
    assert torch.allclose(fused[0], loop.detach(), atol=1e-9)


def test_modulated_conv_noise_added_after_demodulation():
    x, weight = torch.randn(2, 3, 4, 4, dtype=F64), torch.randn(4, 3, 3, 3, dtype=F64)
    styles = torch.randn(2, 3, dtype=F64)
    noise = torch.randn(2, 1, 4, 4, dtype=F64)
    for fused in (True, False):
        with_noise = modulated_conv2d(x, weight, styles, noise=noise, padding=1, fused=fused)
        without = modulated_conv2d(x, weight, styles, padding=1, fused=fused)
        assert torch.allclose(with_noise - without, noise.expand(2, 4, 4, 4), atol=1e-12)
    with pytest.raises(ShapeError):
        modulated_conv2d(x, weight, styles[:, :2])


def test_demodulated_output_channels_have_unit_weight_norm():
    # A 1x1 demodulated conv of a one-hot input picks one normalised weight column per output channel.
    weight, styles = torch.randn(6, 3, 1, 1, dtype=F64), torch.rand(1, 3, dtype=F64) + 0.5
    eye = torch.eye(3, dtype=F64).reshape(3, 3, 1, 1)
    cols = torch.cat([modulated_conv2d(eye[i:i + 1], weight, styles) for i in range(3)], dim=0)[..., 0, 0]
    assert torch.allclose(cols.square().sum(dim=0), torch.ones(6, dtype=F64), atol=1e-6)


def test_gradcheck_modulated_conv_fused_up():
    f = setup_filter([1, 3, 3, 1]).double()
    inputs = (torch.randn(2, 2, 2, 2, dtype=F64, requires_grad=True),
              torch.randn(1, 2, 3, 3, dtype=F64, requires_grad=True),
              torch.randn(2, 2, dtype=F64, requires_grad=True))

    def fn(x, w, s):
        return modulated_conv2d(x, w, s, up=2, padding=1, resample_filter=f, flip_weight=False)

    assert torch.autograd.gradcheck(fn, inputs, fast_mode=True)
    assert torch.autograd.gradgradcheck(fn, inputs, fast_mode=True)


@pytest.mark.parametrize(("act", "gain", "clamp"), [("linear", None, None), ("lrelu", None, 0.5), ("relu", 2.0, None),
                                                    ("lrelu", 0.7, 1.0)])
def test_bias_act_fast_equals_reference(act, gain, clamp):
    x = torch.randn(3, 4, 5, dtype=F64, requires_grad=True)
    b = torch.randn(4, dtype=F64, requires_grad=True)
    fast = _grads(lambda a, c: bias_act(a, c, act=act, gain=gain, clamp=clamp), (x, b))
    ref = _grads(lambda a, c: bias_act_reference(a, c, act=act, gain=gain, clamp=clamp), (x, b))
    _assert_same(fast, ref)


def test_bias_act_known_values_and_errors():
    x = torch.tensor([[-1.0, 2.0, 400.0]])
    y = bias_act(x, torch.tensor([0.0, 1.0, 0.0]), dim=1, act="lrelu", clamp=256.0)
    assert torch.allclose(y, torch.tensor([[-0.2 * math.sqrt(2), 3 * math.sqrt(2), 256.0]]))
    with pytest.raises(ConfigError):
        bias_act(x, act="gelu")
    with pytest.raises(ShapeError):
        bias_act(x, torch.zeros(2))


def test_equalized_layers_apply_runtime_gain():
    torch.manual_seed(0)
    lin = EqualLinear(16, 4, lr_multiplier=0.01, bias_init=1.0)
    x = torch.randn(2, 16)
    expected = x @ (lin.weight * 0.01 / 4.0).t() + lin.bias * 0.01
    assert torch.allclose(lin(x), expected, atol=1e-6)
    assert lin.weight.std() > 50  # stored as N(0, 1) / lr_multiplier
    conv = EqualConv2d(3, 5, 3, activation="lrelu")
    xi = torch.randn(1, 3, 6, 6)
    ref = F.leaky_relu(F.conv2d(xi, conv.weight / math.sqrt(27), conv.bias, padding=1), 0.2) * math.sqrt(2)
    assert torch.allclose(conv(xi), ref, atol=1e-5)


def test_modulated_layer_noise_modes_and_torgb():
    torch.manual_seed(0)
    layer = ModulatedConv2d(4, 6, w_dim=8, resolution=8)
    with torch.no_grad():
        layer.noise_strength.fill_(1.0)
    x, w = torch.randn(2, 4, 8, 8), torch.randn(2, 8)
    const = layer(x, w, noise_mode="const")
    assert torch.equal(const, layer(x, w, noise_mode="const"))
    assert not torch.equal(const, layer(x, w, noise_mode="none"))
    assert not torch.equal(layer(x, w, noise_mode="random"), layer(x, w, noise_mode="random"))
    with pytest.raises(ConfigError):
        layer(x, w, noise_mode="bogus")
    with pytest.raises(ShapeError):
        layer(torch.randn(2, 4, 4, 4), w)
    rgb = ToRGB(6, 3, w_dim=8)
    out = rgb(const, w)
    styles = rgb.affine(w) / math.sqrt(6)
    ref = torch.einsum("oi,bi,bihw->bohw", rgb.weight[:, :, 0, 0], styles, const) + rgb.bias.reshape(1, 3, 1, 1)
    assert torch.allclose(out, ref, atol=1e-5)
    inj = NoiseInjection(4)
    with torch.no_grad():
        inj.noise_strength.fill_(2.0)
    assert torch.allclose(inj(torch.zeros(1, 2, 4, 4), "const"), 2 * inj.noise_const.expand(1, 2, 4, 4))


def test_minibatch_stddev_known_value():
    x = torch.zeros(4, 2, 1, 1)
    x[:, 0, 0, 0] = torch.tensor([1.0, 3.0, 1.0, 3.0])  # groups of 2 with stride 2: {1, 1} and {3, 3} -> std 0
    y = minibatch_stddev(x, group_size=2)
    assert y.shape == (4, 3, 1, 1)
    assert torch.allclose(y[:, 2], torch.full((4, 1, 1), 1e-4), atol=1e-6)
    y = minibatch_stddev(x, group_size=4)  # one group: channel 0 has std 1, channel 1 std 0 -> mean 0.5
    assert torch.allclose(y[:, 2], torch.full((4, 1, 1), 0.5), atol=1e-4)
    with pytest.raises(ShapeError):
        minibatch_stddev(torch.zeros(6, 2, 1, 1), group_size=4)
