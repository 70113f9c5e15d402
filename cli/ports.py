"""Ports on this (shared) machine: find a free one, or say plainly who holds a taken one."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


class PortTaken(RuntimeError):
    def __init__(self, port: int, what: str, variable: str) -> None:
        super().__init__(
            f"Port {port} is already in use by another process, so {what} cannot start there. "
            f"Stop that process or choose another port, e.g. {variable}={free_port()} make run"
        )


def ensure_free(port: int, what: str, variable: str) -> None:
    if is_listening(port):
        raise PortTaken(port, what, variable)
