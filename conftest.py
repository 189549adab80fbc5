"""Test set-up shared by every app: the fixed cast of users and a small jurisdiction."""

pytest_plugins = ["tests.cast"]
