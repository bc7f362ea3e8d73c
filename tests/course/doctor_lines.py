"""
The course's therapy client, fixed for a real network (README, "Teaching with
netlab"): it sends lines, and reads until it has a whole line, however the
network cuts, delays or merges what the server sends.  An empty message ends
the session.  Only HOST and PORT come from argv, as in the lecture's client.
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

HOST = sys.argv[1] if len(sys.argv) > 1 else input("Enter the server name: ")
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21567
BUFSIZE = 1024

server = socket(AF_INET, SOCK_STREAM)
server.connect((HOST, PORT))
pending = b""


def readline():
    """
    One whole line from the server; what came after it waits for the next call.
    """
    global pending
    while b"\n" not in pending:
        chunk = server.recv(BUFSIZE)
        if not chunk:
            raise SystemExit("Server disconnected")
        pending += chunk
    line, pending = pending.split(b"\n", 1)
    return line.decode("ascii").rstrip("\r")


server.send(b"\n")  # "I speak in lines": from now on every line the server sends ends with \n
line = readline()
while line.startswith("* "):  # notices (lab mode, ...) before the greeting
    print(line)
    line = readline()
print(line)
while True:
    try:
        message = input("> ")
    except EOFError:
        break
    if not message:
        break
    server.send((message + "\n").encode("ascii"))
    print(readline())
server.close()
