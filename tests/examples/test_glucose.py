"""The personal-assistant ML helpers: seeded data, the classifier, fine-tuning and metrics.

Every number asserted on is computed here by training real MXNet networks; the thresholds say
what the example must demonstrate (a useful base model, a refine that helps its user)."""

from __future__ import annotations

import glucose
import numpy as np
import pytest

pytestmark = pytest.mark.mxnet  # trains real MXNet networks (the ai extra)


def _symbol_block() -> type:
    from mxnet.gluon import SymbolBlock

    return SymbolBlock


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: glucose.population(500, seed=s), id="the population set"),
        pytest.param(lambda s: glucose.user_readings("u1", 200, seed=s), id="a user's readings"),
    ],
)
def test_the_generator_is_deterministic_for_a_seed_and_varies_with_it(make) -> None:
    assert _same(make(3), make(3))
    assert not _same(make(3), make(4))


def test_users_get_different_readings_and_a_fixed_age() -> None:
    u1, u2 = glucose.user_readings("u1"), glucose.user_readings("u2")
    assert not np.array_equal(u1["X"], u2["X"])
    age = glucose.FEATURES.index("age")
    assert np.unique(u1["X"][:, age]).size == 1
    assert u1["X"][0, age] == pytest.approx(glucose.user_profile("u1").age)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(glucose.population(2000), id="the population set"),
        pytest.param(glucose.user_readings("u2"), id="a user's readings"),
    ],
)
def test_data_sets_have_the_feature_layout_and_both_classes(data) -> None:
    n = len(data["y"])
    assert data["X"].shape == (n, len(glucose.FEATURES)) and data["X"].dtype == np.float32
    assert set(np.unique(data["y"])) == {0, 1}
    assert 0.1 < glucose.class_balance(data["y"]) < 0.6


def test_the_user_shift_makes_critical_events_more_frequent_than_in_the_population() -> None:
    population = glucose.class_balance(glucose.population()["y"])
    for usr in ("u1", "u2", "u3"):
        assert glucose.class_balance(glucose.user_readings(usr)["y"]) > population


def test_the_base_model_is_useful_on_held_out_population_data(base_net, population_split) -> None:
    _, held_out = population_split
    metrics = glucose.evaluate(base_net, held_out)
    always_no = 1 - glucose.class_balance(held_out["y"])
    assert metrics["accuracy"] >= 0.8
    assert metrics["accuracy"] > always_no + 0.05  # better than never raising an alert
    assert metrics["bias_age_ratio"] >= 0.8


@pytest.mark.parametrize("usr", ["u1", "u2"], ids=["refine helps user u1", "refine helps user u2"])
def test_fine_tuning_a_copy_of_the_base_improves_accuracy_on_the_users_held_out_data(
    base_net, tmp_path, usr
) -> None:
    train, held_out = glucose.split(glucose.user_readings(usr))
    base_net.export(str(tmp_path / "base"))
    copy = _symbol_block().imports(
        str(tmp_path / "base-symbol.json"), ["data"], str(tmp_path / "base-0000.params")
    )
    before = glucose.evaluate(base_net, held_out)["accuracy"]
    losses = glucose.fine_tune(copy, train["X"], train["y"])
    after = glucose.evaluate(copy, held_out)["accuracy"]
    assert losses[-1] < losses[0]
    assert after > before + 0.05
    # The base itself is untouched: refine works on a copy.
    assert glucose.evaluate(base_net, held_out)["accuracy"] == before


def test_fine_tuning_adapts_only_the_output_layer(base_net, tmp_path) -> None:
    base_net.export(str(tmp_path / "base"))
    copy = _symbol_block().imports(
        str(tmp_path / "base-symbol.json"), ["data"], str(tmp_path / "base-0000.params")
    )
    before = {name: p.data().asnumpy().copy() for name, p in copy.collect_params().items()}
    train, _ = glucose.split(glucose.user_readings("u3"))
    glucose.fine_tune(copy, train["X"], train["y"])
    changed = {
        name
        for name, p in copy.collect_params().items()
        if not np.array_equal(p.data().asnumpy(), before[name])
    }
    assert changed == set(glucose.output_layer(copy)) and len(changed) == 2
    with pytest.raises(ValueError, match="no such parameters"):
        glucose.train(copy, train["X"], train["y"], trainable=["nonexistent_weight"])


