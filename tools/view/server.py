"""The viser server behind `neurender view`: one scene subtree and one panel folder per run.

With several runs, a "run" dropdown shows one at a time (their worlds overlap) and moves the
viewport to that run's starting view. The port is checked before viser starts because viser
silently moves to the next free port, and a user who asked for 8080 must get 8080 or an error.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tools.errors import ToolError
from tools.view.pages.base import RunPage

UP = (0.0, 1.0, 0.0)  # the project's world is +Y up


def check_port(host: str, port: int) -> None:
    """Raise ToolError when `port` on `host` cannot be bound (something listens there, or it is privileged)."""
    if port == 0:
        return
    if not 0 < port < 65536:
        raise ToolError(f"--port must be within 1..65535, got {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ToolError(f"--host {host}: cannot resolve ({e})") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # SO_REUSEADDR: a socket in TIME_WAIT from an earlier viewer does not count as in use.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise ToolError(f"port {port} on {host} is in use or not allowed ({e.strerror}); pick another --port") \
                from None


@dataclass
class Viewer:
    """A running viewer; `stop()` shuts the server down."""

    server: object
    pages: list[RunPage]
    roots: list[str]

    @property
    def port(self) -> int:
        return self.server.get_port()

    @property
    def url(self) -> str:
        host = self.server.get_host()
        return f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{self.port}"

    def stop(self) -> None:
        self.server.stop()


def _set_home(server, page: RunPage, clients: Sequence = ()) -> None:
    home = page.home()
    if home is None:
        return
    eye, target = (np.asarray(v, np.float64) for v in home)
    server.initial_camera.position = eye
    server.initial_camera.look_at = target
    server.initial_camera.up = UP
    for client in clients:
        with client.atomic():
            client.camera.position = eye
            client.camera.look_at = target
            client.camera.up_direction = UP


def start_viewer(pages: Sequence[RunPage], host: str = "127.0.0.1", port: int = 8080) -> Viewer:
    """Start a viser server showing `pages`; returns at once (the server runs in its own threads).

    Args:
        pages: opened runs (see `tools.view.detect.open_run`), at least one.
        host: interface to listen on ("0.0.0.0" for other machines).
        port: TCP port; 0 picks a free one.

    Raises:
        ToolError: no pages, or the port is in use.
    """
    import viser

    if not pages:
        raise ToolError("nothing to show: give at least one run directory")
    check_port(host, port)
    server = viser.ViserServer(host=host, port=port, label="neurender", verbose=False)
    if port and server.get_port() != port:  # lost a race for the port between the check and the bind
        server.stop()
        raise ToolError(f"port {port} on {host} is in use; pick another --port")
    server.gui.configure_theme(control_width="large", show_share_button=False)
    server.gui.main_panel.dock_right()
    server.scene.set_up_direction("+y")
    roots = [f"/run{i}" for i in range(len(pages))]
    selector = server.gui.add_dropdown("run", tuple(f"{i}: {p.title}" for i, p in enumerate(pages))) \
        if len(pages) > 1 else None
    frames, folders = [], []
    for i, (page, root) in enumerate(zip(pages, roots, strict=True)):
        frames.append(server.scene.add_frame(root, show_axes=False, visible=i == 0))
        with server.gui.add_folder(page.title, visible=i == 0) as folder:
            page.show(server, root)
        folders.append(folder)
    _set_home(server, pages[0])
    if selector is not None:

        @selector.on_update
        def _(_) -> None:
            k = int(selector.value.split(":", 1)[0])
            for i, (frame, folder) in enumerate(zip(frames, folders, strict=True)):
                frame.visible = folder.visible = i == k
            _set_home(server, pages[k], list(server.get_clients().values()))

    return Viewer(server, list(pages), roots)
