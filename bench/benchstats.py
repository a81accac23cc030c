"""Number helpers the bench reports share (bench/*/report.py)."""


def num(v):
    """The value as a float, or None when it is not a number (NA, empty, missing)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(xs):
    """The median of the numbers in xs (None values left out), or None."""
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def fmt(v, d):
    """v with d decimals, or NA."""
    return "NA" if v is None else f"{v:.{d}f}"


def load_raw(path):
    """Reads a bench script's raw.tsv (round, side, key, value per line). Returns the
    per-round values as {(side, key): {round: value}}, the round-0 lines (facts about the
    run, not figures) as "side key: value" strings, and the sorted rounds."""
    vals, info = {}, []
    for line in open(path):
        r, side, k, v = line.rstrip("\n").split("\t", 3)
        if r == "0":
            info.append(f"{side} {k}: {v}")
            continue
        vals.setdefault((side, k), {})[int(r)] = v
    rounds = sorted({r for d in vals.values() for r in d})
    return vals, info, rounds
