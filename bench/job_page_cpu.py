"""The job page's cost to the browser in CPU time, which the machine's load does not inflate as it does
wall-clock time: Chromium traces (Playwright) of a served job page, summed over the renderer's main
thread (each task's thread time).

 - load: from the page's request to the end of the first frame after DOMContentLoaded (parse, scripts,
   style, layout, paint);
 - filter switch: from the click on a fate tab to the end of the first frame after htmx's swap (the
   response's handling by htmx, then style, layout and paint of the new list).

It measures a running server (bench/job_page.py makes the job; or any finished job):

    python bench/job_page_cpu.py http://127.0.0.1:PORT/jobs/ID [--runs 10]

Run it against two servers (this checkout's and another's, `git archive` of a commit) on one
database for a before/after: the figures are comparable across loads where the wall times are not.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ["devtools.timeline", "blink", "loading", "v8.execute", "disabled-by-default-devtools.timeline"]
CLICK = """(id) => new Promise((resolve) => {
    document.body.addEventListener('htmx:afterSettle', () => requestAnimationFrame(() => setTimeout(resolve)), {once: true});
    document.getElementById(id).click();
})"""
FATES = ("fate-failed", "fate-left_out", "fate-included", "fate-skipped")


def main_thread(events: list[dict]) -> list[dict]:
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    return [e for e in events if names.get((e["pid"], e["tid"])) == "CrRendererMain" and e.get("ph") == "X" and "dur" in e]


def cpu_ms(main: list[dict], start: float, end: float) -> float:
    return sum(e.get("tdur", 0) for e in main if e["name"] == "RunTask" and start <= e["ts"] <= end) / 1000


def frame_end(main: list[dict], after: float) -> float:
    frame = min((e for e in main if e["name"] == "WebFrameWidgetImpl::UpdateLifecycle" and e["ts"] > after),
                key=lambda e: e["ts"])
    return frame["ts"] + frame["dur"]


def load_cost(events: list[dict], url: str) -> dict[str, float]:
    main = main_thread(events)
    start = min(e["ts"] for e in events if e.get("name") == "ResourceSendRequest"
                and e["args"]["data"].get("url") == url)
    frames = {e["args"]["beginData"]["frame"] for e in events if e.get("name") == "ParseHTML"
              and e["args"].get("beginData", {}).get("url") == url}
    dcl = min(e["ts"] for e in events if e.get("name") == "MarkDOMContent" and e["args"]["data"]["frame"] in frames)
    end = frame_end(main, dcl)
    return {"cpu_to_dom_content_loaded_ms": cpu_ms(main, start, dcl), "cpu_to_first_frame_ms": cpu_ms(main, start, end)}


def switch_cost(events: list[dict]) -> dict[str, float]:
    main = main_thread(events)
    click = min(e["ts"] for e in main if e["name"] == "EventDispatch" and e["args"]["data"].get("type") == "click")
    xhr = min((e for e in main if e["name"] == "XHRLoad" and e["ts"] > click), key=lambda e: e["ts"])
    return {"cpu_htmx_response_ms": xhr.get("tdur", 0) / 1000,
            "cpu_to_next_frame_ms": cpu_ms(main, click, frame_end(main, xhr["ts"]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a job page: http://HOST:PORT/jobs/ID")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    loads, switches = [], []
    trace = Path(tempfile.mkdtemp()) / "trace.json"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            for n in range(args.runs + 1):  # the first warms the cache
                tab.goto(args.url.split("/jobs/")[0] + "/search")  # from a page of the origin: one renderer
                browser.start_tracing(page=tab, path=str(trace), categories=CATEGORIES)
                tab.goto(args.url, wait_until="load")
                tab.wait_for_function("() => window.htmx !== undefined")
                tab.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)))")
                browser.stop_tracing()
                load = load_cost(json.loads(trace.read_text())["traceEvents"], args.url)
                browser.start_tracing(page=tab, path=str(trace), categories=CATEGORIES)
                tab.evaluate(CLICK, FATES[n % len(FATES)])
                browser.stop_tracing()
                if n:
                    loads.append(load)
                    switches.append(switch_cost(json.loads(trace.read_text())["traceEvents"]))
        finally:
            browser.close()
    report = {name: round(statistics.median(run[name] for run in runs), 1)
              for runs in (loads, switches) for name in runs[0]}
    print(json.dumps({"runs": args.runs, "median": report}, indent=2))


if __name__ == "__main__":
    main()
