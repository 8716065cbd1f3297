"""Holt's linear trend method (double exponential smoothing), with its smoothing fitted.

    level_t = alpha * y_t + (1 - alpha) * (level_{t-1} + trend_{t-1})
    trend_t = beta * (level_t - level_{t-1}) + (1 - beta) * trend_{t-1}
    forecast_{t+h} = level_t + h * trend_t

Initialised with level_0 = y_0 and trend_0 = y_1 - y_0, so a straight line is
continued exactly and a constant series stays constant. `holt_fit` picks
alpha and beta on a grid by the smallest sum of squared one-step-ahead errors,
as forecasting libraries do (with a finer optimiser); the grid keeps it
deterministic and cheap (81 passes over a year of weeks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

GRID = tuple(round(0.1 * i, 1) for i in range(1, 10))


@dataclass(frozen=True)
class HoltForecast:
    alpha: float
    beta: float
    level: float
    trend: float
    # Sum of squared one-step-ahead errors over the series (how well it fits).
    sse: float
    values: list[float]


def holt_forecast(
    series: Sequence[float], *, horizon: int, alpha: float = 0.5, beta: float = 0.3,
    floor: float | None = 0.0,
) -> HoltForecast:
    """Forecast `horizon` steps ahead with the given smoothing.

    `floor` clamps forecasts from below (search interest is never negative);
    None leaves them as they are.
    """
    if not (0 < alpha <= 1 and 0 < beta <= 1):
        raise ValueError("alpha and beta must be in (0, 1]")
    if horizon < 0:
        raise ValueError("horizon must be >= 0")
    if not series:
        raise ValueError("an empty series has no forecast")
    values = [float(v) for v in series]
    if len(values) == 1:
        level, trend, sse = values[0], 0.0, 0.0
    else:
        level, trend, sse = values[0], values[1] - values[0], 0.0
        for y in values[1:]:
            error = y - (level + trend)
            sse += error * error
            previous = level
            level = alpha * y + (1 - alpha) * (level + trend)
            trend = beta * (level - previous) + (1 - beta) * trend
    forecast = [level + h * trend for h in range(1, horizon + 1)]
    if floor is not None:
        forecast = [max(floor, v) for v in forecast]
    return HoltForecast(alpha, beta, level, trend, sse, [round(v, 3) for v in forecast])


def holt_fit(series: Sequence[float], *, horizon: int) -> HoltForecast:
    """The forecast whose (alpha, beta) on the grid fits the series best; ties: the smoother."""
    best: HoltForecast | None = None
    for alpha in GRID:
        for beta in GRID:
            candidate = holt_forecast(series, horizon=horizon, alpha=alpha, beta=beta)
            if best is None or candidate.sse < best.sse - 1e-9:
                best = candidate
    assert best is not None  # the grid is not empty
    return best
