#!/usr/bin/env python3
"""bench/report.py: turn bench/run's raw figures into results.json and
results.md (medians over runs, ratios to direct and between proxies).

usage: report.py RESULTS.tsv OUTDIR SMOKE RUNS DURATION ELAPSED TARGETS ERRORS
RESULTS.tsv has one figure per line: run, target, metric, value.
"""
import json
import os
import statistics
import sys
import time

# metric, label, unit, higher is better
METRICS = [
    ("keepalive_rps", "keep-alive GETs/s (1 KiB)", "req/s", True),
    ("newconn_rps", "new-connection GETs/s (1 KiB)", "req/s", True),
    ("tls_newconn_rps", "HTTPS new connections/s (1 KiB)", "req/s", True),
    ("bulk_MBps", "bulk download (100 MiB)", "MB/s", True),
    ("keepalive_p50_us", "keep-alive latency p50", "µs", False),
    ("keepalive_p99_us", "keep-alive latency p99", "µs", False),
    ("newconn_p50_us", "new-connection latency p50", "µs", False),
    ("newconn_p99_us", "new-connection latency p99", "µs", False),
    ("tls_newconn_p50_us", "HTTPS new-connection latency p50", "µs", False),
    ("tls_newconn_p99_us", "HTTPS new-connection latency p99", "µs", False),
    ("keepalive_cpu_us", "proxy CPU per request, keep-alive", "µs", False),
    ("newconn_cpu_us", "proxy CPU per request, new connection", "µs", False),
    ("tls_newconn_cpu_us", "proxy CPU per request, HTTPS new conn.", "µs", False),
    ("idle_rss_KiB_per_conn", "proxy RSS per idle connection", "KiB", False),
    ("dns_qps", "DNS queries/s (32 outstanding)", "q/s", True),
    ("dns_p50_us", "DNS latency p50 (1 outstanding)", "µs", False),
    ("dns_p99_us", "DNS latency p99 (1 outstanding)", "µs", False),
    ("dns_added_p50_us", "DNS added latency p50 (vs dnsmasq)", "µs", False),
]

