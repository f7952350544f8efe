"""Allow ``python -m coprod_kg``."""

from .cli import run

run()
