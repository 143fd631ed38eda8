"""Standardised effect sizes between two groups: Cohen's d, Glass's delta and Hedges' g.

The calibration targets (docs/calibration.md) are published effects: "the difference between two
groups at the end of a study, in standard deviations of the control group". So the default
standardiser is the control group's SD (Glass's delta, which the literature also calls d); the
pooled SD (Cohen's d proper) is offered beside it. Hedges' g multiplies either by the small-sample
correction J(df) (Hedges 1981), computed exactly with the gamma function; with the thousands of
agents of a virtual trial J is within 1e-3 of 1, but it is reported so that g is what a
meta-analysis would have computed.

All SDs are sample SDs (ddof = 1), as in the studies being matched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STANDARDISERS = ("control", "pooled")


def hedges_correction(df: float) -> float:
    """Hedges' exact small-sample correction J(df) = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2))."""
    if df <= 1:
        return float("nan")
    return math.exp(math.lgamma(df / 2.0) - math.lgamma((df - 1.0) / 2.0)) / math.sqrt(df / 2.0)


def pooled_sd(sd_a: float, n_a: int, sd_b: float, n_b: int) -> float:
    """The pooled SD of two groups: sqrt(((n_a-1) sd_a² + (n_b-1) sd_b²) / (n_a + n_b - 2))."""
    return math.sqrt(((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2))


@dataclass(frozen=True)
class EffectSize:
    """One comparison of a treatment group with a control group on one outcome."""

    mean_treatment: float
    sd_treatment: float
    n_treatment: int
    mean_control: float
    sd_control: float
    n_control: int

    @classmethod
    def of(cls, treatment: np.ndarray, control: np.ndarray) -> EffectSize:
        """Summarise two samples (float64 arithmetic whatever their dtype)."""
        t = np.asarray(treatment, dtype=np.float64)
        c = np.asarray(control, dtype=np.float64)
        if t.size < 2 or c.size < 2:
            raise ValueError("an effect size needs at least two members in each group")
        return cls(
            float(t.mean()), float(t.std(ddof=1)), int(t.size),
            float(c.mean()), float(c.std(ddof=1)), int(c.size),
        )

    @property
    def difference(self) -> float:
        """mean_treatment - mean_control."""
        return self.mean_treatment - self.mean_control

    def standardiser(self, by: str = "control") -> float:
        """The SD the difference is divided by: the control group's, or the pooled one."""
        if by == "control":
            return self.sd_control
        if by == "pooled":
            return pooled_sd(self.sd_treatment, self.n_treatment, self.sd_control, self.n_control)
        raise ValueError(f"standardiser must be one of {STANDARDISERS}, not {by!r}")

    def degrees_of_freedom(self, by: str = "control") -> int:
        """Degrees of freedom of the standardiser: n_control - 1, or n_t + n_c - 2 pooled."""
        return self.n_control - 1 if by == "control" else self.n_treatment + self.n_control - 2

    def d(self, by: str = "control") -> float:
        """(mean_treatment - mean_control) / SD.

        Glass's delta with by='control', Cohen's d with by='pooled'.
        """
        sd = self.standardiser(by)
        if sd == 0.0:
            return math.copysign(math.inf, self.difference) if self.difference else 0.0
        return self.difference / sd

    def g(self, by: str = "control") -> float:
        """Hedges' g: d times the small-sample correction J(df)."""
        return self.d(by) * hedges_correction(self.degrees_of_freedom(by))
