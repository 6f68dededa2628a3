"""Compare two runs of a benchmark: ``python benchmarks/compare.py OLD.json NEW.json``.

Prints every figure the two JSON files share (as written by a benchmark's ``--json PATH``),
old, new and new / old. Figures are seconds, bytes, counts or ratios, as each benchmark names
them; a ratio below 1 means the new run's figure is smaller.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from pathlib import Path


def flatten(figures: Mapping[str, object], prefix: str = "") -> Iterator[tuple[str, float]]:
    """``("a / b", value)`` for every number in the nested mapping."""
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, f"{name} / ")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield name, float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args()
    old, new = (json.loads(path.read_text()) for path in (args.old, args.new))
    print(f"{old['benchmark']}: {old['when']} ({old['commit']}) -> {new['when']} ({new['commit']})")
    before = dict(flatten(old["figures"]))
    width = max((len(name) for name in before), default=10)
    for name, value in flatten(new["figures"]):
        if name in before:
            was = before[name]
            change = f"{value / was:8.2f}x" if was else "     n/a"
            print(f"  {name:<{width}}  {was:14.6g}  {value:14.6g}  {change}")


if __name__ == "__main__":
    main()
