"""SQLite writers take turns in a write gate (store/sqlite.py): threads on a lock, processes on an
``flock`` of ``<database>.write-lock``. Only the waiting changes; SQLite's lock still decides."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from widget_server.errors import StoreUnavailableError
from widget_server.store import db, sqlite

HOLD = '''
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
'''


def test_another_process_holding_the_gate_makes_a_writer_wait_then_pass(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    with subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "relay.sqlite3.write-lock")],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        _take_turns(engine, holder)
    engine.dispose()
    assert stat.S_IMODE(os.stat(tmp_path / "relay.sqlite3.write-lock").st_mode) == 0o600


def _take_turns(engine: sa.Engine, holder: subprocess.Popen[str]) -> None:
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        sqlite._gates[engine].timeout = 0.3
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            with db.write(engine) as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert time.monotonic() - started >= 0.3  # it waited for its turn, then gave up: 503
        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.flush()
        holder.wait(10)
        with db.write(engine) as conn:  # the other process is gone: its flock with it
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT n FROM t").scalars().all() == [2]  # the refused one wrote nothing
    finally:
        if holder.poll() is None:
            holder.kill()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    """An flock is shared by the threads of a process: the gate's thread lock keeps them in turn."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    gate = sqlite._gates[engine]
    inside, overlaps = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            with gate.held():
                with lock:
                    inside[0] += 1
                    overlaps[0] += inside[0] > 1
                time.sleep(0.0005)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 0
    engine.dispose()


def test_a_child_process_does_not_inherit_its_parents_turn(tmp_path: Path) -> None:
    """After a fork the gate opens its own file: a parent holding the gate keeps the child waiting."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    gate = sqlite._gates[engine]
    gate.timeout = 0.3
    with gate.held():
        pid = os.fork()
        if pid == 0:  # the child: must not get in while the parent holds it
            try:
                with gate.held():
                    os._exit(1)
            except StoreUnavailableError:
                os._exit(0)
            os._exit(2)
        _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    engine.dispose()


def test_a_child_process_does_not_keep_its_parents_turn_alive(tmp_path: Path) -> None:
    """A process that dies holding the gate frees it, even when a child it forked uses the gate:
    the child lets go of the file it inherited (an flock lives as long as any copy of it)."""
    url = f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    to_parent, to_test = os.pipe(), os.pipe()
    parent = os.fork()
    if parent == 0:  # a relay process that forks a child, then dies in the middle of a write
        try:
            engine = db.make_engine(url)
            gate = sqlite._gates[engine]
            gate.timeout = 0.1
            with gate.held():
                if os.fork() == 0:  # the child tries its turn, is refused, and lives on
                    with contextlib.suppress(StoreUnavailableError), gate.held():
                        os._exit(3)  # not reached: the parent holds the gate
                    os.write(to_parent[1], b"%d\n" % os.getpid())
                    time.sleep(30)
                    os._exit(0)
                child = os.read(to_parent[0], 32)
                os.write(to_test[1], child)
                os._exit(0)  # inside the gate, no unlock: gone as after a kill
        finally:
            os._exit(1)
    child = int(os.read(to_test[0], 32))
    os.waitpid(parent, 0)
    try:
        engine = db.make_engine(url)
        sqlite._gates[engine].timeout = 0.5
        with db.write(engine) as conn:  # the parent is gone: its turn with it
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    finally:
        os.kill(child, signal.SIGKILL)  # the parent's child: no longer this process's to reap
        for fd in (*to_parent, *to_test):
            os.close(fd)


def test_a_folder_without_write_access_falls_back_to_sqlites_own_waiting(tmp_path: Path) -> None:
    """No lock file can be made beside a read-only database: writers wait as before, nothing fails."""
    path = tmp_path / "relay.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    gate = sqlite._gates[engine]
    gate.path = str(tmp_path / "missing-folder" / "x.write-lock")
    with db.write(engine) as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert gate.path is None
    engine.dispose()


def test_disposing_the_engine_lets_the_lock_file_go(tmp_path: Path) -> None:
    """Every app (and every test) makes an engine: none may keep a file open after its dispose."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'relay.sqlite3'}")
    with db.write(engine) as conn:
        conn.exec_driver_sql("SELECT 1")
    fd = sqlite._gates[engine]._fd
    assert fd is not None and os.fstat(fd)
    engine.dispose()
    with pytest.raises(OSError):
        os.fstat(fd)
