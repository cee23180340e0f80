"""Shared fixtures. Run the default suite with `make test` (or `pytest`); `pytest -m slow` runs the long tests."""
