"""``optdyn explore``: a local web page where theory curves follow the sliders.

The page shows the problem (d, spectrum, target exponent, noise law and scale, basis) and
several optimizers with their hyperparameters on sliders; every change redraws the exact risk
curves of the theory (:func:`optdyn.theory.run_available`, log-log, limit risks dotted,
critical rates beside the learning-rate sliders). "Simulate" runs a few seeds in the background
and draws their 10-90% bands under the dashed theory; "Save" writes the view as an experiment
spec (TOML) that ``optdyn run`` reruns, and the figure as PNG.

The server (Starlette on uvicorn, :mod:`optdyn.explore.app`) listens on 127.0.0.1 by default
and takes only the fields of :data:`optdyn.explore.view.SCHEMA`, within
:data:`optdyn.explore.view.LIMITS`. Needs the ``explore`` extra
(``pip install 'optdyn[explore]'``).
"""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

from optdyn._core.errors import ConfigError

__all__ = ["serve", "start", "Server"]


def _missing(e: ModuleNotFoundError) -> ConfigError:
    return ConfigError("explore", f"the explorer needs the package {e.name!r}: install the "
                       "extra with pip install 'optdyn[explore]'")


def _check_free(host: str, port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError("port", f"cannot listen on {host}:{port} ({e.strerror}): "
                              "choose another with --port N") from None


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class Server:
    """A running explorer: ``url``, and ``stop()``."""

    def __init__(self, server: Any, thread: threading.Thread, url: str) -> None:
        self._server, self._thread, self.url = server, thread, url

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _warm() -> None:
    """Compute the default view once, so the first change on the page is as fast as the rest
    (it compiles the laws' programs, or loads them from the kept-program folder)."""
    from optdyn.explore.curves import theory_payload
    from optdyn.explore.view import DEFAULT_VIEW, check_view

    theory_payload(check_view(DEFAULT_VIEW))


def _server(host: str, port: int, out_dir: str | Path) -> Any:
    """A uvicorn server of the explorer's app (not yet running)."""
    try:
        import uvicorn

        from optdyn.explore.app import make_app
    except ModuleNotFoundError as e:
        raise _missing(e) from None
    config = uvicorn.Config(make_app(out_dir), host=host, port=port, log_level="warning")
    return uvicorn.Server(config)


def start(host: str = "127.0.0.1", port: int = 0, out_dir: str | Path = "explore_output",
          warm: bool = True) -> Server:
    """Start the explorer in a background thread (``port = 0``: a free port) and return once
    it answers; for tests, benchmarks and notebooks."""
    port = port or _free_port(host)
    server = _server(host, port, out_dir)
    if warm:
        _warm()
    thread = threading.Thread(target=server.run, name="optdyn-explore", daemon=True)
    thread.start()
    t0 = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - t0 > 30:
            raise ConfigError("port", f"the explorer could not listen on {host}:{port}")
        time.sleep(0.02)
    return Server(server, thread, f"http://{host}:{port}/")


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True,
          out_dir: str | Path = "explore_output") -> None:
    """Run the explorer until interrupted (Ctrl-C), opening the page in the browser."""
    server = _server(host, port, out_dir)
    _check_free(host, port)
    print("optdyn explore: compiling the theory of the default view ...", flush=True)
    _warm()
    url = f"http://{host}:{port}/"
    if open_browser:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    print(f"optdyn explore: {url} (saved views go to {Path(out_dir)}/); Ctrl-C stops it",
          flush=True)
    server.run()
