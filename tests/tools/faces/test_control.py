"""Pose control math on a toy generator whose pose is an exact function of w (tests/tools/faces/toy_faces.py)."""

import json

import numpy as np
import pytest
import torch

from tests.tools.faces.toy_faces import CAMERA_LAYERS, U_PITCH, U_YAW, ToyFaceGenerator, toy_reader, toy_yaw
from tools.errors import ToolError
from tools.faces.calibration import Calibration, fit_calibration, isotonic
from tools.faces.control import PoseControl, calibrate, closed_loop, fit_directions, sample_ws
from tools.faces.layers import discover_camera_layers

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def toy_control():
    G = ToyFaceGenerator()
    control = fit_directions(G, toy_reader, n=600, seed=0)
    calibrate(G, toy_reader, control, "direction", identities=8, num_steps=41)
    return G, control


def test_isotonic_pools_violators_and_keeps_monotone_input():
    y = np.array([0.0, 2.0, 1.0, 1.0, 5.0, 4.0])
    fit = isotonic(y)
    assert np.all(np.diff(fit) >= 0)
    assert fit.tolist() == pytest.approx([0.0, 4 / 3, 4 / 3, 4 / 3, 4.5, 4.5])
    assert isotonic(np.arange(5.0)).tolist() == [0, 1, 2, 3, 4]


def test_calibration_trims_saturation_and_inverts():
    steps = np.linspace(-3, 3, 31)
    deg = np.clip(20 * steps, -40, 40)  # saturates beyond |step| = 2
    cal = fit_calibration(steps, np.stack([deg, deg + 0.1], 1), min_slope=1.0)
    assert cal.range[0] == pytest.approx(-39.95) and cal.range[1] == pytest.approx(40.05)
    assert cal.steps[0] == pytest.approx(-2.0) and cal.steps[-1] == pytest.approx(2.0)
    assert float(cal.to_step(10.05)) == pytest.approx(0.5)
    assert cal.contains(39.0) and not cal.contains(45.0)
    assert Calibration.from_dict(cal.to_dict()) == cal
    with pytest.raises(ToolError, match="does not turn"):
        fit_calibration(steps, np.zeros_like(steps), min_slope=1.0)
    with pytest.raises(ToolError, match="does not turn"):
        fit_calibration(steps, -steps, min_slope=1.0)
    # A response that turns back at both ends keeps the rising stretch between its extremes.
    back = np.sin(steps)  # falls until -pi/2, rises to +pi/2, falls again
    cal = fit_calibration(steps, back, min_slope=0.05)
    assert cal.steps[0] == pytest.approx(-1.6) and cal.steps[-1] == pytest.approx(1.6)


def test_directions_find_the_planted_pose_axes(toy_control):
    _, control = toy_control
    yaw_dir, pitch_dir = control.directions
    assert float(yaw_dir @ U_YAW) > 0.995
    assert float(pitch_dir @ U_PITCH) > 0.995
    assert float(yaw_dir @ pitch_dir) == pytest.approx(0.0, abs=1e-5)
    assert control.report["fit"]["yaw"]["identity_share"] < 0.05


def test_calibration_matches_the_exact_pose_map(toy_control):
    _, control = toy_control
    cal = control.calibration("direction", "yaw")
    n_dot_u = float(control.directions[0] @ U_YAW)
    exact = toy_yaw(torch.tensor(cal.steps) * n_dot_u).numpy()
    assert np.abs(np.array(cal.degrees) - exact).max() < 0.5
    assert cal.range[0] < -35 and cal.range[1] > 35  # the calibration spans the toy's range (±40)
    pitch = control.calibration("direction", "pitch")
    assert pitch.range[0] < -15 and pitch.range[1] > 15


def test_closed_loop_reaches_requests_and_flags_out_of_range(toy_control):
    G, control = toy_control
    ws = sample_ws(G, 6, seed=5, truncation=0.7)
    target = torch.tensor([[-30.0, -10.0], [-10.0, 5.0], [0.0, 0.0], [20.0, 12.0], [35.0, -15.0], [60.0, 0.0]])
    result = closed_loop(G, toy_reader, control, ws, target, "direction", iterations=4, tolerance=0.05)
    err = (result.measured - target).abs()
    assert err[:5].max() < 0.1
    assert result.in_range.tolist() == [True] * 5 + [False]
    assert float(result.measured[5, 0]) < 40.0  # the toy cannot turn past 40°: reported, not pretended


def test_pose_is_decorrelated_from_a_leaking_identity():
    G = ToyFaceGenerator(leak=1.0)  # the identity descriptor also moves with yaw
    control = fit_directions(G, toy_reader, n=600, seed=0)
    assert control.report["fit"]["yaw"]["identity_share"] > 0.3
    ws = sample_ws(G, 4, seed=3, truncation=0.3)
    steps = torch.zeros(4, 2)
    still = toy_reader(G.synthesis(control.set_coordinates(ws, steps, control.edit_layers)))
    steps[:, 0] = 1.0
    moved = toy_reader(G.synthesis(control.set_coordinates(ws, steps, control.edit_layers)))
    assert (moved.pose[:, 0] - still.pose[:, 0]).abs().min() > 8.0  # it still turns
    assert (moved.identity - still.identity).abs().max() < 1e-4  # and keeps the identity


def test_layer_discovery_finds_the_planted_camera_layers():
    G = ToyFaceGenerator()
    layers, report = discover_camera_layers(G, toy_reader, pairs=32)
    assert layers == CAMERA_LAYERS
    for row in report["single_layer"]:
        if row["layer"] in CAMERA_LAYERS:
            assert row["pose_transfer"] > 0.2 and row["identity_transfer"] < 1e-5
        else:
            assert row["pose_transfer"] < 1e-5 and row["identity_transfer"] > 0.2


def test_view_code_mixing_turns_without_touching_identity(toy_control):
    G, control = toy_control
    control.camera_layers = CAMERA_LAYERS
    calibrate(G, toy_reader, control, "mixing", identities=4, num_steps=41)
    ws = sample_ws(G, 3, seed=9, truncation=0.7)
    target = torch.tensor([[-25.0, 0.0], [0.0, 10.0], [25.0, -10.0]])
    result = closed_loop(G, toy_reader, control, ws, target, "mixing", iterations=3, tolerance=0.05)
    assert (result.measured - target).abs().max() < 0.1
    before = toy_reader(G.synthesis(ws)).identity
    assert (toy_reader(result.images).identity - before).abs().max() < 1e-4


def test_control_round_trips_through_json(toy_control):
    _, control = toy_control
    again = PoseControl.from_dict(json.loads(json.dumps(control.to_dict())))
    assert torch.equal(again.directions, control.directions)
    assert again.calibration("direction", "yaw") == control.calibration("direction", "yaw")
    with pytest.raises(ToolError, match="not calibrated"):
        PoseControl(again.w_avg, again.directions, again.edit_layers).calibration("mixing", "yaw")
    with pytest.raises(ToolError, match="malformed"):
        PoseControl.from_dict({"w_avg": [0.0]})
