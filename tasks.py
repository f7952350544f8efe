#!/usr/bin/env python3
"""Set up and run coprod-kg with nothing but Python.

    python3 tasks.py run            set up .venv, then build everything into build/
    python3 tasks.py test           set up .venv, then run the test suite
    python3 tasks.py kg COMMAND     run any coprod-kg command from .venv, e.g. `kg queries`

Each task creates the virtual environment `.venv` on first use (or when pyproject.toml changes)
and installs the project into it, saying what it is doing (pip shows a progress bar for each
download). Add --quiet before the task name to hide the set-up messages.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".coprod-kg-installed"


def say(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def ensure_venv(quiet: bool = False) -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == wanted:
        return
    say("setting up coprod-kg in .venv (the first time takes about a minute)", quiet)
    if not (BIN / "python").exists():
        say("step 1 of 3: creating the virtual environment .venv ...", quiet)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (subprocess.CalledProcessError, OSError):
            # Some system Pythons ship without ensurepip; virtualenv from PyPI brings its own pip.
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--user",
                            "virtualenv"], check=True)
            subprocess.run([sys.executable, "-m", "virtualenv", "--clear", str(VENV)], check=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check",
           "--quiet" if quiet else "--progress-bar=on"]
    say("step 2 of 3: updating pip ...", quiet)
    # pip talks on standard error here, so that standard output carries only the task's answer.
    subprocess.run([*pip, "--quiet", "--upgrade", "pip"], check=True, stdout=sys.stderr)
    say("step 3 of 3: installing coprod-kg and its libraries ...", quiet)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True, stdout=sys.stderr)
    STAMP.write_text(wanted)
    say("set-up done", quiet)


def main(argv: list[str]) -> int:
    quiet = bool(argv) and argv[0] in ("-q", "--quiet")
    argv = argv[1:] if quiet else argv
    tasks = {
        "run": [str(BIN / "coprod-kg"), "build", *argv[1:]],
        "test": [str(BIN / "python"), "-m", "pytest", *argv[1:]],
        "bench": [str(BIN / "python"), str(ROOT / "benchmarks" / "bench.py"), *argv[1:]],
        "kg": [str(BIN / "coprod-kg"), *argv[1:]],
    }
    if not argv or argv[0] not in tasks:
        print(f"usage: python3 tasks.py [--quiet] {{{'|'.join(tasks)}}} [args]\n"
              "  e.g. python3 tasks.py kg queries", file=sys.stderr)
        return 2
    try:
        ensure_venv(quiet)
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"set-up failed: {error}; nothing was run. Check the network or the messages "
              "above, then run the same command again.", file=sys.stderr)
        return 1
    # kg runs in the caller's folder, so relative paths on its command line mean what they say.
    cwd = None if argv[0] == "kg" else ROOT
    return subprocess.run(tasks[argv[0]], cwd=cwd).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
