"""One real controller per module (SQLite in a temporary folder): the API tests' fixtures."""

from ..api.conftest import controller, data_dir

__all__ = ["controller", "data_dir"]
