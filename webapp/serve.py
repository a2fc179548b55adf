"""`docspasta serve` and `docspasta migrate`: the web app's console commands."""
from __future__ import annotations

import argparse
import signal
import socket
import sys


def listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, opened before anything else starts.

    A port in use is then reported before an embedded server is started, and nothing can take
    the port while PostgreSQL starts and migrations run. Listening at once (not only binding)
    matters: on Linux two SO_REUSEADDR sockets may bind one port as long as neither listens.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it every small response waits ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from webapp.app import create_app
    from webapp.embedded import EmbeddedError, services_for
    from webapp.logs import log_for_server
    from webapp.settings import settings_for_command

    settings = settings_for_command()
    if settings is None:
        return 2
    log_for_server(args.log_level, settings.log_format)
    # Crawls parse and convert pages on the reactor thread; with the default 5 ms GIL slices
    # uvicorn's thread waits behind them and SSE events arrive late (bench/web_bench.py:
    # event p99 under 10 jobs fell from 66-148 ms to 17-20 ms with 1 ms slices).
    sys.setswitchinterval(0.001)
    _exit_on_signals()
    try:
        listener = listen(args.host, args.port)
    except OSError as exc:
        print(f"docspasta: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
              " (another server there? choose another with --port)", file=sys.stderr)
        return 1
    try:
        with listener, services_for(settings) as settings:
            # The app factory installs the asyncio reactor and starts crochet before uvicorn's loop exists.
            app = create_app(settings)
            # Open SSE streams never finish by themselves: give them a few seconds at shutdown, then cut them.
            # log_config=None: uvicorn's records go through the handler above, in the same format.
            config = uvicorn.Config(app, log_level=args.log_level, lifespan="on", timeout_graceful_shutdown=5,
                                    log_config=None)
            server = uvicorn.Server(config)
            server.run(sockets=[listener])
    except EmbeddedError as exc:
        print(f"docspasta: error: {exc}", file=sys.stderr)
        return 1
    return 0 if server.started else 3  # uvicorn's own exit code for a server that did not start


def _exit_on_signals() -> None:
    """SIGINT and SIGTERM end the process through SystemExit, so the embedded servers stop first.

    uvicorn handles both while it serves, and once it has shut down it raises the signal again
    with the handler it found: this one, rather than SIGTERM's default (die at once).
    """
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from webapp.embedded import EmbeddedError, services_for
    from webapp.migrate import migrate_url
    from webapp.settings import Settings

    try:
        with services_for(Settings.from_env()) as settings:
            applied = asyncio.run(migrate_url(settings.database_url))
    except EmbeddedError as exc:
        print(f"docspasta: error: {exc}", file=sys.stderr)
        return 1
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


SERVE_EPILOG = """\
servers:
  With DATABASE_URL and REDIS_URL unset, PostgreSQL and Redis run embedded, with their
  data in DOCSPASTA_DATA_DIR (default: ~/.local/share/docspasta), and stop with the server.
  Set either to use your own server, e.g.
    DATABASE_URL=postgresql://user:pass@db:5432/docspasta REDIS_URL=redis://cache:6379/0

environment (all optional; README.md, "Configuration", lists every one):
  DOCSPASTA_ALLOW_HOSTS     host:port pairs that may be crawled although internal
  DOCSPASTA_LOG_FORMAT      text (default) or json
  DOCSPASTA_METRICS_TOKEN   require `Authorization: Bearer <token>` on /metrics
"""


def add_server_commands(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="run the web app and its crawler (http://127.0.0.1:8000/)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the DocsPasta web app and its crawler with uvicorn.",
        epilog=SERVE_EPILOG)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on, 0 for any free one (default: 8000)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                       help="the least severe records logged (default: info)")
    serve.set_defaults(handler=_serve)
    migrate = commands.add_parser(
        "migrate", help="apply the database migrations and exit",
        description="Apply the database migrations (to DATABASE_URL, else to the embedded PostgreSQL) and exit. "
                    "`docspasta serve` applies them at start-up too.")
    migrate.set_defaults(handler=_migrate)
