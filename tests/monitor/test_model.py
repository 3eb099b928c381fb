"""The scoring model: logistic fit, calibration, imputation, dropped features."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.monitor.model import fit_logistic, train_model
from labkit.monitor.world import offline_sample


def test_fit_recovers_known_weights() -> None:
    """200k rows: the MLE's standard error is ~0.01, so 0.05 is a 5-sigma tolerance."""
    rng = np.random.default_rng(0)
    X = np.column_stack((np.ones(200_000), rng.standard_normal((200_000, 2))))
    w_true = np.array([-2.0, 1.0, -0.5])
    y = rng.random(200_000) < 1 / (1 + np.exp(-X @ w_true))
    w = fit_logistic(X, y, l2=0.0)
    assert np.allclose(w, w_true, atol=0.05)


def test_v1_is_calibrated_on_clean_data() -> None:
    rng = np.random.default_rng(1)
    train, test = offline_sample(rng, 40_000, 0.03), offline_sample(rng, 40_000, 0.03)
    model = train_model(train, version=1, data_snapshot="snap", trained_at_h=0)
    score = model.score(test)
    assert abs(score.mean() - test["label"].mean()) < 0.003
    assert model.name == "v1" and model.as_dict()["data_snapshot"] == "snap"
    assert np.all((score >= 0) & (score <= 1))


def test_missing_values_are_imputed_and_remove_the_signal() -> None:
    rng = np.random.default_rng(2)
    train, test = offline_sample(rng, 40_000, 0.03), offline_sample(rng, 20_000, 0.03)
    model = train_model(train, version=1, data_snapshot="s", trained_at_h=0)
    blank = dict(test, device_risk=np.full(test["label"].size, np.nan))
    full, imputed = model.score(test), model.score(blank)
    assert np.isfinite(imputed).all()
    y = test["label"]
    gap = lambda s: s[y].mean() - s[~y].mean()  # noqa: E731
    assert gap(imputed) < 0.6 * gap(full)


def test_features_missing_too_often_are_dropped() -> None:
    rng = np.random.default_rng(3)
    train = offline_sample(rng, 20_000, 0.03)
    train["device_risk"] = np.where(rng.random(20_000) < 0.7, np.nan, train["device_risk"])
    kept = train_model(train, version=2, data_snapshot="s", trained_at_h=0, max_null_share=0.8)
    dropped = train_model(train, version=2, data_snapshot="s", trained_at_h=0,
                          max_null_share=0.5)
    assert "device_risk" in kept.features and "device_risk" not in dropped.features
    assert dropped.weights.size == kept.weights.size - 1


def test_training_needs_both_classes() -> None:
    data = offline_sample(np.random.default_rng(4), 100, 0.03)
    data["label"] = np.zeros(100, bool)
    with pytest.raises(ValueError, match="^training data for v7 needs both fraud and legitimate "
                                         "labels, got 0 fraud in 100$"):
        train_model(data, version=7, data_snapshot="s", trained_at_h=0)
