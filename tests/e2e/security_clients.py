"""Hostile HTTP clients for tests/e2e/security.sh, on raw sockets so that
they can do what curl will not: trickle a request a few bytes at a time,
hold connections open, send oversized headers, and connect from another
loopback address. Each command prints "key value" lines for the shell.

  security_clients.py slow PORT TIMEOUT LIMIT
  security_clients.py big PORT TOKEN SECRET
"""
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def connect(port, src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect((HOST, port))
    return s


def exchange(port, raw, src="127.0.0.1", chunk=65536):
    """Sends raw bytes and reads the answer: its status code, or "closed"
    when the server hung up without one."""
    try:
        s = connect(port, src)
    except OSError as e:
        return "refused:%s" % e.__class__.__name__
    try:
        for i in range(0, len(raw), chunk):
            s.sendall(raw[i:i + chunk])
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server may close before it has read everything
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    s.close()
    if not data.startswith(b"HTTP/1."):
        return "closed"
    return data.split(b" ", 2)[1].decode()


def healthz(port, src="127.0.0.1"):
    return exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", src)


class Trickler(threading.Thread):
    """A slowloris: the start of a request, then a few bytes every 300 ms
    (so it is never idle), until the server closes the connection. Records
    how long that took."""

    def __init__(self, port, head, drip):
        super().__init__(daemon=True)
        self.port, self.head, self.drip = port, head, drip
        self.closed_after = None
        self.connected = threading.Event()

    def run(self):
        s = connect(self.port)
        s.settimeout(0.3)
        t0 = time.monotonic()
        self.connected.set()
        try:
            s.sendall(self.head)
            while time.monotonic() - t0 < 30:
                s.sendall(self.drip)
                try:
                    if s.recv(4096) == b"":
                        break
                except socket.timeout:
                    pass
        except OSError:
            pass
        self.closed_after = time.monotonic() - t0
        s.close()


def slow(port, timeout, limit):
    port, limit = int(port), int(limit)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    # Three at once: headers trickling, a body trickling, a silent client.
    t_head = Trickler(port, head, b"X-Slow: 1\r\n")
    t_body = Trickler(port, b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", b" ")
    t_idle = Trickler(port, head, b"")
    for t in (t_head, t_body, t_idle):
        t.start()
    for t in (t_head, t_body, t_idle):
        t.join(40)
    print("head_closed_after %.2f" % t_head.closed_after)
    print("body_closed_after %.2f" % t_body.closed_after)
    print("idle_closed_after %.2f" % t_idle.closed_after)

    # The per-address limit: LIMIT slow clients from 127.0.0.1.
    ts = [Trickler(port, head, b"X-Slow: 1\r\n") for _ in range(limit)]
    for t in ts:
        t.start()
        t.connected.wait(5)
    time.sleep(0.5)
    t0 = time.monotonic()
    print("held_from_1 %s" % healthz(port, "127.0.0.1"))
    print("other_addr %s" % healthz(port, "127.0.0.2"))
    for t in ts:
        t.join(40)
    print("held_closed_after_max %.2f" % max(t.closed_after for t in ts))
    # Served again once they are gone (the count drops as each closes).
    status = None
    while time.monotonic() - t0 < float(timeout) + 6:
        status = healthz(port, "127.0.0.1")
        if status == "200":
            break
        time.sleep(0.1)
    print("after_from_1 %s %.2f" % (status, time.monotonic() - t0))


def big(port, token, secret):
    port = int(port)
    auth = ("Authorization: Bearer %s\r\n" % token).encode()
    huge = b"X-Big: " + b"a" * 100000 + b"\r\n"
    many = b"".join(b"X-H%05d: v\r\n" % i for i in range(5000))
    hook = ("/webhooks/chatwoot/%s" % secret).encode()
    body = b"{" + b" " * 100000 + b"}"

    def post(path, extra=b"", data=b"", length=True):
        req = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + extra
        req += b"Content-Type: application/json\r\n"
        if length:
            req += b"Content-Length: %d\r\n" % len(data)
        return req + b"\r\n" + data

    def chunked(data):
        return b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n"

    print("hdr_api %s" % exchange(port, post(b"/api/v1/messages", huge, b"{}")))
    print("hdr_hook %s" % exchange(port, post(hook, huge, b"{}")))
    print("many_api %s" % exchange(port, post(b"/api/v1/messages", many, b"{}")))
    print("many_hook %s" % exchange(port, post(hook, many, b"{}")))
    print("url_api %s" % exchange(port, b"GET /api/v1/cases?x=" + b"a" * 100000 +
                                  b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + b"\r\n"))
    print("body_api %s" % exchange(port, post(b"/api/v1/messages", b"", body)))
    print("body_hook %s" % exchange(port, post(hook, b"", body)))
    print("chunked_api %s" % exchange(port, post(b"/api/v1/messages",
                                                  b"Transfer-Encoding: chunked\r\n",
                                                  chunked(body), False)))
    print("chunked_hook %s" % exchange(port, post(hook, b"Transfer-Encoding: chunked\r\n",
                                                  chunked(body), False)))
    print("claimed_hook %s" % exchange(port, post(hook, b"Content-Length: 99999999999\r\n",
                                                  b"", False)))
    print("healthz_after %s" % healthz(port))


if __name__ == "__main__":
    {"slow": slow, "big": big}[sys.argv[1]](*sys.argv[2:])
