"""A non-editable install (`pip install .`) works away from the source tree: every sub-package,
the migrations, the templates and the static files are in it.

The wheel is built here with the backend already installed (`--no-build-isolation --no-index`), so
the test needs no network; it runs in a directory outside the checkout, with the installed copy
first on the path, so nothing can be read from the source tree by mistake.
"""
from __future__ import annotations

import os
import subprocess
import sys

from tests.web.conftest import REDIS_URL
from tests.web.server import ROOT

SMOKE = r"""
import importlib, pathlib, pkgutil, sys

site = pathlib.Path(sys.argv[1]).resolve()
modules = []
for name in ("spiders", "webapp"):
    package = importlib.import_module(name)
    assert pathlib.Path(package.__file__).resolve().is_relative_to(site), package.__file__
    for info in pkgutil.walk_packages(package.__path__, name + "."):
        modules.append(importlib.import_module(info.name).__name__)

from starlette.testclient import TestClient
from webapp.app import create_app

with TestClient(create_app()) as client:  # settings from the environment; the lifespan migrates
    index = client.get("/")
    assert index.status_code == 200 and 'name="url"' in index.text, index.status_code
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css"), css.status_code
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and len(htmx.content) > 10_000, htmx.status_code
print("\n".join(modules))
"""


def test_a_wheel_installed_away_from_the_source_tree_serves_its_pages_and_static_files(tmp_path, database_url,
                                                                                        redis_prefix):
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(site), str(ROOT)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    assert (site / "bin" / "docspasta").is_file()  # the console script

    env = {**os.environ, "PYTHONPATH": str(site), "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
           "DOCSPASTA_REDIS_PREFIX": redis_prefix, "DOCSPASTA_RUN_CRAWLS": "0"}
    run = subprocess.run([sys.executable, "-c", SMOKE, str(site)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    expected = set()
    for package in ("spiders", "webapp"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            expected.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    # every module of the tree, imported from the installed copy
    assert set(run.stdout.split()) == expected - {"spiders", "webapp"}
