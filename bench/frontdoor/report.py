"""Summarize bench/frontdoor.sh's raw.tsv: medians per cell and ratios with the rounds.

Ratios are paired per round (the front door's figure over the other's in the
same round), then the median over rounds; the per-round ratios follow in
brackets.
"""

import csv
import os
import sys
from collections import defaultdict

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchstats import med as median, num  # noqa: E402


def main(path, have_caddy):
    cells = defaultdict(dict)  # (up, proxy, proto) -> round -> row
    for row in csv.DictReader(open(path), delimiter="\t"):
        cells[(row["upstream"], row["proxy"], row["proto"])][row["round"]] = row

    def med(key, field):
        return median(num(r[field]) for r in cells.get(key, {}).values())

    def cpu(key):
        # Older raw.tsv files have no cpu_us column.
        return median(num(r.get("cpu_us")) for r in cells.get(key, {}).values())

    def ratio(a, b, field, inverse=False):
        rs = []
        for rnd, ra in sorted(cells.get(a, {}).items()):
            rb = cells.get(b, {}).get(rnd)
            x, y = num(ra.get(field)), num(rb.get(field)) if rb else None
            if x and y:
                rs.append(y / x if inverse else x / y)
        if not rs:
            return "n/a"
        return f"{median(rs):.2f}× ({' '.join(f'{v:.2f}' for v in rs)})"

    print("| upstream | protocol | proxy | req/s (median) | p50 ms | p99 ms | CPU µs/req | Slipway req/s ÷ this | this p99 ÷ Slipway p99 | this CPU ÷ Slipway CPU |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    order = ["slipway", "nginx"] + (["caddy"] if have_caddy == "1" else []) + ["direct"]
    for up in ["go", "hello", "todo"]:
        for proto in ["http", "https", "h2"]:
            for px in order:
                key = (up, px, proto)
                if key not in cells:
                    continue
                rps, p50, p99 = med(key, "rps"), med(key, "p50_ms"), med(key, "p99_ms")
                fd = (up, "slipway", proto)
                r = "" if px == "slipway" else ratio(fd, key, "rps")
                l = "" if px == "slipway" else ratio(fd, key, "p99_ms", inverse=True)
                c = "" if px in ("slipway", "direct") else ratio(fd, key, "cpu_us", inverse=True)
                f = lambda v, d=1: "n/a" if v is None else f"{v:.{d}f}"
                print(f"| {up} | {proto} | {px} | {f(rps, 0)} | {f(p50, 2)} | {f(p99, 2)} | {f(cpu(key))} | {r} | {l} | {c} |")
    rates = sorted({k[2] for k in cells if k[2].startswith("http@")}, key=lambda p: int(p[5:]))
    if rates:
        print("\nAt fixed offered rates (vegeta, open loop, 50 keep-alive connections; go upstream, HTTP/1.1):\n")
        print("| rate (req/s) | proxy | served req/s | p50 ms | p99 ms | CPU µs/req | this p50 ÷ Slipway p50 | this p99 ÷ Slipway p99 | this CPU ÷ Slipway CPU |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for proto in rates:
            for px in order:
                key = ("go", px, proto)
                if key not in cells:
                    continue
                fd = ("go", "slipway", proto)
                r50 = "" if px == "slipway" else ratio(fd, key, "p50_ms", inverse=True)
                r99 = "" if px == "slipway" else ratio(fd, key, "p99_ms", inverse=True)
                rc = "" if px in ("slipway", "direct") else ratio(fd, key, "cpu_us", inverse=True)
                f = lambda v, d=1: "n/a" if v is None else f"{v:.{d}f}"
                served = med(key, "rps")
                # Served under the offered rate: saturated, the latency is the queue's.
                sat = " (saturated)" if served is not None and served < 0.97 * int(proto[5:]) else ""
                print(f"| {proto[5:]} | {px} | {f(served, 0)}{sat} | {f(med(key, 'p50_ms'), 3)} | {f(med(key, 'p99_ms'), 3)} | {f(cpu(key))} | {r50} | {r99} | {rc} |")
    print("\nh2 rows (h2load -c50 -m1): the p50 column is h2load's mean and the p99 column its max (h2load gives no percentiles).")
    print("CPU µs/req: the proxy's processes' user and system time (from /proc, every thread) over the requests served in the cell; none for direct.")
    if have_caddy != "1":
        print("\nCaddy: not installed (its package did not install); no Caddy figures.")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "0")
