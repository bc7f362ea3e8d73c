"""
The course's Day/Time client, as the lecture shows it: connect, one recv(1024),
decode as ASCII, print.  ("Going live": the server's name is asked for, or given.)
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

HOST = sys.argv[1] if len(sys.argv) > 1 else input("Enter the server name: ")
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 21566
BUFSIZE = 1024
ADDRESS = (HOST, PORT)

server = socket(AF_INET, SOCK_STREAM)
server.connect(ADDRESS)
dayAndTime = server.recv(BUFSIZE)
print(dayAndTime.decode("ascii"))
server.close()
