"""`bench faces` summary: a target is met only as the issue states it (every 10° bin, drift, speed)."""

from tools.bench.faces import summarize


def _pose(bins):
    rows = [{"yaw_bin": [10 * k - 5, 10 * k + 5], "n": 4, "yaw_median_abs": y, "pitch_median_abs": p}
            for k, (y, p) in enumerate(bins, start=-4)]
    return {"yaw_median_abs": 0.5, "pitch_median_abs": 0.2, "bins": rows,
            "worst_bin_median_abs": max(max(y, p) for y, p in bins)}


def _result(bins):
    return {"control": {"direction": {"pose_error": _pose(bins), "identity_drift": {"drift": 0.08}}},
            "ground_truth": {"pose_error": _pose([(1.0, 0.5)] * 9), "identity_drift": {"drift": 0.13}},
            "quality": {}, "speed": {"closed_loop_seconds": 0.6, "generate_seconds": 0.1}}


def test_pose_target_needs_every_bin():
    good = summarize(_result([(1.0, 0.5)] * 9))
    assert good["pose_direction"]["met"] and good["drift_direction"]["met"] and good["speed"]["met"]
    # Seven bins at 0.1° pool to a small median, but the ±40° bins miss by 20°: not met.
    ends = summarize(_result([(20.0, 1.0)] + [(0.1, 0.1)] * 7 + [(20.0, 1.0)]))
    assert ends["pose_direction"]["worst_bin"] == 20.0 and not ends["pose_direction"]["met"]
    pitch = summarize(_result([(1.0, 0.5)] * 8 + [(1.0, 3.5)]))
    assert not pitch["pose_direction"]["met"]


def test_turn_check_is_summarized_when_measured():
    result = _result([(1.0, 0.5)] * 9)
    assert "turn" not in summarize(result)
    result["turn"] = {"yaws": [-24.9, 6.0], "pitch": 0.0, "generated": 0.04, "rendered": 0.06, "ratio": 0.67}
    assert summarize(result)["turn"]["ratio"] == 0.67


def test_method_must_fit_the_weights(tmp_path, capsys):
    from tools.cli import main
    from tools.faces.bundle import CONDITIONED, GENERATOR, WEIGHTS_DIR

    cases = [(["--method", "nope"], "--method must be"),
             (["--method", "condition", "--weights", str(WEIGHTS_DIR / GENERATOR)], "not a pose-conditioned"),
             (["--method", "direction", "--weights", str(WEIGHTS_DIR / CONDITIONED)], "is a pose-conditioned")]
    for args, match in cases:
        rc = main(["bench", "faces", "--json", str(tmp_path / "b.json"), "--work", str(tmp_path / "w"), *args])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and match in err and len(err.splitlines()) == 1, err
        assert not (tmp_path / "b.json").exists() and not (tmp_path / "w").exists()
