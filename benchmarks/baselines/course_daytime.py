"""
The networking course's blocking Day/Time server: C{listen(5)}, one client at a time.

usage: python course_daytime.py PORT
"""

import socket
import sys
import time


def main(port: int) -> None:
    """
    Serve forever, one connection after another, exactly as the lecture shows.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(5)
    while True:
        client, _address = server.accept()
        text = time.ctime() + "\nHave a nice day!\n"
        client.send(text.encode("ascii"))
        client.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
