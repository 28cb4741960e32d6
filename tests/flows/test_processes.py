"""The stack's process helpers: a port in use, a port a stopped server left, a process tree."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from flows.processes import alive, descendants, free_port, port_is_free, stop_tree


def test_a_port_someone_listens_on_is_not_free():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert not port_is_free(server.getsockname()[1])


def test_a_port_whose_server_just_stopped_is_free_again():
    """Its closed connections wait out TIME_WAIT, which does not stop a new server."""
    port = free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's side closes first: its port waits in TIME_WAIT
    client.close()
    server.close()
    assert port_is_free(port)


def test_stopping_a_tree_stops_a_child_in_a_session_of_its_own():
    """As a worker's flow run is: outside the worker's process group, found from /proc."""
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', " \
        "'import time; time.sleep(60)'], start_new_session=True); time.sleep(60)"  # fmt: skip
    parent = subprocess.Popen([sys.executable, "-c", child], start_new_session=True)
    deadline = time.monotonic() + 30
    while not descendants(parent.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    (grandchild,) = descendants(parent.pid)
    stop_tree(parent.pid, grace=1)
    assert not alive(parent.pid) and not alive(grandchild)
