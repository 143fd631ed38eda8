"""Start the dashboard's Solara server: `peerscale dashboard [--host H] [--port P] [--mesa]`.

The server runs Solara's Starlette app under uvicorn with `simulation.dashboard.app:Page` as its
page (with --mesa, Mesa's SolaraViz view `simulation.dashboard.mesa_view:page`), in production
mode (no reloader; errors stay out of the page). It binds the port before saying where it
listens, so the printed URL works, and stops cleanly on Ctrl-C. The numba kernels are prepared
meanwhile (warmup.py), and the terminal says so and how long it took.
"""

from __future__ import annotations

import os
import socket
import sys
import warnings
from typing import NoReturn

APP = "simulation.dashboard.app:Page"
MESA_APP = "simulation.dashboard.mesa_view:page"  # Mesa's SolaraViz over one model


def _prepare_environment(host: str, port: int, app: str = APP) -> None:
    """Settings solara reads from the environment when it is first imported."""
    # No usage telemetry: the dashboard must not call out (and offline it cannot).
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"
    os.environ["SOLARA_APP"] = app
    os.environ["SOLARA_MODE"] = "production"
    # Solara's "This website runs on Solara" badge sat over the figures' legends; the page
    # credits Solara and Mesa in its docs instead (docs/dashboard.md).
    os.environ["SOLARA_THEME_SHOW_BANNER"] = "false"
    os.environ.setdefault("SERVER_NAME", host)
    os.environ.setdefault("SERVER_PORT", str(port))


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, or SystemExit with a one-line reason."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, ValueError, UnicodeError, OverflowError) as exc:
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc)
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in f"{host}:{port}")
        print(
            f"error: cannot listen on {shown}: {reason} (allowed: an address of this machine "
            "and a free port from 1 to 65535; choose another --host or --port)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    sock.listen(128)
    return sock


def url(host: str, port: int) -> str:
    """The address to open in a browser."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def assets_warning() -> str | None:
    """What to tell the user if the browser assets are not in Solara's cache (None if they are)."""
    from . import offline_assets

    absent = offline_assets.missing()
    if not absent:
        return None
    names = ", ".join(a.spec for a in absent)
    return (
        f"warning: the dashboard's browser assets are missing from {offline_assets.cache_dir()} "
        f"({names}).\n"
        "         Without them the page stays blank unless this machine can reach the public CDN.\n"
        "         Fetch them once from the npm registry: "
        "python -m simulation.dashboard.offline_assets"
    )


def serve(host: str = "127.0.0.1", port: int = 8765, mesa: bool = False) -> None:
    """Serve the dashboard until Ctrl-C.

    Args:
        host: address to listen on (127.0.0.1: this machine only).
        port: TCP port to listen on.
        mesa: serve Mesa's SolaraViz view (mesa_view.py) instead of the default page.
    """
    _prepare_environment(host, port, MESA_APP if mesa else APP)
    warning = assets_warning()
    if warning:
        print(warning, file=sys.stderr)
    sock = _bind(host, port)
    from .warmup import WARMUP

    WARMUP.start(log=lambda line: print(line, flush=True))  # in the background: pages wait

    import solara.server.settings
    import uvicorn

    # Solara warns on every page load over plain http to an address other than 'localhost' that
    # its session cookie falls back to SameSite=lax: right for a page that is not in an iframe.
    warnings.filterwarnings(
        "ignore", message="Cookies with samesite=none require https", category=UserWarning
    )
    solara.server.settings.main.mode = "production"
    solara.server.settings.telemetry.mixpanel_enable = False
    solara.server.settings.theme.show_banner = False
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    print(f"PeerScale dashboard: {url(host, port)}  (Ctrl-C stops it)", flush=True)
    try:
        server.run(sockets=[sock])  # uvicorn handles Ctrl-C: closes sessions, then returns
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("dashboard stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m simulation.dashboard.serve [--host H] [--port P]` (the tests use this)."""
    import argparse

    class OneLineParser(argparse.ArgumentParser):
        """argparse's usage errors as one line on stderr, exit code 2 (as the CLI's)."""

        def error(self, message: str) -> NoReturn:
            self.exit(2, f"error: {self.prog}: {message} (see --help)\n")

    def port(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if not 1 <= value <= 65535:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: allowed 1 to 65535")
        return value

    parser = OneLineParser(prog="python -m simulation.dashboard.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port, default=8765)
    parser.add_argument("--mesa", action="store_true", help="Mesa's SolaraViz view of one model")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.mesa)


if __name__ == "__main__":
    main()
