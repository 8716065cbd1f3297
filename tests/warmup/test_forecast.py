"""Holt's linear trend on series whose forecasts are known."""

from __future__ import annotations

import pytest

from warmup.forecast import GRID, holt_fit, holt_forecast


def test_a_straight_line_is_continued_exactly():
    series = [3 + 2 * t for t in range(20)]  # 3, 5, ..., 41

    result = holt_forecast(series, horizon=3, alpha=0.3, beta=0.1)

    assert result.values == [43.0, 45.0, 47.0]
    assert result.trend == pytest.approx(2.0) and result.sse == pytest.approx(0.0)


def test_a_constant_series_stays_constant():
    assert holt_forecast([5.0] * 10, horizon=4).values == [5.0] * 4


def test_a_short_series_matches_the_hand_computed_answer():
    # l0=10 b0=2; y=12: l=12 b=2; y=15: l=14.5 b=2.25; y=15: l=15.875 b=1.8125
    # one-step errors: 12-12=0, 15-14=1, 15-16.75=-1.75 -> sse = 0 + 1 + 3.0625
    result = holt_forecast([10, 12, 15, 15], horizon=3, alpha=0.5, beta=0.5)

    assert result.level == pytest.approx(15.875)
    assert result.trend == pytest.approx(1.8125)
    assert result.sse == pytest.approx(4.0625)
    assert result.values == pytest.approx([17.6875, 19.5, 21.3125], abs=1e-3)


def test_a_level_shift_is_followed():
    forecast = holt_forecast([10.0] * 10 + [20.0] * 30, horizon=1).values[0]

    assert forecast == pytest.approx(20.0, abs=0.5)


def test_a_falling_series_is_not_forecast_below_zero():
    result = holt_forecast([50 - 10 * t for t in range(5)], horizon=3)

    assert result.values == [0.0, 0.0, 0.0]
    assert holt_forecast([50 - 10 * t for t in range(5)], horizon=1, floor=None).values == [0.0]
    assert holt_forecast([50 - 10 * t for t in range(5)], horizon=2, floor=None).values[1] == -10


def test_the_fit_picks_the_smoothing_with_the_smallest_one_step_error():
    series = [10, 14, 9, 16, 12, 18, 13, 21, 15, 22, 18, 25, 20, 27]

    best = holt_fit(series, horizon=2)

    every = [holt_forecast(series, horizon=2, alpha=a, beta=b).sse for a in GRID for b in GRID]
    assert best.sse == pytest.approx(min(every))
    assert (best.alpha, best.beta) in {(a, b) for a in GRID for b in GRID}
    assert best.values == holt_forecast(series, horizon=2, alpha=best.alpha,
                                        beta=best.beta).values


def test_a_straight_line_fits_perfectly_and_prefers_the_smoothest_parameters():
    best = holt_fit([1.0 * t for t in range(30)], horizon=2)

    assert best.sse == pytest.approx(0.0)
    assert (best.alpha, best.beta) == (0.1, 0.1)
    assert best.values == [30.0, 31.0]


@pytest.mark.parametrize("kwargs", [{"alpha": 0}, {"beta": 1.5}, {"horizon": -1}])
def test_bad_parameters_are_refused(kwargs):
    args = {"horizon": 1, **kwargs}
    with pytest.raises(ValueError):
        holt_forecast([1, 2, 3], **args)


def test_an_empty_series_has_no_forecast():
    with pytest.raises(ValueError, match="empty series"):
        holt_fit([], horizon=1)
