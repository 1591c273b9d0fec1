#!/usr/bin/env python3
"""Idle keep-alive connections: how much resident memory does each one cost the server?

Opens COUNT TCP connections to 127.0.0.1:PORT, sends one complete keep-alive
`GET /healthz HTTP/1.1` on each and reads the whole response (so every connection is an idle
keep-alive connection in the server, past its first request), holds them, and reads the
server's VmRSS from /proc/PID/status before opening, once all are idle (after --settle
seconds), and again after closing them all. Prints one JSON object on stdout; progress goes
to stderr.

Connections are opened in batches (connect the batch, send on each, read each response) so
the listen backlog is never overrun. If this process's hard RLIMIT_NOFILE is too low for COUNT
sockets, the connections are spread over several child processes. Everything is bounded by
--deadline: past it the run stops, closes what it opened and exits non-zero.
"""

import argparse
import json
import math
import multiprocessing
import os
import resource
import select
import socket
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
SPARE_FDS = 64  # stdio, pipes, /proc reads


def log(message):
    print(f"idle_connections: {message}", file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def raise_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def read_response(sock, deadline):
    """Reads one HTTP/1.1 response with a Content-Length body; returns (status, headers)."""
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("server closed the connection before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ConnectionError("server closed the connection mid-body")
        body += chunk
    if len(body) > length:
        raise ConnectionError("unexpected bytes after the response")
    return status, headers


def open_idle(port, count, batch, deadline):
    """Opens `count` idle keep-alive connections; returns the sockets (raises on any failure)."""
    sockets = []
    try:
        while len(sockets) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"deadline passed with {len(sockets)} of {count} connections open")
            group = []
            for _ in range(min(batch, count - len(sockets))):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                group.append(sock)
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.connect(("127.0.0.1", port))
            for sock in group:
                sock.sendall(REQUEST)
            for sock in group:
                status, headers = read_response(sock, deadline)
                if status != 200:
                    raise ConnectionError(f"GET /healthz answered {status}")
                if headers.get("connection", "").lower() == "close":
                    raise ConnectionError("server asked to close a keep-alive connection")
            sockets.extend(group)
            group = []
    except BaseException:
        for sock in sockets + group:
            sock.close()
        raise
    return sockets


def still_open(sockets):
    """Counts connections the server has not closed (no EOF/error pending on them)."""
    closed = 0
    poller = select.poll()
    for sock in sockets:
        poller.register(sock.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    for fd, _ in poller.poll(0):
        closed += 1
    return len(sockets) - closed


def worker(port, count, batch, deadline, conn):
    """Child process: opens its share, reports, holds them until told to close."""
    try:
        raise_nofile(count + SPARE_FDS)
        sockets = open_idle(port, count, batch, deadline)
        conn.send(("open", len(sockets)))
        # Wait for "count" / "close" (bounded by the deadline).
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not conn.poll(remaining):
                break
            message = conn.recv()
            if message == "count":
                conn.send(("count", still_open(sockets)))
            else:
                break
        for sock in sockets:
            sock.close()
        conn.send(("closed", len(sockets)))
    except BaseException as error:  # report, never hang the parent
        try:
            conn.send(("error", f"{type(error).__name__}: {error}"))
        except Exception:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="server process whose VmRSS is read")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait once all are idle")
    parser.add_argument("--deadline", type=float, default=150.0, help="seconds the whole run may take")
    parser.add_argument("--processes", type=int, default=0, help="client processes (0: as the fd limit needs)")
    args = parser.parse_args()

    start = time.monotonic()
    deadline = start + args.deadline
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    per_process_max = (hard - SPARE_FDS) if hard != resource.RLIM_INFINITY else args.count
    if per_process_max <= 0:
        sys.exit(f"idle_connections: hard RLIMIT_NOFILE {hard} is too low")
    processes = args.processes or max(1, math.ceil(args.count / per_process_max))
    shares = [args.count // processes + (1 if i < args.count % processes else 0) for i in range(processes)]
    log(f"RLIMIT_NOFILE soft {soft} hard {hard}; {args.count} connections over {processes} process(es)")

    rss_before = rss_kib(args.pid)
    fds_before = open_fds(args.pid)
    context = multiprocessing.get_context("fork")
    children = []
    for share in shares:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=worker, args=(args.port, share, args.batch, deadline, child_end), daemon=True)
        process.start()
        children.append((process, parent_end))

    def receive(pipe, expected):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not pipe.poll(remaining):
            raise TimeoutError(f"no '{expected}' from a client process before the deadline")
        kind, value = pipe.recv()
        if kind != expected:
            raise RuntimeError(f"client process: {value}")
        return value

    result = {"count": args.count, "processes": processes, "server_pid": args.pid}
    failure = None
    try:
        opened = sum(receive(pipe, "open") for _, pipe in children)
        result["open_seconds"] = round(time.monotonic() - start, 2)
        log(f"{opened} idle keep-alive connections open after {result['open_seconds']} s; settling {args.settle} s")
        time.sleep(args.settle)
        rss_idle = rss_kib(args.pid)
        fds_idle = open_fds(args.pid)
        for _, pipe in children:
            pipe.send("count")
        alive = sum(receive(pipe, "count") for _, pipe in children)
        for _, pipe in children:
            pipe.send("close")
        for _, pipe in children:
            receive(pipe, "closed")
        time.sleep(args.settle)
        rss_after = rss_kib(args.pid)
        fds_after = open_fds(args.pid)
        result.update(
            opened=opened,
            still_open_after_settle=alive,
            rss_before_kib=rss_before,
            rss_idle_kib=rss_idle,
            rss_after_close_kib=rss_after,
            rss_delta_kib=rss_idle - rss_before,
            rss_per_connection_bytes=round((rss_idle - rss_before) * 1024 / opened) if opened else None,
            server_fds_before=fds_before,
            server_fds_idle=fds_idle,
            server_fds_after_close=fds_after,
        )
        mib = lambda kib: kib / 1024
        result["summary"] = [
            f"{opened} opened in {result['open_seconds']} s by {processes} client process(es); "
            f"{alive} still open after {args.settle:g} s idle",
            f"server VmRSS: before {mib(rss_before):.1f} MiB, all idle {mib(rss_idle):.1f} MiB, "
            f"{args.settle:g} s after closing them {mib(rss_after):.1f} MiB",
            f"delta {mib(rss_idle - rss_before):.1f} MiB = {result['rss_per_connection_bytes']} bytes "
            f"({result['rss_per_connection_bytes'] / 1024:.1f} KiB) per idle connection",
            f"server open fds: before {fds_before}, idle {fds_idle}, after closing {fds_after}",
        ]
    except BaseException as error:
        failure = f"{type(error).__name__}: {error}"
        result["error"] = failure
    finally:
        for process, pipe in children:
            try:
                pipe.send("close")
            except Exception:
                pass
        for process, _ in children:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    print(json.dumps(result), flush=True)
    if failure:
        log(failure)
        sys.exit(1)


if __name__ == "__main__":
    main()
