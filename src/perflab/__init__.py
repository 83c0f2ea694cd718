"""perflab: measure, tune, compare, decide, report — and never claim a gain that was not measured."""

__version__ = "0.1.0"
