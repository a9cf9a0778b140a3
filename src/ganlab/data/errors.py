from ganlab.errors import DataError  # noqa: F401  (the data package's errors live in ganlab.errors)
