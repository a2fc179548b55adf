"""False positives of `needs_rendering` on real static documentation.

Runs the render decision over every HTML page of the Debian documentation packages
that are installed (../shared/corpus.sh install): none of these static pages needs
a browser, so every page flagged is a false positive, printed with its reason.

    python bench/render_detect.py
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scrapy.http import HtmlResponse, Request  # noqa: E402

from spiders.render.policy import needs_rendering  # noqa: E402

SITES = {
    "celery": "/usr/share/doc/python-celery-doc/html",
    "flask": "/usr/share/doc/python-flask-doc/html",
    "pytest": "/usr/share/doc/python-pytest-doc/html",
    "requests": "/usr/share/doc/python-requests-doc/html",
    "click": "/usr/share/doc/python-click-doc/html",
    "python3.11": "/usr/share/doc/python3.11-doc/html",
    "sphinx": "/usr/share/doc/python3-sphinx/html",
    "nodejs": "/usr/share/doc/nodejs/api",
    "glib": "/usr/share/gtk-doc/html/glib",
}


def main() -> None:
    total = flagged = 0
    started = time.monotonic()
    for name, root in SITES.items():
        files = sorted(Path(root).rglob("*.html")) if Path(root).is_dir() else []
        reasons: Counter[str] = Counter()
        for path in files:
            url = f"https://docs.example.org/{path.relative_to(root).as_posix()}"
            response = HtmlResponse(url, body=path.read_bytes(), encoding="utf-8", request=Request(url))
            if reason := needs_rendering(response):
                reasons[reason] += 1
                print(f"  {name}: {path.relative_to(root)}: {reason}")
        total += len(files)
        flagged += sum(reasons.values())
        print(f"{name:<11} {len(files):>5} pages, {sum(reasons.values())} flagged" if files else f"{name:<11} not installed")
    seconds = time.monotonic() - started
    print(f"all: {total} static pages, {flagged} would start the browser; {total / max(seconds, 1e-9):.0f} pages/s checked")


if __name__ == "__main__":
    main()
