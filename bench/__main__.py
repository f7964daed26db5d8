"""Run benchmarks: ``python -m bench`` runs all, ``python -m bench NAME ...`` the named ones.

Every benchmark is a module ``bench/bench_<name>.py`` with ``main(argv: list[str]) -> None`` that prints
its figures beside a floor measured in the same run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def run(argv: list[str]) -> None:
    names = [a for a in argv if not a.startswith("-")] or available()
    extra = [a for a in argv if a.startswith("-")]
    for name in names:
        if name not in available():
            sys.exit(f"unknown benchmark {name!r}; available: {', '.join(available())}")
        print(f"=== bench {name}", flush=True)
        importlib.import_module(f"bench.bench_{name}").main(extra)


if __name__ == "__main__":
    run(sys.argv[1:])
