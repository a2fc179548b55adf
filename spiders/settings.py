"""Scrapy settings for the DocsPasta crawl.

Every run (terminal, web job, benchmark) starts from these; a job layers its own
values on top at cmdline priority. Components read them through `from_crawler`.
"""
import os
from importlib.metadata import PackageNotFoundError, version

try:
    _VERSION = version("docspasta")
except PackageNotFoundError:  # running from a checkout that was never installed
    _VERSION = "0.0.0"

BOT_NAME = "docspasta"
SPIDER_MODULES = ["spiders.docs"]
NEWSPIDER_MODULE = "spiders"
COMMANDS_MODULE = "spiders.commands"

# An identifying User-Agent: site owners can see who we are and address us in robots.txt.
USER_AGENT = f"DocsPasta/{_VERSION} (+https://github.com/docspasta/docspasta)"
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "DocsPasta"

# Politeness a documentation host would not mind: a few connections at once, and
# AutoThrottle backs off when the server slows down.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
# Scrapy 2.19 starts every queued request of a slot at once when the slot's delay
# is 0, ignoring CONCURRENT_REQUESTS_PER_DOMAIN; any delay > 0 restores the cap
# (tests/crawl/test_crawl.py::test_per_host_concurrency_is_capped).
DOWNLOAD_DELAY = 0.001
# A page's outputs go through one at a time: its item is stored before the requests it
# yields after it leave, so fetching never runs ahead of storage by more than the spider's
# request window. Scrapy's default (100) starts 100 tasks per response; with a job's
# writes serialised, ~1,400 small pages (the 5 MB SCRAPER_SLOT_MAX_ACTIVE_SIZE of bodies)
# then waited for storage with ~130 KB each, ~250 MB in all on a 10,000-page job.
CONCURRENT_ITEMS = 1
# Bodies of fetched pages still being read (waiting for the extraction pool or in it): past
# this many bytes Scrapy takes no new request until they are read. Scrapy's 5 MB allowed a run
# of 1 MB source listings to hold that much in the crawl process; typical pages (30-200 KB)
# stay well under 2 MB, so the window of requests is what bounds them.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 2_000_000
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024

# Transient failures: 3 tries in all, with exponential backoff; Retry-After is
# honoured up to DOCSPASTA_RETRY_AFTER_MAX seconds.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOCSPASTA_RETRY_BACKOFF_BASE = 0.5
DOCSPASTA_RETRY_BACKOFF_MAX = 10.0
DOCSPASTA_RETRY_AFTER_MAX = 30.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.crawl.retry.BackoffRetryMiddleware": 550,
    # A refresh's page requests ask for what changed only (If-None-Match / If-Modified-Since);
    # off (NotConfigured) for a crawl with no earlier crawl to compare with.
    "spiders.refresh.conditional.ConditionalRequestMiddleware": 580,
    # After redirects (600): the response URL keeps a hash route (#/guide) as a browser's does.
    "spiders.render.routes.RouteFragmentMiddleware": 590,
    # Proxies from the environment would resolve names where the SSRF guard cannot see.
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    # A private job's headers and cookies: on requests to its own site only, after every other
    # middleware (redirects copy headers to wherever they lead).
    "spiders.safety.secrets.PrivateRequestsMiddleware": 940,
    # Scrapy's, without decoding every whole page on the reactor to read its first 4,096 characters.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "spiders.crawl.metarefresh.HeadMetaRefreshMiddleware": 580,
    "spiders.safety.middleware.SSRFGuardMiddleware": 950,
    "spiders.crawl.politeness.HostCapMiddleware": 960,
}

# Across every crawl in one process (all jobs of a worker): requests in flight per
# target host. Requests per second per host (0: no rate cap beyond AutoThrottle): across
# every process sharing DOCSPASTA_REDIS_URL and DOCSPASTA_REDIS_PREFIX, else per process.
# Off here: a terminal crawl runs on the user's own machine; the service sets its own
# (DOCSPASTA_HOST_RATE in the environment of `docspasta serve` and `docspasta worker`).
DOCSPASTA_HOST_CONCURRENCY = 8
DOCSPASTA_HOST_RATE = 0

