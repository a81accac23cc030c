#!/usr/bin/env python3
"""Summary of bench/https.sh's raw.tsv (round, side, key, value): medians, per-round
figures and Slipway/nginx ratios (the median of the per-round ratios), as Markdown."""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchstats import fmt, load_raw, med, num  # noqa: E402


def main(path):
    vals, info, rounds = load_raw(path)
    rows = [
        ("rps", "HTTPS keep-alive: wrk -t2 -c20 -d10s, requests/s", 0),
        ("p50_ms", "  p50 latency (ms)", 2),
        ("p99_ms", "  p99 latency (ms)", 2),
        ("errors", "  wrk errors (non-2xx + socket)", 0),
        ("cpu_cores", "  CPU of the proxy (server / nginx master+worker) (cores)", 2),
        ("cpu_us_per_req", "  proxy CPU per request (µs)", 0),
        ("close_rps", "HTTPS new connection per request ('Connection: close'), requests/s", 0),
        ("close_p50_ms", "  p50 latency (ms)", 2),
        ("close_p99_ms", "  p99 latency (ms)", 2),
        ("close_errors", "  wrk errors (non-2xx + socket)", 0),
        ("close_cpu_cores", "  CPU of the proxy (cores)", 2),
        ("close_cpu_us_per_req", "  proxy CPU per connection + request (µs)", 0),
        ("handshakes_per_s", "TLS handshakes only: openssl s_time -new -time 5 (no SNI), per second", 0),
        ("hs_cpu_us", "  proxy CPU per handshake (µs)", 0),
    ]
    print(f"Medians over {len(rounds)} rounds (Slipway/nginx: median of the per-round ratios, per round in brackets; "
          "per-round figures Slipway | nginx):")
    print()
    print("| measurement | Slipway | nginx | Slipway/nginx | per round (Slipway \\| nginx) |")
    print("|---|---:|---:|---:|---|")
    for k, label, d in rows:
        s = vals.get(("slipway", k), {})
        g = vals.get(("nginx", k), {})
        sm = med([num(s.get(r, "NA")) for r in rounds])
        gm = med([num(g.get(r, "NA")) for r in rounds])
        ratios = []
        for r in rounds:
            a, b = num(s.get(r, "NA")), num(g.get(r, "NA"))
            ratios.append(a / b if a is not None and b else None)
        rm = med(ratios)
        rtxt = "" if rm is None or k.endswith("errors") else f"{rm:.2f}× ({' '.join(fmt(x, 2) for x in ratios)})"
        per = ", ".join(f"{s.get(r, 'NA')} \\| {g.get(r, 'NA')}" for r in rounds)
        print(f"| {label} | {fmt(sm, d)} | {fmt(gm, d)} | {rtxt} | {per} |")
    h = vals.get(("slipway", "http_rps"), {})
    di = vals.get(("-", "direct_rps"), {})
    print(f"| (context) plain HTTP through the front door: wrk -t2 -c20 -d5s, requests/s | "
          f"{fmt(med([num(h.get(r, 'NA')) for r in rounds]), 0)} | | | {', '.join(h.get(r, 'NA') for r in rounds)} |")
    print(f"| (context) plain HTTP straight at the instance (no proxy): wrk -t2 -c20 -d5s, requests/s | "
          f"{fmt(med([num(di.get(r, 'NA')) for r in rounds]), 0)} | | | {', '.join(di.get(r, 'NA') for r in rounds)} |")
    print()
    settles = sorted(k for (side, k) in vals if k.startswith("settle_"))
    waits = [f"r{r} {k[7:]} {vals[('-', k)][r]}" for r in rounds for k in settles if r in vals[("-", k)] and float(vals[("-", k)][r]) > 2.5]
    print("waits for the instance to answer before a measurement, over 2.5 s: " + (", ".join(waits) or "none"))
    orders = vals.get(("-", "order"), {})
    print("order per round: " + ", ".join(f"{r}: {orders.get(r, '?')}" for r in rounds))
    for line in info:
        print(line)


if __name__ == "__main__":
    main(sys.argv[1])