# Issue 10's goals for proxyd: (metric, kind, bound, text).
GOALS = [
    ("keepalive_rps", "ratio_direct_min", 0.90, "keep-alive ≥ 0.90 of direct"),
    ("newconn_rps", "ratio_direct_min", 0.60, "new connection ≥ 0.60 of direct"),
    ("tls_newconn_rps", "ratio_direct_min", 0.85, "HTTPS new connection ≥ 0.85 of direct"),
    ("bulk_MBps", "ratio_direct_min", 0.90, "bulk ≥ 0.90 of direct"),
    ("keepalive_cpu_us", "ratio_haproxy_max", 0.8, "CPU/request keep-alive ≤ 0.8× HAProxy"),
    ("newconn_cpu_us", "ratio_haproxy_max", 0.8, "CPU/request new conn. ≤ 0.8× HAProxy"),
    ("tls_newconn_cpu_us", "ratio_haproxy_max", 0.8, "CPU/request HTTPS ≤ 0.8× HAProxy"),
    ("idle_rss_KiB_per_conn", "abs_max", 2.0, "≤ 2 KiB RSS per idle connection"),
    ("dns_added_p50_us", "abs_max", 100.0, "DNS added latency p50 ≤ 100 µs"),
]


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    (tsv, outdir, smoke, runs, duration, elapsed, targets, errfile) = sys.argv[1:9]
    targets = targets.split()
    raw = {}  # metric -> target -> [values in run order]
    with open(tsv) as f:
        for line in f:
            run, target, metric, value = line.rstrip("\n").split("\t")
            raw.setdefault(metric, {}).setdefault(target, []).append(float(value))
    # Session figures ("sessions" target, "<backend>.<figure>") get their
    # own table.
    sess_raw = {}
    for m in [m for m in raw if "sessions" in raw[m]]:
        backend, fig = m.split(".", 1)
        sess_raw.setdefault(backend, {})[fig] = raw[m].pop("sessions")
        if not raw[m]:
            del raw[m]
    sess = {b: {f: statistics.median(v) for f, v in d.items()} for b, d in sess_raw.items()}
    med = {m: {t: statistics.median(v) for t, v in d.items()} for m, d in raw.items()}
    # DNS added latency: proxyd's p50 minus dnsmasq's (direct) p50.
    d50 = med.get("dns_p50_us", {})
    if "direct" in d50 and "proxyd" in d50:
        med["dns_added_p50_us"] = {"proxyd": d50["proxyd"] - d50["direct"]}
    errors = []
    if os.path.exists(errfile):
        errors = [l.rstrip("\n") for l in open(errfile) if l.strip()]

    peers = [t for t in targets if t not in ("direct", "proxyd")]
    proxies = [t for t in targets if t != "direct"]
    ratio_cols = []  # (title, num, den)
    if "direct" in targets:
        ratio_cols += [(f"{t} ÷ direct", t, "direct") for t in proxies]
    if "proxyd" in targets:
        ratio_cols += [(f"proxyd ÷ {p}", "proxyd", p) for p in peers]

    rows = []
    ratios = {}
    for m, label, unit, higher in METRICS:
        vals = med.get(m)
        if not vals:
            continue
        rr = {}
        for title, a, b in ratio_cols:
            r = ratio(vals.get(a), vals.get(b))
            if r is not None:
                rr[f"{a}/{b}"] = round(r, 3)
        ratios[m] = rr
        rows.append((m, label, unit, higher, vals, rr))

    goals = []
    for m, kind, bound, text in GOALS:
        v = med.get(m, {}).get("proxyd")
        if kind == "ratio_direct_min":
            x = ratios.get(m, {}).get("proxyd/direct")
            ok = None if x is None else x >= bound
        elif kind == "ratio_haproxy_max":
            x = ratios.get(m, {}).get("proxyd/haproxy")
            ok = None if x is None else x <= bound
        else:
            x = v
            ok = None if x is None else x <= bound
        goals.append({"goal": text, "metric": m, "value": x, "met": ok})

    if "namespace" in sess:
        v = sess["namespace"].get("running_p50_ms")
        goals.append({"goal": "namespace session start (create → running) p50 ≤ 60 ms",
                      "metric": "sessions.namespace.running_p50_ms", "value": v,
                      "met": None if v is None else v <= 60})

    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "smoke" if smoke == "1" else "full",
        "runs": int(runs),
        "seconds_per_measure": int(duration),
        "elapsed_seconds": int(elapsed),
        "targets": targets,
        "host": os.uname().nodename,
        "cpus": os.cpu_count(),
    }
    doc = {
        "meta": meta,
        "medians": med,
        "runs": raw,
        "ratios": ratios,
        "proxyd_goals": goals,
        "sessions": {"medians": sess, "runs": sess_raw},
        "errors": errors,
    }
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")

    md = []
    md.append(f"# Enclave bench: {meta['mode']} run, {meta['date']}\n")
    md.append(f"{meta['runs']} run(s) (medians), {meta['seconds_per_measure']} s per "
              f"measure, {meta['elapsed_seconds']} s measuring, {meta['cpus']} CPUs. "
              "Ratios are of the medians; for rates higher is better, for "
              "latency, CPU and memory lower is better.\n")
    head = ["measure", "unit"] + targets + [c[0] for c in ratio_cols]
    md.append("| " + " | ".join(head) + " |")
    md.append("|" + "---|" * 2 + "---:|" * (len(head) - 2))
    for m, label, unit, higher, vals, rr in rows:
        cells = [label, unit] + [fmt(vals.get(t)) for t in targets]
        for title, a, b in ratio_cols:
            r = rr.get(f"{a}/{b}")
            cells.append("–" if r is None else f"{r:.2f}")
        md.append("| " + " | ".join(cells) + " |")
    md.append("")
    if sess:
        md.append("Session start latency per backend (ms; create → running from "
                  "sessiond's audit timestamps, create → result as the client "
                  "waits for it):\n")
        md.append("| backend | running p50 | running p99 | result p50 | result p99 | sessions |")
        md.append("|---|---:|---:|---:|---:|---:|")
        for b, d in sess.items():
            n = int(sum(sess_raw[b].get("samples", [0])))
            md.append(f"| {b} | " + " | ".join(fmt(d.get(f)) for f in (
                "running_p50_ms", "running_p99_ms", "result_p50_ms", "result_p99_ms"))
                + f" | {n} |")
        md.append("")
    if "proxyd" in targets:
        md.append("Issue 10's goals for proxyd:\n")
        md.append("| goal | figure | met |")
        md.append("|---|---:|---|")
        for g in goals:
            met = {True: "yes", False: "**no**", None: "–"}[g["met"]]
            md.append(f"| {g['goal']} | {fmt(g['value'])} | {met} |")
        md.append("")
    if errors:
        md.append("Harness errors:\n")
        md += [f"- {e}" for e in errors]
        md.append("")
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md))


if __name__ == "__main__":
    main()
