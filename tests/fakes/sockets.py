"""What the fake servers share about their sockets."""

from __future__ import annotations

import select
import socket
import ssl


def peer_closed(conn: socket.socket) -> bool:
    """Has the client closed its end? (readable with nothing to read)

    A fake that holds a response until the test lets it go uses this to end
    the hold when its client leaves, as the real server notices a cancelled
    request.
    """
    if isinstance(conn, ssl.SSLSocket):
        return False  # no cheap peek through TLS; the next write notices instead
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
