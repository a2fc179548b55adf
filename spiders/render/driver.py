"""Playwright's Node.js driver, started with V8 flags (PLAYWRIGHT_DRIVER_NODE_FLAGS).

Playwright's Python API starts its driver with a copy of this process's environment and
no options of its own. NODE_OPTIONS there would reach every Node.js that this process or
its children start, and Node.js refuses most of V8's flags in it (--optimize-for-size, --lite-mode,
--no-opt). So PLAYWRIGHT_NODEJS_PATH, Playwright's own variable (1.55 and later; read by
nothing else), names `playwright-driver` beside this module, which starts the real Node.js
(the one Playwright bundles, or the one PLAYWRIGHT_NODEJS_PATH named before) with the flags.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

WRAPPER = Path(__file__).with_name("playwright-driver")
NODEJS_PATH = "PLAYWRIGHT_NODEJS_PATH"  # Playwright's: the Node.js that runs its driver
NODE = "DOCSPASTA_DRIVER_NODE"  # the wrapper's: the real Node.js
FLAGS = "DOCSPASTA_DRIVER_NODE_FLAGS"  # the wrapper's: V8 flags, space-separated


def bundled_node() -> Path:
    """The Node.js that the installed Playwright ships beside its driver."""
    import playwright

    return Path(playwright.__file__).parent / "driver" / "node"


def real_node() -> str | None:
    """The Node.js that Playwright would run without the wrapper; None if there is none."""
    configured = os.environ.get(NODEJS_PATH)
    if configured and configured != str(WRAPPER):
        return configured
    if configured == str(WRAPPER) and os.environ.get(NODE):
        return os.environ[NODE]
    node = bundled_node()
    return str(node) if node.is_file() else None


def use_driver_flags(flags: Sequence[str]) -> None:
    """Start the next Playwright driver of this process with `flags` (none: Node.js as Playwright
    starts it). Where the wrapper cannot run, Playwright starts its driver as usual."""
    node = real_node()
    wanted = [flag for flag in flags if flag]
    if any(" " in flag for flag in wanted):
        raise ValueError(f"PLAYWRIGHT_DRIVER_NODE_FLAGS: a flag holds a space: {wanted}")
    if os.environ.get(NODEJS_PATH) == str(WRAPPER):  # ours, from an earlier launch: undo it first
        if os.environ.get(NODE) == str(bundled_node()):
            os.environ.pop(NODEJS_PATH)
        else:
            os.environ[NODEJS_PATH] = os.environ[NODE]
        os.environ.pop(NODE, None)
        os.environ.pop(FLAGS, None)
    if not wanted or node is None or os.name != "posix" or not os.access(WRAPPER, os.X_OK):
        return
    os.environ[NODE] = node
    os.environ[FLAGS] = " ".join(wanted)
    os.environ[NODEJS_PATH] = str(WRAPPER)
