#!/usr/bin/env python3
"""A man in the middle for the chunked-OHTTP stream tests: forwards HTTP/1.1 requests to the
runtime and, for POST /v1/ohttp, changes the chunked OHTTP response before handing it on
inside well-formed HTTP framing — so what the client must catch is the OHTTP-level damage, not
a broken connection.

Usage: ohttp_stream_proxy.py UPSTREAM_PORT MODE   (prints its own port, then serves)
MODE: pass | cut (drop the final OHTTP chunk: the last 40 bytes) | flip (flip one byte in
the middle of the body)
"""
import socket
import sys
import threading


def read_until(sock, buf, marker):
    while marker not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError
        buf += data
    return buf


def read_message(sock):
    """One HTTP/1.1 message (head, decoded body, raw bytes) from sock."""
    buf = read_until(sock, b"", b"\r\n\r\n")
    head, rest = buf.split(b"\r\n\r\n", 1)
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, v = line.split(b":", 1)
        headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while True:
            rest = read_until(sock, rest, b"\r\n")
            line, rest = rest.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(rest) < size + 2:
                data = sock.recv(65536)
                if not data:
                    raise EOFError
                rest += data
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                break
    elif b"content-length" in headers:
        n = int(headers[b"content-length"])
        while len(rest) < n:
            data = sock.recv(65536)
            if not data:
                raise EOFError
            rest += data
        body = rest[:n]
    return head, headers, body


def handle(client, upstream_port, mode):
    try:
        head, headers, body = read_message(client)
        lines = head.split(b"\r\n")
        out_head = [lines[0]] + [l for l in lines[1:] if not l.lower().startswith(
            (b"transfer-encoding", b"content-length", b"connection"))]
        out_head += [b"Content-Length: %d" % len(body), b"Connection: close"]
        up = socket.create_connection(("127.0.0.1", upstream_port))
        up.sendall(b"\r\n".join(out_head) + b"\r\n\r\n" + body)
        rhead, rheaders, rbody = read_message(up)
        up.close()
        if lines[0].startswith(b"POST /v1/ohttp") and mode != "pass":
            if mode == "cut":
                rbody = rbody[:-40]
            elif mode == "flip":
                b = bytearray(rbody)
                b[len(b) // 2] ^= 1
                rbody = bytes(b)
        rlines = rhead.split(b"\r\n")
        out = [rlines[0]] + [l for l in rlines[1:] if not l.lower().startswith(
            (b"transfer-encoding", b"content-length", b"connection", b"keep-alive"))]
        out += [b"Content-Length: %d" % len(rbody), b"Connection: close"]
        client.sendall(b"\r\n".join(out) + b"\r\n\r\n" + rbody)
    except (EOFError, OSError):
        pass
    finally:
        client.close()


def main():
    upstream_port, mode = int(sys.argv[1]), sys.argv[2]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    print(server.getsockname()[1], flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=handle, args=(client, upstream_port, mode), daemon=True).start()


if __name__ == "__main__":
    main()
