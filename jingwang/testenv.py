"""Loaded by pytest before Django (``-p jingwang.testenv``): development keys for the test run."""

import os

os.environ.setdefault("JINGWANG_INSECURE_DEV_KEYS", "1")