def test_an_exported_model_predicts_the_same_after_loading(base_net, tmp_path) -> None:
    x = glucose.user_readings("u3", 50)["X"]
    base_net.export(str(tmp_path / "m"))
    loaded = _symbol_block().imports(
        str(tmp_path / "m-symbol.json"), ["data"], str(tmp_path / "m-0000.params")
    )
    np.testing.assert_allclose(
        glucose.predict_proba(loaded, x), glucose.predict_proba(base_net, x), rtol=1e-5
    )


@pytest.mark.parametrize(
    "predicted, ages, expected",
    [
        pytest.param([1, 0, 1, 0], [20, 20, 70, 70], 1.0, id="equal alert rates give 1"),
        pytest.param([1, 1, 1, 0], [20, 20, 70, 70], 0.5, id="half the rate gives 0.5"),
        pytest.param([0, 0, 0, 0], [20, 45, 70, 70], 1.0, id="no alerts at all give 1"),
        pytest.param([1, 0], [30, 30], 1.0, id="a single age group gives 1"),
        pytest.param([1, 0, 0], [20, 45, 70], 0.0, id="a group that never gets alerts gives 0"),
    ],
)
def test_bias_ratio_is_the_min_over_max_alert_rate_of_age_groups(predicted, ages, expected) -> None:
    assert glucose.bias_ratio(np.array(predicted), np.array(ages)) == pytest.approx(expected)


@pytest.mark.parametrize(
    "proba, expected",
    [
        pytest.param([0.5, 0.5], 0.0, id="coin flips have no confidence"),
        pytest.param([0.0, 1.0], 1.0, id="certain answers have full confidence"),
        pytest.param([0.25, 0.75], 0.5, id="in between is the mean margin"),
        pytest.param([], 0.0, id="no predictions have no confidence"),
    ],
)
def test_confidence_is_the_mean_margin(proba, expected) -> None:
    assert glucose.confidence(np.array(proba)) == pytest.approx(expected)


def test_readings_arrive_as_dicts_or_lists_and_missing_features_are_named() -> None:
    x = glucose.user_readings("u1", 3)["X"]
    dicts = glucose.as_dicts(x)
    np.testing.assert_allclose(glucose.readings_matrix(dicts), x, atol=1e-3)
    np.testing.assert_allclose(glucose.readings_matrix(dicts[0]), x[:1], atol=1e-3)
    np.testing.assert_allclose(glucose.readings_matrix(x.tolist()), x)
    with pytest.raises(ValueError, match="misses insulin"):
        glucose.readings_matrix([{k: v for k, v in dicts[0].items() if k != "insulin"}])
    with pytest.raises(ValueError, match="shape"):
        glucose.standardize(np.zeros((2, 3)))


def test_a_shift_moves_the_users_glucose_and_nothing_else() -> None:
    plain, shifted = glucose.user_readings("u1"), glucose.user_readings("u1", shift=60)
    gap = shifted["X"][:, :3].mean() - plain["X"][:, :3].mean()
    assert 50 < gap < 70
    np.testing.assert_array_equal(shifted["X"][:, 3:], plain["X"][:, 3:])


def test_a_skewed_sample_spreads_the_ages_and_ties_the_events_to_the_young() -> None:
    data = glucose.user_readings("u1", skew=True)
    age = data["X"][:, glucose.FEATURES.index("age")]
    assert age.min() < 25 and age.max() > 75
    np.testing.assert_array_equal(data["y"], (age < 40).astype(np.int32))
    np.testing.assert_array_equal(data["age"], age)
