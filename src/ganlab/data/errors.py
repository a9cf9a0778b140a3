class DataError(Exception):
    """Bad or missing data: the message names the path / key to fix and how."""
