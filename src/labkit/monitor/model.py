"""The scoring model: a logistic regression, trained, versioned and scored.

A model version knows what it learned from (the data snapshot), when, which
features it uses and how it fills in a missing value: with the mean it saw in
training.  That imputation is what makes a null-feature incident quiet and
dangerous: the model keeps answering, it just stops seeing the signal, so
scores slide towards the average and fraud slips through.

Training is a few Newton steps (iteratively reweighted least squares) with a
small ridge penalty on standardised inputs: enough to give a calibrated
model that learns whatever relation the training window holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from labkit.errors import MonitorError
from labkit.monitor.world import CATEGORIES, FEATURES

__all__ = ["ModelVersion", "train_model", "fit_logistic"]

_MIN_CATEGORY_ROWS = 30


def fit_logistic(X: np.ndarray, y: np.ndarray, *, l2: float = 1.0,
                 max_iter: int = 50) -> np.ndarray:
    """Weights of a ridge logistic regression; column 0 of ``X`` is the intercept."""
    w = np.zeros(X.shape[1])
    penalty = np.full(X.shape[1], l2)
    penalty[0] = 0.0
    yf = y.astype(float)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-np.clip(X @ w, -35, 35)))
        grad = X.T @ (yf - p) - penalty * w
        hess = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty) + 1e-9 * np.eye(X.shape[1])
        step = np.linalg.solve(hess, grad)
        w = w + step
        if np.max(np.abs(step)) < 1e-7:
            break
    return w


def _raw_columns(data: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    amount = np.asarray(data["amount"], float)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_amount = np.log(np.maximum(amount, 0.01))
    return (log_amount, np.asarray(data["velocity"], float),
            np.asarray(data["device_risk"], float))


@dataclass(frozen=True, eq=False)
class ModelVersion:
    """One trained model, as recorded in the audit trail."""

    version: int
    weights: np.ndarray
    mean: np.ndarray            # training mean of each numeric input (used to impute)
    scale: np.ndarray           # training standard deviation of each numeric input
    features: tuple[str, ...]   # inputs this version uses
    categories: tuple[int, ...]  # merchant categories with their own weight
    data_snapshot: str
    trained_at_h: int
    n_train: int

    @property
    def name(self) -> str:
        return f"v{self.version}"

    def _z(self, data: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Standardised numeric inputs, missing values imputed with the training mean."""
        out = []
        for j, raw in enumerate(_raw_columns(data)):
            z = (raw - self.mean[j]) / self.scale[j]
            out.append(np.clip(np.where(np.isnan(z), 0.0, z), -6, 6))
        return out

    def design(self, data: Mapping[str, np.ndarray]) -> np.ndarray:
        """The model's input matrix: missing values imputed, unused features left out."""
        z = self._z(data)
        cols = [np.ones(z[0].shape[0])]
        cols += [z[j] for j, name in enumerate(FEATURES[:3]) if name in self.features]
        if "merchant_category" in self.features:
            cat = np.asarray(data["category"])
            cols.extend((cat == c).astype(float) for c in self.categories)
        return np.column_stack(cols)

    def score(self, data: Mapping[str, np.ndarray]) -> np.ndarray:
        """Fraud scores in [0, 1] (the same numbers as the design matrix times the weights)."""
        z = self._z(data)
        w = iter(self.weights)
        logit = np.full(z[0].shape[0], next(w))
        for j, name in enumerate(FEATURES[:3]):
            if name in self.features:
                logit += next(w) * z[j]
        if "merchant_category" in self.features:
            table = np.zeros(len(CATEGORIES))
            for c in self.categories:
                table[c] = next(w)
            logit += table[np.asarray(data["category"])]
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -35, 35)))

    def as_dict(self) -> dict[str, object]:
        return {"version": self.name, "features": list(self.features),
                "categories": [CATEGORIES[c] for c in self.categories],
                "data_snapshot": self.data_snapshot, "trained_at_h": self.trained_at_h,
                "n_train": self.n_train,
                "weights": [round(float(w), 4) for w in self.weights]}


def train_model(data: Mapping[str, np.ndarray], *, version: int, data_snapshot: str,
                trained_at_h: int, max_null_share: float = 1.0) -> ModelVersion:
    """Fit a new version on labelled ``data``; features missing too often are dropped."""
    label = np.asarray(data["label"], bool)
    if label.size == 0 or label.all() or not label.any():
        raise MonitorError(f"training data for v{version} needs both fraud and legitimate "
                         f"labels, got {int(label.sum())} fraud in {label.size}")
    raw = _raw_columns(data)
    missing = np.array([np.isnan(col).mean() for col in raw])
    mean = np.array([np.nanmean(col) if m < 1 else 0.0 for col, m in zip(raw, missing)])
    scale = np.array([np.nanstd(col) if m < 1 else 1.0 for col, m in zip(raw, missing)])
    scale = np.where(scale > 1e-9, scale, 1.0)
    features = tuple(f for j, f in enumerate(FEATURES[:3]) if missing[j] <= max_null_share)
    cat = np.asarray(data["category"])
    counts = np.bincount(cat, minlength=len(CATEGORIES))
    categories = tuple(c for c in range(1, len(CATEGORIES)) if counts[c] >= _MIN_CATEGORY_ROWS)
    features = features + ("merchant_category",)
    draft = ModelVersion(version=version, weights=np.zeros(0), mean=mean, scale=scale,
                         features=features, categories=categories, data_snapshot=data_snapshot,
                         trained_at_h=trained_at_h, n_train=int(label.size))
    weights = fit_logistic(draft.design(data), label)
    for arr in (weights, mean, scale):
        arr.setflags(write=False)
    return ModelVersion(version=version, weights=weights, mean=mean, scale=scale,
                        features=features, categories=categories, data_snapshot=data_snapshot,
                        trained_at_h=trained_at_h, n_train=int(label.size))
