#!/usr/bin/env python3
"""Helpers for bench/sandbox.sh (standard library only).

  probe.py pss SERVER_PID APP_UID        PSS of an app's instance processes
  probe.py restarts LOGDIR TIMES         the platform log's view of each timed restart
  probe.py wrk WRK_OUTPUT                req/s, p50 and p99 latency from `wrk --latency`
  probe.py execs STRACE_OUTPUT T0 T1     child processes the server ran between T0 and T1
  probe.py cpu SERVER_PID APP_UID        CPU ticks of the app and the server; the app's CPU cgroup
  probe.py report RAW                    per-round tables and the summary (Markdown)
"""
import glob
import os
import re
import statistics
import sys
from datetime import datetime, timezone


def proc_status(pid):
    uid, ppid, name = None, None, None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    uid = int(line.split()[1])
                elif line.startswith("PPid:"):
                    ppid = int(line.split()[1])
                elif line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
    except OSError:
        return None
    return uid, ppid, name


def rollup(pid):
    """Rss, Pss and Uss (private clean + dirty) in kB from smaps_rollup."""
    v = {"Rss": 0, "Pss": 0, "Private_Clean": 0, "Private_Dirty": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k = line.split(":")[0]
                if k in v:
                    v[k] = int(line.split()[1])
    except OSError:
        pass
    return v["Rss"], v["Pss"], v["Private_Clean"] + v["Private_Dirty"]


def pss_kb(pid):
    return rollup(pid)[1]


def cmd_pss(server_pid, app_uid):
    server_pid, app_uid = int(server_pid), int(app_uid)
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_status(int(d))
            if st:
                procs[int(d)] = st
    # The app: every process of its user (gunicorn master and workers).
    app = [p for p, (uid, _, _) in procs.items() if uid == app_uid]
    # The sandbox around it: the server's descendants that are not the app's
    # (bwrap's two processes; setpriv execs into the app).
    children = {}
    for p, (_, ppid, _) in procs.items():
        children.setdefault(ppid, []).append(p)
    desc, todo = [], list(children.get(server_pid, []))
    while todo:
        p = todo.pop()
        desc.append(p)
        todo.extend(children.get(p, []))
    other = [p for p in desc if procs[p][0] != app_uid]
    names = sorted(procs[p][2] for p in other)
    r = [rollup(p) for p in app]
    print(f"app_kb={sum(x[1] for x in r)} app_uss_kb={sum(x[2] for x in r)} app_rss_kb={sum(x[0] for x in r)} app_procs={len(app)} "
          f"sandbox_kb={sum(pss_kb(p) for p in other)} sandbox_procs={len(other)} "
          f"sandbox_names={','.join(names) or '-'}")


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def cmd_cpu(server_pid, app_uid):
    """CPU time (clock ticks) used so far by the app user's processes and by
    the server (the front door), and the CPU cgroup of the app's processes
    with its quota and throttling counters (cgroup v1 cpu or v2)."""
    app_uid = int(app_uid)
    app = [int(d) for d in os.listdir("/proc") if d.isdigit() and (proc_status(int(d)) or (None,))[0] == app_uid]
    out = f"app_ticks={sum(cpu_ticks(p) for p in app)} server_ticks={cpu_ticks(int(server_pid))} hz={os.sysconf('SC_CLK_TCK')}"
    cg = None
    for p in app:
        try:
            for line in open(f"/proc/{p}/cgroup"):
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if "cpu" in ctrls.split(",") and "slipway" in path:
                    cg = f"/sys/fs/cgroup/{ctrls}{path}"
                elif ctrls == "" and "slipway" in path and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
                    cg = f"/sys/fs/cgroup{path}"
        except OSError:
            continue
        if cg:
            break
    if cg:
        stat = {}
        try:
            for line in open(os.path.join(cg, "cpu.stat")):
                k, v = line.split()
                stat[k] = int(v)
        except OSError:
            pass
        quota = "?"
        for f in ("cpu.cfs_quota_us", "cpu.max"):
            try:
                quota = open(os.path.join(cg, f)).read().strip().replace(" ", "/")
                if f == "cpu.cfs_quota_us":
                    quota += "/" + open(os.path.join(cg, "cpu.cfs_period_us")).read().strip()
                break
            except OSError:
                continue
        thr_ns = stat.get("throttled_time", stat.get("throttled_usec", 0) * 1000)
        out += f" cgroup={cg} quota={quota} nr_periods={stat.get('nr_periods', 0)} nr_throttled={stat.get('nr_throttled', 0)} throttled_ns={thr_ns}"
    print(out)


TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z (.*)$")


def ts(s, frac):
    t = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return t + int(frac) / 1e9


def platform_events(logdir):
    ev = []
    for path in sorted(glob.glob(os.path.join(logdir, "*_docker.log"))):
        if path.endswith("_default_docker.log"):
            continue  # the app's own output
        with open(path, errors="replace") as f:
            for line in f:
                m = TS.match(line.rstrip("\n"))
                if m:
                    ev.append((ts(m.group(1), m.group(2)), m.group(3)))
    ev.sort()
    return ev


def cmd_restarts(logdir, times):
    """For each timed restart (i t0 t1): prep = t0 → "Starting container X",
    ready = "Starting container X" → "X initialized successfully" (log
    timestamps), reported = the figure in that line, tail = that line → t1."""
    ev = platform_events(logdir)
    start_re = re.compile(r"^Starting container (\S+?) for site")
    ready_re = re.compile(r"^Container (\S+) initialized successfully .*\((\d+(?:\.\d+)?)s\)")
    for line in open(times):
        i, t0, t1 = line.split()
        t0, t1 = float(t0), float(t1)
        name = t_start = t_ready = rep = None
        for t, text in ev:
            if t < t0 - 0.001 or t > t1 + 0.5:
                continue
            m = start_re.match(text)
            if m and name is None:
                name, t_start = m.group(1), t
                continue
            m = ready_re.match(text)
            if m and name is not None and m.group(1) == name:
                t_ready, rep = t, float(m.group(2))
                break
        if t_ready is None:
            print(f"restart={i} total={t1 - t0:.3f} prep=NA ready=NA reported=NA tail=NA")
            continue
        print(f"restart={i} total={t1 - t0:.3f} prep={t_start - t0:.3f} ready={t_ready - t_start:.3f} "
              f"reported={rep:.1f} tail={t1 - t_ready:.3f}")


def to_ms(v):
    m = re.match(r"^([\d.]+)(us|ms|s|m)$", v)
    n, u = float(m.group(1)), m.group(2)
    return n * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[u]


def cmd_wrk(path):
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    reqs = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    errs = (int(non2xx.group(1)) if non2xx else 0)
    if sock:
        errs += sum(int(x) for x in re.findall(r"\d+", sock.group(1)))
    print(f"rps={rps.group(1) if rps else 'NA'} p50_ms={to_ms(p50.group(1)) if p50 else 'NA'} "
          f"p99_ms={to_ms(p99.group(1)) if p99 else 'NA'} requests={reqs.group(1) if reqs else 'NA'} errors={errs}")


def cmd_execs(path, t0, t1):
    """strace -f -ttt -e trace=execve,exit_group output: each child the server
    exec'd between t0 and t1 with its wall time (exec → exit)."""
    t0, t1 = float(t0), float(t1)
    start, argv, end = {}, {}, {}
    line_re = re.compile(r"^(\d+)\s+(\d+\.\d+) (.*)$")
    for line in open(path, errors="replace"):
        m = line_re.match(line)
        if not m:
            continue
        pid, t, rest = int(m.group(1)), float(m.group(2)), m.group(3)
        if rest.startswith("execve(") and "= 0" in rest or rest.startswith("<... execve resumed>") and "= 0" in rest:
            if pid not in start:
                start[pid] = t
            if rest.startswith("execve("):
                a = re.search(r'\[(.*?)\]', rest)
                argv[pid] = a.group(1).replace('"', "")[:100] if a else rest[:100]
        elif rest.startswith("execve("):
            a = re.search(r'\[(.*?)\]', rest)
            argv.setdefault(pid, a.group(1).replace('"', "")[:100] if a else rest[:100])
        elif "+++ exited" in rest or "+++ killed" in rest:
            end[pid] = t
    rows = []
    for pid, t in start.items():
        if t0 <= t <= t1:
            rows.append((t, pid, end.get(pid), argv.get(pid, "?")))
    rows.sort()
    totals = {}
    for t, pid, e, a in rows:
        d = (e - t) if e else float("nan")
        prog = os.path.basename(a.split(",")[0].strip())
        if e and e <= t1 + 5:
            totals[prog] = totals.get(prog, 0.0) + d
        print(f"exec +{t - t0:.3f}s {d * 1000:8.1f} ms  {a}")
    for prog, s in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"total {prog}: {s * 1000:.1f} ms")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cmd_report(raw):
    # raw: "round<TAB>side<TAB>metric<TAB>value" lines
    data = {}
    rounds, order = [], {}
    for line in open(raw):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        r, side, k, v = parts
        r = int(r)
        if r not in rounds:
            rounds.append(r)
        if k == "order":
            order[r] = v
            continue
        try:
            v = float(v)
        except ValueError:
            continue
        data[(r, side, k)] = v
    metrics = [
        ("restart_s", "instance start to ready: `webapp restart`, median of restarts (s)", 2),
        ("prep_s", "  of which: command start → \"Starting container\" (prepare: copy, env tree, netns, cgroup) (s)", 3),
        ("ready_s", "  of which: \"Starting container\" → \"initialized successfully\" (log timestamps) (s)", 3),
        ("reported_s", "  server's own figure, \"initialized successfully … (N.Ns)\" (s)", 1),
        ("tail_s", "  of which: ready → command returns (s)", 3),
        ("pss_app_mib", "memory per idle instance: PSS of the app user's processes (MiB)", 1),
        ("uss_app_mib", "  their USS: private pages only (MiB)", 1),
        ("rss_app_mib", "  their RSS (MiB)", 1),
        ("app_procs", "  processes of the app user", 0),
        ("pss_sandbox_mib", "  sandbox processes (bwrap, root) beside them, PSS (MiB)", 2),
        ("rps", "front door: wrk -t2 -c20 -d10s, requests/s", 0),
        ("p50_ms", "  p50 latency (ms)", 2),
        ("p99_ms", "  p99 latency (ms)", 2),
        ("errors", "  wrk errors (non-2xx + socket)", 0),
        ("app_cpu_cores", "  CPU used by the app's processes during wrk (cores)", 2),
        ("server_cpu_cores", "  CPU used by the server (front door) during wrk (cores)", 2),
        ("throttled_pct", "  CFS periods in which the app's cgroup was throttled during wrk (%)", 0),
        ("direct_rps", "straight at the instance (no front door): wrk -t2 -c20 -d5s, requests/s", 0),
        ("direct_p50_ms", "  p50 latency (ms)", 2),
        ("direct_p99_ms", "  p99 latency (ms)", 2),
        ("deploy_s", "(context) zipdeploy with build, cache shared per binary (s)", 1),
    ]

    def fmt(v, d):
        return "NA" if v is None else f"{v:.{d}f}"

    for r in rounds:
        print(f"\nRound {r} (order: {order.get(r, '?')})\n")
        print("| measurement | OLD | NEW | NEW/OLD |\n|---|---:|---:|---:|")
        for k, label, d in metrics:
            o, n = data.get((r, "OLD", k)), data.get((r, "NEW", k))
            ratio = f"{n / o:.2f}×" if o and n is not None else ""
            print(f"| {label} | {fmt(o, d)} | {fmt(n, d)} | {ratio} |")
    print(f"\nSummary: medians over {len(rounds)} rounds (NEW/OLD: median of the per-round ratios, per round in brackets)\n")
    print("| measurement | OLD | NEW | NEW/OLD |\n|---|---:|---:|---:|")
    for k, label, d in metrics:
        o = med([data.get((r, "OLD", k)) for r in rounds])
        n = med([data.get((r, "NEW", k)) for r in rounds])
        rs = []
        for r in rounds:
            a, b = data.get((r, "OLD", k)), data.get((r, "NEW", k))
            rs.append(b / a if a and b is not None else None)
        ratio = ""
        if any(x is not None for x in rs):
            ratio = f"{med(rs):.2f}× (" + " ".join("NA" if x is None else f"{x:.2f}" for x in rs) + ")"
        print(f"| {label} | {fmt(o, d)} | {fmt(n, d)} | {ratio} |")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"pss": cmd_pss, "restarts": cmd_restarts, "wrk": cmd_wrk, "execs": cmd_execs, "cpu": cmd_cpu, "report": cmd_report}[cmd](*args)
