"""Real servers for the tests, started on free loopback ports and stopped by PID, and how
their answers are compared with the embedded engine's.

Each helper yields a small record with the URLs to use, and stops its server even when the test
fails. A server that cannot be found on this machine is skipped with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, within: float, log: Path) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: no answer within {within} s:\n{log.read_text(errors='replace')[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


@dataclass
class Running:
    process: subprocess.Popen
    query_url: str
    store_url: str
    user: str | None = None
    password: str | None = None
    sql_port: int = 0


def oxigraph_server(folder: Path):
    """The Oxigraph server (PyPI `oxigraph`) on a fresh on-disk store."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(binary).exists():
        pytest.skip("the Oxigraph server is not installed (pip install oxigraph; it is in the "
                    "test extra)")
    port = free_port()
    log = folder / "oxigraph.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "serve", "--location", str(folder / "db"), "--bind",
                                    f"{LOOPBACK}:{port}"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_up(f"{base}/query?query=ASK%7B%7D", process, 30, log)
    except RuntimeError:
        stop(process)
        raise
    return Running(process, f"{base}/query", f"{base}/store")


VIRTUOSO_INI = """\
; A private Virtuoso for the tests: its files in one temporary folder, loopback ports only,
; no hosting plugins (the Debian ini's Load lines are left out).
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0
[Parameters]
ServerPort = {host}:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = .
VADInstallDir = /usr/share/virtuoso-opensource-7/vad/
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
[HTTPServer]
ServerPort = {host}:{http_port}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
[Plugins]
LoadPath = /usr/lib/x86_64-linux-gnu/virtuoso-opensource-7/hosting
"""


def virtuoso_server(folder: Path):
    """A private Virtuoso (Debian `virtuoso-opensource`) with a fresh database."""
    binary = shutil.which("virtuoso-t")
    if not binary:
        pytest.skip("Virtuoso is not installed (apt-get install virtuoso-opensource; .ci/run "
                    "installs it where apt is available)")
    db = folder / "virtuoso"
    db.mkdir()
    sql_port, http_port = free_port(), free_port()
    ini = db / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(db=db, host=LOOPBACK, sql_port=sql_port,
                                       http_port=http_port))
    log = db / "console.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "+configfile", str(ini), "+foreground"], cwd=db,
                                   stdout=out, stderr=subprocess.STDOUT)
    base = f"http://{LOOPBACK}:{http_port}"
    try:
        wait_until_up(f"{base}/sparql?query=ASK%7B%7D", process, 60, log)
    except RuntimeError:
        stop(process)
        raise
    return Running(process, f"{base}/sparql", f"{base}/sparql-graph-crud-auth", "dba", "dba",
                   sql_port)


def stop_virtuoso(running: Running) -> None:
    """Virtuoso's own clean shutdown through isql, then by PID if it is still there."""
    isql = shutil.which("isql-vt") or shutil.which("isql")
    if isql and running.process.poll() is None:
        subprocess.run([isql, f"{LOOPBACK}:{running.sql_port}", "dba", "dba", "exec=shutdown;"],
                       capture_output=True, timeout=60)
        try:
            running.process.wait(30)
        except subprocess.TimeoutExpired:
            pass
    stop(running.process)


def as_multiset(rows: list[dict]) -> Counter:
    return Counter(tuple(sorted(row.items())) for row in rows)


def order_keys(query, rows: list[dict]) -> list[tuple]:
    """Each row's values of the variables named in the query's last ORDER BY."""
    clause = re.split(r"\bORDER\s+BY\b", query.text, flags=re.I)
    names = re.findall(r"\?(\w+)", clause[-1]) if len(clause) > 1 else []
    return [tuple(row.get(name) for name in names if name in row) for row in rows]


def assert_same_answer(query, mine, theirs) -> None:
    """The same columns, the same rows as a multiset, and row for row the same values of the
    ORDER BY variables (rows tied under ORDER BY may come in any order)."""
    assert theirs.columns == mine.columns
    assert as_multiset(theirs.rows) == as_multiset(mine.rows)
    assert order_keys(query, theirs.rows) == order_keys(query, mine.rows)
