#!/usr/bin/env python3
"""Set up and run coprod-kg with nothing but Python: `python3 tasks.py run` or `python3 tasks.py test`.

Each task creates the virtual environment `.venv` on first use (or when pyproject.toml changes)
and installs the project into it.
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


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except (subprocess.CalledProcessError, OSError):
            # Some system Pythons ship without ensurepip; virtualenv from PyPI brings its own pip.
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--user",
                            "virtualenv"], check=True)
            subprocess.run([sys.executable, "-m", "virtualenv", "--clear", str(VENV)], check=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    tasks = {
        "run": [str(BIN / "coprod-kg"), "build"],
        "test": [str(BIN / "python"), "-m", "pytest", *argv[1:]],
        "bench": [str(BIN / "python"), str(ROOT / "benchmarks" / "bench.py"), *argv[1:]],
    }
    if not argv or argv[0] not in tasks:
        print(f"usage: python3 tasks.py {{{'|'.join(tasks)}}} [args]", file=sys.stderr)
        return 2
    ensure_venv()
    return subprocess.run(tasks[argv[0]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
