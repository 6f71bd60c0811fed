"""Sends N keep-alive GET requests one after another, each as a new client
(no cookies), and checks every answer is a whole 200. Used by
bench/instructions.sh, where a fixed request count matters more than speed."""
import socket
import sys


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    connection = socket.create_connection(("127.0.0.1", port))
    connection.settimeout(30)
    pending = b""
    for i in range(count):
        connection.sendall(b"GET /?i=%d HTTP/1.1\r\nHost: bench\r\n\r\n" % i)
        while b"\r\n\r\n" not in pending:
            pending += connection.recv(65536)
        head, _, pending = pending.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit("request %d: %r" % (i, head[:60]))
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(pending) < length:
            pending += connection.recv(65536)
        pending = pending[length:]


if __name__ == "__main__":
    main()