# SSRF guard: loopback, private, link-local and other internal addresses are refused.
# `host:port` pairs listed here (comma-separated) may be crawled anyway: for tests
# and for local users crawling their own docs server. Nothing else turns the guard off.
DOCSPASTA_ALLOW_HOSTS = os.environ.get("DOCSPASTA_ALLOW_HOSTS", "")

# Crawler traps (spiders/crawl/traps.py): links past these limits are recorded as skipped.
DOCSPASTA_MAX_URL_LENGTH = 2048
DOCSPASTA_MAX_QUERY_PARAMS = 12
DOCSPASTA_MAX_PATH_SEGMENTS = 30
DOCSPASTA_MAX_SEGMENT_REPEATS = 3

# Processes that read fetched pages beside the crawl (spiders/crawl/offload.py): parsing, links,
# extraction, Markdown, quality and tokens, once per page; 0: in the crawl's own thread.
# Shared by every crawl of the process; by default one per core this process may use, at most
# 4 (each holds ~75 MB: lxml, the tokenizer). A worker is replaced after
# DOCSPASTA_EXTRACT_TASKS_PER_WORKER pages (0: never).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
DOCSPASTA_EXTRACT_WORKERS = int(os.environ.get("DOCSPASTA_EXTRACT_WORKERS") or min(4, _CORES))
DOCSPASTA_EXTRACT_TASKS_PER_WORKER = int(os.environ.get("DOCSPASTA_EXTRACT_TASKS_PER_WORKER", "0"))
# Where a web job is finalized (spiders/jobs/finalizer.py), never on the crawl's own thread:
# -1, in the extraction pool's warm processes; N > 0, in a pool of N processes of its own (a fresh
# one per job); 0, in a thread of the crawl process.
DOCSPASTA_FINALIZE_WORKERS = -1

# Stores pages in PostgreSQL for a job (web jobs, or -s DOCSPASTA_JOB_ID=... with
# DOCSPASTA_DATABASE_URL); without a job it switches itself off.
ITEM_PIPELINES = {"spiders.jobs.pipeline.PostgresPipeline": 300}

# Only the web is crawled: no file:, data:, s3: or ftp: fetches from typed-in URLs.
# http and https: Scrapy's own handler, or Chromium for requests marked `playwright`
# (spiders/render/policy.py decides which); the browser starts on the first such request.
DOWNLOAD_HANDLERS = {
    "file": None, "data": None, "s3": None, "ftp": None,
    "http": "spiders.render.handler.BrowserDownloadHandler",
    "https": "spiders.render.handler.BrowserDownloadHandler",
}

