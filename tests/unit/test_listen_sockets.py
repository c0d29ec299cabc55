"""`serve --processes N` listens on one address with one socket per process, and connections reach every one."""

from __future__ import annotations

import select
import socket

import pytest

from relay.smtp.server import bind


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="needs SO_REUSEPORT")
def test_sessions_opened_at_once_are_spread_over_the_processes_sockets():
    socks = bind("127.0.0.1", 0, 2)
    clients = []
    try:
        assert len({s.fileno() for s in socks}) == 2
        assert socks[0].getsockname() == socks[1].getsockname()
        clients = [socket.create_connection(socks[0].getsockname()) for _ in range(20)]
        accepted = [0, 0]
        while sum(accepted) < 20:
            ready, _, _ = select.select(socks, [], [], 5)
            assert ready, f"only {sum(accepted)} of 20 connections arrived"
            for sock in ready:
                conn, _ = sock.accept()
                conn.close()
                accepted[socks.index(sock)] += 1
        # A shared socket gave one process 18 to 20 of them; here each socket gets some
        # (all 20 on one side by chance: about one run in 500,000).
        assert min(accepted) > 0, accepted
    finally:
        for c in clients:
            c.close()
        for s in socks:
            s.close()


def test_one_process_gets_one_plain_socket():
    """No SO_REUSEPORT for a single process: nobody else may join its port."""
    socks = bind("127.0.0.1", 0)
    try:
        assert len(socks) == 1
        if hasattr(socket, "SO_REUSEPORT"):
            assert socks[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
    finally:
        socks[0].close()
