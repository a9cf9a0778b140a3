from ganlab.errors import MetricsError  # noqa: F401  (the metrics' errors live in ganlab.errors)
