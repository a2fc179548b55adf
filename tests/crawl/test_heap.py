"""A crawl process hands a big page's memory back to the system once it is freed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A process frees one 16 MB block (glibc's default then raises its mmap threshold to 16 MB and
# its trim threshold to 32), then reads "pages": 30 bodies of 1 MB alive at once, all freed.
# What it holds afterwards is RSS the system does not get back.
_PAGES = """
import json, sys
sys.path.insert(0, sys.argv[1])
from spiders.crawl.heap import map_large_allocations
if sys.argv[2] == "mapped":
    map_large_allocations()
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
del_me = bytearray(16 * 2**20)
del del_me
before = rss()
bodies = [bytearray(2**20) for _ in range(30)]
for body in bodies:
    body[::4096] = b"x" * len(body[::4096])  # touched, as a page read from the network is
del bodies, body
print(json.dumps({"kept": rss() - before}))
"""


def _kept(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PAGES, str(ROOT), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["kept"]


def test_freed_big_pages_leave_the_process():
    assert _kept("default") > 20 * 2**20  # glibc's default keeps them (the reason for the call)
    assert _kept("mapped") < 2 * 2**20
