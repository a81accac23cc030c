#!/usr/bin/env python3
"""Summary of bench/identity.sh's raw.tsv (round, side, key, value): medians, per-round
figures and Slipway/lowkey-vault ratios (the median of the per-round ratios), as Markdown."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchstats import fmt, load_raw, med, num  # noqa: E402


WORKLOADS = [
    ("token", "token issuance: client credentials, POST /<tenant>/oauth2/v2.0/token (HTTPS)", False),
    ("msi", "managed-identity token for https://vault.azure.net (plain HTTP)", True),
    ("secret", "secret get: GET /secrets/<name>?api-version=7.5, bearer token (HTTPS)", True),
    ("secret_admin", "secret get with Slipway's admin token (no JWT to verify)", False),
]
METRICS = [
    ("rps", "requests/s", 0),
    ("p50_ms", "p50 latency (ms)", 2),
    ("p99_ms", "p99 latency (ms)", 2),
    ("cpu_cores", "CPU of the serving process (cores)", 2),
    ("cpu_us", "serving process's CPU per request (µs)", 0),
    ("errors", "errors (bad status, body or transport)", 0),
]


def main(path):
    vals, info, rounds = load_raw(path)
    have_ref = any(side == "lowkey" for side, _ in vals)
    print(f"Medians over {len(rounds)} rounds (Slipway/lowkey-vault: median of the per-round ratios, per round in "
          "brackets; per-round figures Slipway | lowkey-vault):")
    print()
    print("| measurement | Slipway | lowkey-vault | Slipway/lowkey-vault | per round (Slipway \\| lowkey-vault) |")
    print("|---|---:|---:|---:|---|")
    for w, wlabel, compared in WORKLOADS:
        for m, mlabel, d in METRICS:
            k = f"{w}_{m}"
            s = vals.get(("slipway", k), {})
            g = vals.get(("lowkey", k), {}) if compared else {}
            if not s and not g:
                continue
            sm = med([num(s.get(r)) for r in rounds])
            gm = med([num(g.get(r)) for r in rounds]) if g else None
            ratios = [num(s.get(r)) / num(g.get(r)) if num(s.get(r)) is not None and num(g.get(r)) else None
                      for r in rounds]
            rm = med(ratios)
            rtxt = "" if rm is None or m == "errors" else f"{rm:.2f}× ({' '.join(fmt(x, 2) for x in ratios)})"
            if g:
                per = ", ".join(f"{s.get(r, 'NA')} \\| {g.get(r, 'NA')}" for r in rounds)
            else:
                per = ", ".join(s.get(r, "NA") for r in rounds)
            label = wlabel + ", " + mlabel if m == "rps" else "  " + mlabel
            gtxt = fmt(gm, d) if g else ("—" if have_ref else "not run")
            print(f"| {label} | {fmt(sm, d)} | {gtxt} | {rtxt} | {per} |")
    print()
    orders = vals.get(("-", "order"), {})
    print("order per round: " + ", ".join(f"{r}: {orders.get(r, '?')}" for r in rounds))
    for i in info:
        print(f"- {i}")


if __name__ == "__main__":
    main(sys.argv[1])
