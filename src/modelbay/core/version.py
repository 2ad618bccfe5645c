"""The package version, in the bottom layer so that model cards, reports and the server can all stamp it."""

__version__ = "0.1.0"
