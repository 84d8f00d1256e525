#!/usr/bin/env python3
"""Records what a MySQL/MariaDB server sends to one client, for the seeds of
mysql_reply_fuzzer: listens on 127.0.0.1:LISTEN, relays one connection to
127.0.0.1:SERVER both ways, and writes the server's bytes after the login
(its greeting and its answer to the login left out: the fuzzer sends its
own) to OUT.
   capture_mysql.py LISTEN SERVER OUT   (then connect a client to LISTEN)
"""
import select
import socket
import sys

listen_port, server_port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lsock = socket.socket()
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", listen_port))
lsock.listen(1)
print(listen_port, flush=True)
client, _ = lsock.accept()
server = socket.create_connection(("127.0.0.1", server_port))
recorded = bytearray()
peers = {client: server, server: client}
while peers:
    ready, _, _ = select.select(list(peers), [], [], 10)
    if not ready:
        break
    for s in ready:
        data = s.recv(65536)
        if not data:
            peers.clear()
            break
        if s is server:
            recorded += data
        peers[s].sendall(data)
at = 0
for _ in range(2):  # greeting, login answer
    at += 4 + int.from_bytes(recorded[at:at + 3], "little")
with open(out, "wb") as f:
    f.write(recorded[at:])
