"""Which Chromium a crawl launches: DOCSPASTA_CHROMIUM, else the headless shell where it is
installed, else Debian's full browser."""
from __future__ import annotations

import pytest

from spiders.render import chromium


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """Where the headless shell would be installed, in a directory of the test's own."""
    path = tmp_path / "chromium-headless-shell"
    monkeypatch.setattr(chromium, "HEADLESS_SHELL", str(path))
    return path


def test_the_headless_shell_is_launched_where_it_is_installed(shell):
    shell.write_text("#!/bin/sh\n")
    shell.chmod(0o755)
    assert chromium.chromium_path() == str(shell)
    assert chromium.chromium_path("") == str(shell)


def test_without_the_headless_shell_the_full_browser_is_launched(shell):
    assert chromium.chromium_path() == "/usr/bin/chromium"
    shell.write_text("not a program\n")  # there, but not executable
    assert chromium.chromium_path() == "/usr/bin/chromium"


def test_a_chromium_configured_is_launched_whatever_is_installed(shell):
    shell.write_text("#!/bin/sh\n")
    shell.chmod(0o755)
    assert chromium.chromium_path("/opt/chromium/chrome") == "/opt/chromium/chrome"
