"""Chromium's sandbox, whenever the machine allows it.

Rendered pages are strangers' code: Chromium's sandbox (user and PID namespaces plus
seccomp-bpf around every renderer) is what keeps an exploited renderer from the
crawl's process, its database credentials and the machine. Chromium refuses the
sandbox to root, so:
  - not root: Chromium is launched without `--no-sandbox`;
  - root: Chromium is launched through `chromium-as-user` (beside this module), which
    drops to `DOCSPASTA_BROWSER_USER` (default `nobody`) before it starts Chromium;
  - where that user may not create user namespaces (a container's default seccomp
    profile, a kernel that forbids them), Chromium runs with `--no-sandbox` as before,
    and a warning says why (README, "Security").
Each check runs `unshare --user true` as the browser's user, once per process.
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Mapping

logger = logging.getLogger(__name__)

WRAPPER = Path(__file__).with_name("chromium-as-user")
NO_SANDBOX = "--no-sandbox"  # what Playwright adds for chromium_sandbox=False


@functools.lru_cache(maxsize=None)
def namespaces_refused(user: str | None) -> str | None:
    """Why `user` (None: this process's own user) cannot make a user namespace; None if it can."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare (util-linux) is not installed, so user namespaces cannot be checked"
    command = [unshare, "--user", "true"]
    if user is not None:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            return "setpriv (util-linux) is not installed"
        try:
            gid = subprocess.run(["id", "-g", user], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return f"there is no user {user!r}"
        command = [setpriv, f"--reuid={user}", f"--regid={gid}", "--clear-groups", *command]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(command)} failed: {exc}"
    if result.returncode != 0:
        return f"{user or 'this user'} may not create user namespaces ({result.stderr.strip() or result.returncode})"
    return None


def sandboxed(options: Mapping[str, Any], browser_user: str) -> dict[str, Any]:
    """Playwright launch options that keep Chromium's sandbox on wherever it can work."""
    args = [arg for arg in options.get("args", ()) if arg != NO_SANDBOX]
    as_root = os.geteuid() == 0
    user = browser_user if as_root else None
    chromium = str(options.get("executable_path") or shutil.which("chromium") or "chromium")
    if as_root and not os.access(chromium, os.X_OK):
        return {**options, "args": args, "chromium_sandbox": False}  # the launch fails, and Playwright names the path
    if as_root and not browser_user:
        why: str | None = "DOCSPASTA_BROWSER_USER is empty"
    elif as_root and not os.access(WRAPPER, os.X_OK):
        why = f"{WRAPPER} is missing or not executable"
    else:
        why = namespaces_refused(user)
    if why is not None:
        _warn_once(f"Chromium runs WITHOUT its sandbox{' as root' if as_root else ''}: {why}. "
                   "Rendered pages are then one browser exploit away from this process; see README, Security.")
        return {**options, "args": args, "chromium_sandbox": False}
    # Playwright adds --no-sandbox itself unless told otherwise.
    if not as_root:
        return {**options, "args": args, "chromium_sandbox": True}
    env = {**(options.get("env") or os.environ), "DOCSPASTA_BROWSER_USER": browser_user, "DOCSPASTA_CHROMIUM": chromium}
    return {**options, "args": args, "chromium_sandbox": True, "executable_path": str(WRAPPER), "env": env}


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    logger.warning(message)
