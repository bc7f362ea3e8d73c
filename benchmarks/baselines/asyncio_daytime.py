"""
A minimal asyncio Day/Time server (C{loop.create_server} defaults, backlog 100).

usage: python asyncio_daytime.py PORT
"""

import asyncio
import sys
import time


class Daytime(asyncio.Protocol):
    """
    Write the time and the farewell, then close.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write((time.ctime() + "\nHave a nice day!\n").encode("ascii"))
        transport.close()


async def serve(port: int) -> None:
    """
    Serve until killed.

    @param port: the loopback port to listen on.
    """
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Daytime, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
