"""HTTP over the engine's Unix socket, for the floors measured straight on the engine's API
(bench/floor.py, bench/swarm_floor.py)."""

import http.client
import socket


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=300)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(300)
        self.sock.connect(self.path)
