"""
The course's chat client, as the lecture shows it: print the welcome, then
loop -- read a message from the user, send it bare (no newline), print the
reply from one recv(1024).  An empty message ends the session.
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

HOST = sys.argv[1] if len(sys.argv) > 1 else input("Enter the server name: ")
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21568
BUFSIZE = 1024
ADDRESS = (HOST, PORT)

server = socket(AF_INET, SOCK_STREAM)
server.connect(ADDRESS)
print(server.recv(BUFSIZE).decode("ascii"))
while True:
    try:
        message = input("> ")
    except EOFError:
        break
    if not message:
        break
    server.send(message.encode("ascii"))
    reply = server.recv(BUFSIZE).decode("ascii")
    if not reply:
        print("Server disconnected")
        break
    print(reply)
server.close()
