"""Allow ``python -m coprod_kg``: the warm path where a plan holds, else the full CLI."""

from .warm import run

run()
