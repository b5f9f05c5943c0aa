"""`tools.faces.benchmark.turn_scores`: the pixel change over a requested turn, generated vs rendered."""

import pytest

from tests.tools.faces.toy_faces import YAW_MAX, ToyFaceGenerator, toy_reader
from tools.faces.benchmark import turn_scores
from tools.faces.control import calibrate, fit_directions

pytestmark = pytest.mark.usefixtures("one_thread")


def test_turn_scores_measure_the_pixels_a_turn_moves():
    G = ToyFaceGenerator()
    control = fit_directions(G, toy_reader, n=400)
    calibrate(G, toy_reader, control, "direction", identities=4, num_steps=31)
    t = turn_scores(G, toy_reader, control, identities=2, size=16)
    lo, hi = control.calibration("direction", "yaw").range
    assert t["yaws"] == pytest.approx([lo + 1, hi - 1])
    # The toy writes yaw / YAW_MAX into one of its 3 × 8 × 8 values and leaves the rest alone through a turn,
    # so the mean change in [0, 1] units is Δyaw / YAW_MAX / 192 / 2.
    assert t["generated"] == pytest.approx((hi - lo - 2) / YAW_MAX / 192 / 2, rel=0.03)
    assert t["rendered"] > 0.02 and t["ratio"] == pytest.approx(t["generated"] / t["rendered"])
    assert t["rendered_identity_change"] > 0.02
