"""A page-hit counter kept in Redis: compose's getting-started app, with Python's standard
library only (the images are made offline, so there is no pip install).

GET /         counts the visit in Redis (INCR hits) and says how many there have been
GET /healthz  answers 200 when Redis answers PING, 503 otherwise
"""
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIS_HOST = os.environ.get("REDIS_HOST", "redis")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
PORT = int(os.environ.get("PORT", "8000"))
HOSTNAME = socket.gethostname()


def redis(*args):
    """Sends one command to Redis in its wire protocol (RESP) and returns the reply."""
    request = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = str(arg).encode()
        request.append(b"$%d\r\n%s\r\n" % (len(data), data))
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as conn:
        conn.sendall(b"".join(request))
        return read_reply(conn.makefile("rb"))


def read_reply(stream):
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else stream.read(size + 2)[:-2].decode()
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [read_reply(stream) for _ in range(size)]
    raise RuntimeError(f"unexpected reply from redis: {line!r}")


def hit_count():
    """INCR with a few retries, as the compose tutorial does, for a Redis that is restarting."""
    for attempt in range(5):
        try:
            return redis("INCR", "hits")
        except (OSError, ConnectionError):
            if attempt == 4:
                raise
            time.sleep(0.5)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            if self.path == "/healthz":
                body = f"redis: {redis('PING')}\n"
            elif self.path == "/":
                body = f"Hello from {HOSTNAME}! I have been seen {hit_count()} times.\n"
            else:
                self.reply(404, "not found\n")
                return
        except Exception as error:  # Redis down or unreachable: say so, do not crash
            self.reply(503, f"redis at {REDIS_HOST}:{REDIS_PORT} is not available: {error}\n")
            return
        self.reply(200, body)

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        if self.path != "/healthz":
            sys.stderr.write(f"{self.address_string()} {fmt % args}\n")


def main():
    # PID 1 in a container gets no default signal handlers: stop promptly on SIGTERM.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print(f"listening on :{PORT}, counting in redis at {REDIS_HOST}:{REDIS_PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