# JavaScript rendering (scrapy-playwright with Debian's Chromium; never `playwright install`).
# The features Playwright's launch disables (its chromiumSwitches.ts), in every version from the
# floor (1.55: AcceptCHFrame ... Translate) to 1.65: what one version dropped, the other still wants.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AcceptCHFrame", "AutoDeElevate", "DialMediaRouteProvider", "GlobalMediaControls", "Translate",
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints", "NetworkTimeServiceQuerying",
    "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion",
)
PLAYWRIGHT_BROWSER_TYPE = "chromium"
# The Chromium a crawl launches: unset, Debian's chromium-headless-shell where it is installed
# (the same Chromium without the browser's UI: ~115 MB PSS less per browser), else Debian's
# chromium (spiders/render/chromium.py). An `executable_path` in PLAYWRIGHT_LAUNCH_OPTIONS wins.
DOCSPASTA_CHROMIUM = os.environ.get("DOCSPASTA_CHROMIUM", "")
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "headless": True,
    "args": [
        "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync",
        # Every site in a renderer process of its own, so a page's script never shares a process
        # with another site's frames: the full browser's default, not the headless shell's.
        "--site-per-process",
        # The tabs of one site share one renderer process (sites stay isolated from each other):
        # a crawl's tabs are one site, and one renderer instead of one per tab is ~150 MB less PSS.
        "--process-per-site",
        # With --disable-gpu nothing is rasterized in software either: the GPU process keeps only the
        # compositor (~15 MB PSS less). A crawl reads the DOM, it never paints.
        "--disable-software-rasterizer",
        # Chromium takes the last --disable-features only: Playwright's own list (1.55-1.65) comes first,
        # then what a crawl's browser never shows, the omnibox's WebUI popups (their renderer,
        # ~50 MB, starts with the browser), and the spare renderer Chromium starts ahead of the next
        # navigation to a new site (a crawl's tabs all stay on one site, whose renderer is already
        # running: bench/render.py, renderers 149 MB in two processes -> 133 MB in one).
        # tests/render/test_render_policy.py checks the list still holds every feature Playwright disables.
        "--disable-features=" + ",".join((*PLAYWRIGHT_DISABLED_FEATURES, "WebUIOmniboxPopup", "WebUIOmniboxAimPopup",
                                          "SpareRendererForSitePerProcess")),
    ],
    "timeout": 30_000,
}
# V8 flags for Playwright's Node.js driver (spiders/render/driver.py: given to it alone). The driver
# only relays the protocol: a 1 MB young generation took its PSS from 134 to 117 MB in
# bench/render.py, and no optimizing compilers (TurboFan, Maglev, Sparkplug) to 103 MB, CPU per
# rendered page unchanged within the noise (bench/render_results.txt). Not --lite-mode (100 MB):
# it turns WebAssembly off (Playwright's webp codec uses it) and Node.js 22 (Playwright 1.55)
# prints a warning for it at every launch. An empty list starts the driver as Playwright does.
PLAYWRIGHT_DRIVER_NODE_FLAGS = ["--max-semi-space-size=1", "--no-opt", "--no-maglev", "--no-sparkplug"]
# Chromium keeps its sandbox (spiders/render/sandbox.py): a crawl running as root starts it
# as this user (empty: as root, with --no-sandbox); where the sandbox cannot work,
# --no-sandbox is added and a warning says why.
DOCSPASTA_BROWSER_USER = os.environ.get("DOCSPASTA_BROWSER_USER", "nobody")
# A bounded browser: one context, at most 4 pages rendering at once (2 cores).
PLAYWRIGHT_MAX_CONTEXTS = 1
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000  # ms
# Browsers running at once across every crawl of this process (web jobs run side by side),
# and how long, in seconds, a crawl waits for one before its page fails.
DOCSPASTA_RENDER_MAX_BROWSERS = 2
DOCSPASTA_RENDER_BROWSER_WAIT = 300.0
# Resource types the browser does not fetch: they carry no text. A rendered page's HTML is
# read from the DOM, which stylesheets do not change. Analytics hosts are never fetched either.
DOCSPASTA_RENDER_SKIP_RESOURCES = ["image", "media", "font", "stylesheet", "manifest", "texttrack"]
# PLAYWRIGHT_ABORT_REQUEST is the handler's own: every browser request passes the SSRF
# guard, and the types above are not fetched (spiders/render/handler.py). The
# handler also adds its guarded proxy to the launch options above (Playwright's `proxy`,
# and args so Chromium resolves no names and sends no UDP itself): a `proxy` set here is replaced.
# Longest wait, in seconds, for rendered content to settle (the selector below, then network quiet).
DOCSPASTA_RENDER_SETTLE_TIMEOUT = 10.0
# Seconds without a request in flight that count as settled (Playwright's networkidle waits 0.5).
DOCSPASTA_RENDER_NETWORK_QUIET = 0.25
# CSS selector of rendered content to wait for before network idle; None: network idle only.
DOCSPASTA_RENDER_WAIT_SELECTOR = None
# A route shown in the hash-routed document its tab keeps (spiders/render/handler.py): shown once the
# DOM changed and stayed quiet (no request in flight either) this many seconds; a route that changed
# nothing within DOCSPASTA_RENDER_ROUTE_GRACE seconds is loaded afresh.
DOCSPASTA_RENDER_DOM_QUIET = 0.1
DOCSPASTA_RENDER_ROUTE_GRACE = 2.0

TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote-control HTTP server listens on a port per crawl: not for a public service.
REMOTE_CONTROL_ENABLED = False

# The spider keeps its own frontier, normalised-URL dedup and depth accounting.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
DEPTH_LIMIT = 0
DEPTH_STATS_VERBOSE = False
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
