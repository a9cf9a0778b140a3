"""Errors the metrics raise with an actionable message (missing weights, bad reference cache)."""


class MetricsError(RuntimeError):
    """A metric cannot be computed as configured; the message says which config key to fix."""
