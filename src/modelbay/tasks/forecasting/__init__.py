"""Forecasting: statsforecast models (ETS, ARIMA, Theta, seasonal naive) chosen per series by backtest."""

from . import task  # noqa: F401 - registers the task
