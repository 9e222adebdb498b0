"""Tracking codes: the share with a symbol outside Crockford's 32, and typos caught.

    python bench/tracking_codes.py [--count 100000] [--json]

Generates codes as the relay issues them and counts (1) codes holding any symbol
outside the 32 (``*``, ``~``, ``$``, ``=``, ``U``: the old mod-37 check symbol) and
(2) single-character substitutions and neighbour swaps that the check lets through.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from widget_server.intake import codes  # noqa: E402


def measure(count: int) -> dict[str, float | int]:
    outside = typos = missed = 0
    for _ in range(count):
        code = codes.generate()
        raw = code[3:7] + code[8:]
        if any(ch not in codes.ALPHABET for ch in raw):
            outside += 1
        variants = [raw[:i] + ch + raw[i + 1:] for i in range(len(raw))
                    for ch in codes.ALPHABET if ch != raw[i]]
        variants += [raw[:i] + raw[i + 1] + raw[i] + raw[i + 2:] for i in range(len(raw) - 1)
                     if raw[i] != raw[i + 1]]
        for variant in variants:
            typos += 1
            missed += codes.has_current_check(f"PH-{variant[:4]}-{variant[4:]}")
    return {"codes": count, "outside_32": outside, "outside_32_share": outside / count,
            "typos_tried": typos, "typos_missed": missed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.count)
    if args.json:
        print(json.dumps(result))
        return
    print(f"codes generated:            {result['codes']}")
    print(f"with a symbol outside 32:   {result['outside_32']} ({result['outside_32_share']:.2%})")
    print(f"typos tried (subst + swap): {result['typos_tried']}")
    print(f"typos the check let through: {result['typos_missed']}")


if __name__ == "__main__":
    main()
