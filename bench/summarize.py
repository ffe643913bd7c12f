#!/usr/bin/env python3
"""Summarizes one benchmark run: reads the gyre-bench JSON results (and the Google
Benchmark JSON of micro.sh) in a results directory and writes summary.md next to them
(Markdown tables with the Gyre/Nchan ratios), also printed to stdout.

Usage: bench/summarize.py [bench/results/<run>]   (default: the newest run)
"""
import glob
import json
import os
import sys


def load(d, name):
    p = os.path.join(d, name + ".json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def ms(us):
    return "%.1f" % (us / 1000.0) if us is not None else "-"


def ratio(a, b, invert=False):
    if not a or not b:
        return "-"
    return "%.1f×" % ((b / a) if invert else (a / b))


def lat(h):
    if not h or not h.get("count"):
        return "-"
    return "%s / %s / %s / %s / %s" % (ms(h["p50_us"]), ms(h["p90_us"]), ms(h["p99_us"]), ms(h["p999_us"]), ms(h["max_us"]))


def idle_section(d, out):
    rows = []
    res = {}
    for name, what in [("idle-gyre", "Gyre, 25 s pings"), ("idle-gyre-ping2s", "Gyre, 2 s pings"),
                       ("idle-nchan", "Nchan, no pings"), ("idle-nchan-ping2s", "Nchan, 2 s pings")]:
        r = load(d, name)
        if not r:
            continue
        m, i = r.get("server_memory", {}), r.get("idle", {})
        res[name] = (m.get("rss_per_connection_bytes"), m.get("pss_per_connection_bytes"),
                     i.get("server_cpu_us_per_connection_per_s"))
        rows.append("| %s | %d | %.0f | %.0f | %.3f | %d | %d | %.1f%% | %s |" % (
            what, i.get("connections", 0), m.get("rss_per_connection_bytes", 0), m.get("pss_per_connection_bytes", 0),
            i.get("server_cpu_us_per_connection_per_s", 0), i.get("server_pings", 0), i.get("lost", 0),
            i.get("tool_cpu_percent", 0), r["machine"]["loadavg_start"]))
    if not rows:
        return
    out.append("## Idle connections\n")
    out.append("| server | connections | RSS B/conn | PSS B/conn | CPU µs/conn/s | pings | lost | tool CPU | load (start) |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    out.extend(rows)
    g, n = res.get("idle-gyre"), res.get("idle-nchan")
    line = ""
    if g and n:
        line = "\nNchan/Gyre per connection: RSS %s, PSS %s, idle CPU (Nchan no pings vs Gyre 25 s pings) %s" % (
            ratio(g[0], n[0], True), ratio(g[1], n[1], True), ratio(g[2], n[2], True))
    g, n = res.get("idle-gyre-ping2s"), res.get("idle-nchan-ping2s")
    if g and n:
        line += "; idle CPU with 2 s pings %s" % ratio(g[2], n[2], True)
    out.append(line + "\n")


def broadcast_section(d, out):
    found = False
    notes = []
    for subs in (1000, 10000):
        g, n = load(d, "broadcast-gyre-%d" % subs), load(d, "broadcast-nchan-%d" % subs)
        if not g and not n:
            continue
        if not found:
            out.append("## Broadcast (one channel)\n")
            out.append("| subscribers | server | peak pub/s | peak deliveries/s | latency at half peak p50/p90/p99/p99.9/max ms | server CPU | tool CPU | load (start) |")
            out.append("|---|---|---|---|---|---|---|---|")
            found = True
        peaks = {}
        for label, r in (("Gyre", g), ("Nchan", n)):
            if not r:
                continue
            peak = r.get("peak", {})
            peaks[label] = peak.get("delivered_per_s", 0)
            half = next((s for s in r.get("steps", []) if s["kind"] == "half-peak"), None)
            best = next((s for s in r.get("steps", []) if s["kind"].startswith("ramp") and s["pass"]
                         and s["target_pub_rate"] == peak.get("pub_rate")), None)
            out.append("| %d | %s | %.0f | %.0f | %s | %s | %s | %s |" % (
                subs, label, peak.get("pub_rate", 0), peak.get("delivered_per_s", 0),
                (lat(half["latency"]) + ("" if half["pass"] else " (step failed: lag %.1f s)" % half["drain_lag_s"])) if half else "-",
                "%.0f%%" % best["server_cpu_percent"] if best else "-", "%.0f%%" % best["tool_cpu_percent"] if best else "-",
                r["machine"]["loadavg_start"]))
        if "Gyre" in peaks and "Nchan" in peaks:
            out.append("| %d | **Gyre/Nchan** | | **%s** | | | | |" % (subs, ratio(peaks["Gyre"], peaks["Nchan"])))
        nchan_half = next((s for s in (n or {}).get("steps", []) if s["kind"] == "half-peak" and s["pass"]), None)
        if g:
            for s in g.get("steps", []):
                if s["kind"] == "fixed":
                    versus = ""
                    if nchan_half and nchan_half["target_pub_rate"] == s["target_pub_rate"]:
                        versus = " (Nchan at this rate, its half peak: p99 %s ms)" % ms(nchan_half["latency"]["p99_us"])
                    notes.append("Gyre, %d subscribers × %.0f publications/s: delivered %d/%d, latency p50/p90/p99/p99.9/max %s ms%s, "
                                 "server CPU %.0f%%, tool CPU %.0f%%, load %s" % (
                                     subs, s["target_pub_rate"], s["delivered"], s["expected"], lat(s["latency"]), versus,
                                     s["server_cpu_percent"], s["tool_cpu_percent"], s.get("loadavg", "")))
    if found:
        out.append("")
        for n in notes:
            out.append(n + "\n")


def publisher_section(d, out):
    rows = []
    for path in sorted(glob.glob(os.path.join(d, "publisher-gyre-*.json")), key=lambda p: int(p.rsplit("-", 1)[1][:-5])):
        r = json.load(open(path))
        peak = r.get("peak", {})
        best = next((s for s in r.get("steps", []) if s["kind"].startswith("ramp") and s["pass"]
                     and s["target_pub_rate"] == peak.get("pub_rate")), None)
        if not best:
            continue
        rows.append("| %d | %.0f | %.0f | %s | %s | %.0f%% | %.0f%% | %s |" % (
            best["subscribers"], best["pub_rate"], best["delivered_per_s"], lat(best["publish_request"]),
            lat(best["latency"]), best["server_cpu_percent"], best["tool_cpu_percent"], best.get("loadavg", "")))
    if not rows:
        return
    out.append("## One API publisher connection\n")
    out.append("| subscribers | peak pub/s | deliveries/s | publish request p50/p90/p99/p99.9/max ms | delivery latency p50/p90/p99/p99.9/max ms | server CPU | tool CPU | load |")
    out.append("|---|---|---|---|---|---|---|---|")
    out.extend(rows)
    out.append("")


def channels_section(d, out):
    r = load(d, "channels-gyre")
    if not r:
        return
    out.append("## Many channels (batch API)\n")
    out.append("| connections | publications | API publications/s | deliveries/s | delivered/expected | latency p50/p90/p99/p99.9/max ms | server CPU | tool CPU | load |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for s in r.get("steps", []):
        out.append("| %d | %s | %.0f | %.0f | %d/%d | %s | %.0f%% | %.0f%% | %s |" % (
            r["config"]["connections"], s["kind"], s["pub_rate"], s["delivered_per_s"], s["delivered"], s["expected"],
            lat(s["latency"]), s["server_cpu_percent"], s["tool_cpu_percent"], s.get("loadavg", "")))
    out.append("")


def storm_section(d, out):
    rows = []
    for name, what in [("storm-gyre", "Gyre, HS256 JWT, connect"), ("storm-gyre-subscribe", "Gyre, HS256 JWT, connect + subscribe"),
                       ("storm-nchan", "Nchan, no auth, subscribe URL")]:
        r = load(d, name)
        if not r:
            continue
        rates = [x["connections_per_s"] for x in r.get("rounds", [])]
        best = max(rates) if rates else 0
        rounds = r.get("rounds", [])
        rows.append("| %s | %d | %s | %.0f | %s | %s | %s |" % (
            what, rounds[0]["ready"] if rounds else 0, ", ".join("%.0f" % x for x in rates), best,
            ", ".join("%.0f%%" % x.get("server_cpu_percent", 0) for x in rounds),
            ", ".join("%.0f%%" % x.get("tool_cpu_percent", 0) for x in rounds), r["machine"]["loadavg_start"]))
    if rows:
        out.append("## Connect storm\n")
        out.append("| server | connections per round | connections/s per round | best | server CPU | tool CPU | load (start) |")
        out.append("|---|---|---|---|---|---|---|")
        out.extend(rows)
        out.append("")


def micro_section(d, out):
    files = sorted(glob.glob(os.path.join(d, "micro-*.json")))
    if not files:
        return
    out.append("## Micro-benchmarks\n")
    for p in files:
        with open(p) as f:
            try:
                r = json.load(f)
            except json.JSONDecodeError:
                continue
        out.append("### %s\n" % os.path.basename(p)[6:-5])
        ctx = r.get("context", {})
        sizes = ["%s = %s" % (k, v) for k, v in ctx.items() if k.startswith("sizeof")]
        if sizes:
            out.append("Sizes: " + ", ".join(sizes) + "\n")
        out.append("| benchmark | time | CPU | counters |")
        out.append("|---|---|---|---|")
        skip = {"name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
                "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit", "label"}
        for b in r.get("benchmarks", []):
            # ns_per_delivery is stored as an inverted rate, in seconds.
            counters = ", ".join("%s=%.4g" % (k, v * 1e9 if k == "ns_per_delivery" else v)
                                 for k, v in b.items() if k not in skip and isinstance(v, (int, float)))
            out.append("| %s %s | %.4g %s | %.4g %s | %s |" % (b["name"], b.get("label", ""), b["real_time"], b["time_unit"],
                                                            b["cpu_time"], b["time_unit"], counters))
        out.append("")


def memory_section(d, out):
    p = os.path.join(d, "memory-summary.md")
    if not os.path.exists(p):
        return
    out.append("## Memory after a spike (bench/memory.sh)\n")
    with open(p) as f:
        out.append(f.read())


def soak_section(d, out):
    r = load(d, "soak")
    if not r:
        return
    out.append("## Soak (bench/soak.sh)\n")
    samples = r.get("samples", [])
    out.append("| t (s) | RSS (MB) | open files | connections | p99 (ms) | delivered | flood pings / commands / API refused |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for s in samples[::6] + ([samples[-1]] if samples and (len(samples) - 1) % 6 else []):
        fl = s.get("flood", {})
        out.append("| %.0f | %.1f | %d | %d | %s | %d / %d | %d / %d / %d |" % (
            s["t_s"], s["rss_kb"] / 1024.0, s["open_files"], s["open_connections"], ms(s["latency"].get("p99_us")),
            s["delivered"], s["expected"], fl.get("pings", 0), fl.get("commands", 0), fl.get("api_refused", 0)))
    v = r.get("verdict", {})
    if v.get("judged"):
        out.append("\nFirst window after warm-up vs last: RSS %.1f -> %.1f MB, open files %.0f -> %.0f, p99 %.2f -> %.2f ms: %s\n" % (
            v["rss_mb_first"], v["rss_mb_last"], v["open_files_first"], v["open_files_last"], v["p99_ms_first"],
            v["p99_ms_last"], "flat" if v.get("flat") else "NOT flat"))


def main():
    if len(sys.argv) > 1:
        d = sys.argv[1]
    else:
        runs = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "results", "*/")))
        if not runs:
            sys.exit("no results")
        d = runs[-1]
    out = ["# Benchmark run %s\n" % os.path.basename(os.path.normpath(d))]
    for p in sorted(glob.glob(os.path.join(d, "*.json"))):
        with open(p) as f:
            try:
                m = json.load(f).get("machine") or {}
            except json.JSONDecodeError:
                continue
        if m:
            out.append("Machine: %s CPUs (%s), %.1f GB RAM, %s.\n" % (m.get("cpus"), m.get("cpu_model"), m.get("mem_total_kb", 0) / 1048576.0,
                                                                  m.get("kernel")))
            break
    idle_section(d, out)
    broadcast_section(d, out)
    publisher_section(d, out)
    channels_section(d, out)
    storm_section(d, out)
    micro_section(d, out)
    memory_section(d, out)
    soak_section(d, out)
    text = "\n".join(out) + "\n"
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
