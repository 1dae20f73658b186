#!/usr/bin/python3
"""report.py - turns the benchmark's raw.tsv into the results tables.

  report.py --raw raw.tsv --out results.md [--readme README.md]

raw.tsv lines are "phase<TAB>key<TAB>value" (bench-lib.sh). Repeated keys
are repetitions; tables show medians (peaks for memory). Every bar of
DESIGN.md gets a line "met" / "NOT met" / "not measured". Prints the
markdown, writes it to --out and, with --readme, between the markers
"<!-- bench:begin -->" and "<!-- bench:end -->" of that file.
Exit status: 0 every measured bar met, 1 otherwise.
"""
import argparse
import collections
import statistics
import sys

SIZES = {"100M": "100 MB", "1G": "1 GiB", "10G": "10 GiB"}
SIZE_BYTES = {"100M": 100e6, "1G": 2**30, "10G": 10 * 2**30}
CLIENTS = {"sftp": "OpenSSH sftp", "libssh": "libssh client"}
DIRS = {"up": "upload", "down": "download"}


def load(path):
    vals = collections.defaultdict(list)
    meta = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            phase, key, value = parts
            if phase == "meta":
                meta[key] = value
                continue
            try:
                vals[key].append(float(value))
            except ValueError:
                pass
    return vals, meta


def med(vals, key):
    v = vals.get(key)
    return statistics.median(v) if v else None


def fmt(x, digits=1, unit=""):
    if x is None:
        return "–"
    return ("%." + str(digits) + "f%s") % (x, unit)


class Bars:
    def __init__(self):
        self.rows = []

    def add(self, name, measured, met):
        """met: True, False or None (not measured)."""
        self.rows.append((name, measured, met))

    def all_met(self):
        return all(m is not False for _, _, m in self.rows)

    def table(self):
        out = ["| Bar | Measured | |", "|---|---|---|"]
        for name, measured, met in self.rows:
            mark = "not measured" if met is None else ("met" if met else "**NOT met**")
            out.append("| %s | %s | %s |" % (name, measured, mark))
        return out


MOUNTS = {"mount": "", "mount-post": " (one streamed POST)", "mount-pipe": " (pipeline=on)"}
# The modes a bar is judged on: the default, and the faster opt-in one.
BAR_MODES = {"mount": "default mode", "mount-pipe": "pipeline=on"}


def throughput(vals, bars):
    out = ["### Throughput (MB/s, median of the repetitions; ratio = mount / plain)", "",
           "Uploads through the mount use the default mode (spooled, sent at CLOSE: TUS from 64 MiB on, up to 4 "
           "parallel parts) unless marked \"one streamed POST\" (`AltinnBrokerUpload tus-above=1T`) or "
           "\"pipeline=on\" (`AltinnBrokerUpload pipeline=on`: sent by TUS while the client writes).", "",
           "| Client | Direction | Size | Plain dir | Mount | Ratio | Bar ≥ 0.90 | CLOSE after last write: plain / mount (ms) | Failed runs |",
           "|---|---|---|---|---|---|---|---|---|"]
    worst = {}
    any_row = False
    for c in CLIENTS:
        for d in DIRS:
            for s in ("100M", "1G"):
                for mt, label in MOUNTS.items():
                    k = "tp.%s.%s.%s" % (c, d, s)
                    p, m = med(vals, k + ".plain.mbps"), med(vals, k + "." + mt + ".mbps")
                    errors = int(sum(vals.get(k + "." + mt + ".error", [])))
                    if mt == "mount":
                        errors += int(sum(vals.get(k + ".plain.error", [])))
                    if m is None and not errors and (mt != "mount" or p is None):
                        continue
                    any_row = True
                    ratio = m / p if p and m else None
                    met = ratio is not None and ratio >= 0.9 and errors == 0
                    close = ""
                    if d == "up" and c == "libssh":
                        close = "%s / %s" % (fmt(med(vals, k + ".plain.close_ms"), 0),
                                             fmt(med(vals, k + "." + mt + ".close_ms"), 0))
                    out.append("| %s | %s%s | %s | %s | %s | %s | %s | %s | %d |" % (
                        CLIENTS[c], DIRS[d], label, SIZES[s], fmt(p), fmt(m), fmt(ratio, 2),
                        "met" if met else "**NOT met**", close, errors))
                    if mt not in BAR_MODES:
                        continue   # one streamed POST is a variant of the default, shown only
                    w = worst.get((d, mt))
                    score = ratio if (ratio is not None and errors == 0) else -1
                    if w is None or score < w[0]:
                        worst[(d, mt)] = (score, "%s %s %s" % (CLIENTS[c], SIZES[s], fmt(ratio, 2)))
    if not any_row:
        out.append("| (not measured) | | | | | | | | |")
    for d in DIRS:
        for mt, mode in BAR_MODES.items():
            name = "%s throughput ≥ 0.9 × plain directory" % DIRS[d].capitalize()
            if mt != "mount":
                if (d, mt) not in worst:
                    continue   # pipeline=on changes uploads only
                name += " (%s)" % mode
            elif any(k[0] == d and k[1] != "mount" for k in worst):
                name += " (%s)" % mode
            if (d, mt) in worst:
                score, where = worst[(d, mt)]
                bars.add(name, "worst: " + where + ("" if score >= 0 else " (failed runs)"), score >= 0.9)
            else:
                bars.add(name, "–", None)
    return out


def cpu(vals):
    """CPU seconds per GB by process, largest runs (the profile's first cut)."""
    size = "1G" if any(k.startswith("tp.") and ".1G." in k for k in vals) else "100M"
    out = ["### Where the CPU goes (CPU seconds per GB moved, %s runs, median)" % SIZES[size], "",
           "| Client | Direction | Target | ProFTPD session | of which its main thread | Gateway agent | Emulator | Client (+ssh) | Sum | Wall s/GB | Machine busy | CPU-bound ceiling of the ratio | Ceiling with every core busy |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = 0
    try:
        cores = int(meta_get("cpu").split()[0])
    except ValueError:
        cores = 1
    for c in CLIENTS:
        for d in DIRS:
            plain_total = plain_wall = None
            for t in ("plain", "mount", "mount-pipe"):
                k = "tp.%s.%s.%s.%s" % (c, d, size, t)
                parts = [med(vals, k + x) for x in (".session_cpu_s", ".agent_cpu_s", ".emulator_cpu_s", ".client_cpu_s")]
                secs = med(vals, k + ".secs")
                if secs is None:
                    continue
                gb = SIZE_BYTES[size] / 1e9
                per = [p / gb if p is not None else None for p in parts]
                total = sum(p for p in per if p is not None)
                if t == "plain":
                    plain_total, plain_wall = total, secs / gb
                ceiling = full = ""
                if t != "plain" and plain_total:
                    # When the machine is saturated, MB/s go as 1 / CPU per GB.
                    ceiling = "%.2f (without the emulator: %.2f)" % (
                        plain_total / total, plain_total / (total - (per[2] or 0)))
                    # The plain run may leave cores idle: the mount could use
                    # them if its work ran in parallel. Its best wall time is
                    # then its CPU spread over every core.
                    full = "%.2f (without the emulator: %.2f)" % (
                        plain_wall / (total / cores), plain_wall / ((total - (per[2] or 0)) / cores))
                busy = med(vals, k + ".machine_busy_pct")
                # The thread ProFTPD serves the session in; the rest of the
                # session's CPU is the gateway's helper threads (MD5, sending).
                main = med(vals, k + ".session_main_cpu_s")
                out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    CLIENTS[c], DIRS[d], "mount, pipeline=on" if t == "mount-pipe" else t, fmt(per[0], 2),
                    fmt(main / gb if main is not None else None, 2), fmt(per[1], 2), fmt(per[2], 2),
                    fmt(per[3], 2), fmt(total, 2), fmt(secs / gb, 2), fmt(busy, 0, " %"), ceiling, full))
                rows += 1
    return out if rows else []


def memory(vals, bars):
    out = ["### Peak RSS of the session process (VmHWM, MiB; peak over the runs)", "",
           "| Direction | Client | Target | 100 MB | 1 GiB | 10 GiB | Growth over 100 MB |",
           "|---|---|---|---|---|---|---|"]
    worst = None
    for d in DIRS:
        for c in CLIENTS:
            for t in ("plain", "mount", "mount-pipe"):
                peaks = {}
                for s in SIZES:
                    v = vals.get("tp.%s.%s.%s.%s.hwm_kb" % (c, d, s, t), []) + \
                        vals.get("mem.%s.%s.%s.%s.hwm_kb" % (c, d, s, t), [])
                    v = [x for x in v if x > 0]
                    if v:
                        peaks[s] = max(v) / 1024.0
                if not peaks:
                    continue
                growth = None
                if "100M" in peaks and len(peaks) > 1:
                    growth = max(peaks.values()) - peaks["100M"]
                out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    DIRS[d], CLIENTS[c], "mount, pipeline=on" if t == "mount-pipe" else t, fmt(peaks.get("100M")), fmt(peaks.get("1G")),
                    fmt(peaks.get("10G")), fmt(growth, 1, " MiB")))
                if t != "plain" and growth is not None:
                    largest = max(peaks, key=lambda s: SIZE_BYTES[s])
                    if worst is None or growth > worst[0]:
                        worst = (growth, "%s %s: +%.1f MiB from 100 MB to %s" % (
                            DIRS[d], CLIENTS[c], growth, SIZES[largest]))
    if len(out) == 4:
        out.append("| (not measured) | | | | | | |")
    # Flat: growth within 4 MiB (allocator noise, TLS session buffers).
    if worst is None:
        bars.add("Session memory flat in file size (growth ≤ 4 MiB)", "–", None)
    else:
        bars.add("Session memory flat in file size (growth ≤ 4 MiB)", "worst: " + worst[1], worst[0] <= 4.0)
    return out


def listing(vals, bars):
    out = ["### Inbox listing (READDIR of /inbox; 20 ms added per emulator request, Altinn's rate limits on)", "",
           "Each cell: median ms (entries listed). Cold = first listing after ProFTPD restarted; "
           "warm = again in the same session, and in new sessions (a batch job logging in). "
           "Baseline: a plain directory of as many files, listed in new sessions by the same ProFTPD and client, "
           "taking turns with the mount's new sessions.", "",
           "| Transfers known | Learned first (limits lifted) | Cold | Warm, same session | Warm, new session | Plain directory, new session | Ratio new session / plain | New file listed after (s) | HTTP 429s | Failed |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    every_max, every_ok, measured = 0.0, True, False
    complete_ok, incomplete = True, []
    fresh_max, fresh_ok, fresh_measured = 0.0, True, False
    warm10k = plain10k = None
    for n in (100, 1000, 10000):
        k = "ls.%d" % n
        if not any(key.startswith(k + ".") for key in vals):
            continue
        measured = True
        all_ms = vals.get(k + ".cold_ms", []) + vals.get(k + ".warm_same_ms", []) + vals.get(k + ".warm_new_ms", [])
        errors = int(sum(vals.get(k + ".error", [])))
        if all_ms:
            every_max = max(every_max, max(all_ms))
        if errors or not all_ms or max(all_ms) > 1000:
            every_ok = False
        want = int(med(vals, k + ".expected") or n)
        cells = []
        for kind in ("cold", "warm_same", "warm_new"):
            ms = med(vals, "%s.%s_ms" % (k, kind))
            ent = vals.get("%s.%s_entries" % (k, kind), [])
            if ms is None:
                cells.append("–")
                continue
            low = int(min(ent)) if ent else 0
            mark = "%d" % low if low == want else "**%d of %d**" % (low, want)
            cells.append("%s (%s)" % (fmt(ms, 0), mark))
            if kind != "cold" and low != want:
                complete_ok = False
                incomplete.append("%s %d of %d" % (kind.replace("_", " "), low, want))
        fresh = vals.get(k + ".fresh_s", [])
        fresh_fail = int(sum(vals.get(k + ".fresh_error", [])))
        if fresh or fresh_fail:
            fresh_measured = True
            if fresh:
                fresh_max = max(fresh_max, max(fresh))
            if fresh_fail or (fresh and max(fresh) > 5):
                fresh_ok = False
        plain = med(vals, k + ".plain_new_ms")
        warm_new = med(vals, k + ".warm_new_ms")
        if n == 10000:
            ent = vals.get(k + ".warm_new_entries", [])
            warm10k = warm_new
            plain10k = plain
            if errors or not ent or int(min(ent)) != want:
                warm10k = None
        learned = med(vals, k + ".learned")
        learn_s = med(vals, k + ".learn_s")
        learned_txt = "–"
        if learned is not None:
            learned_txt = ("%d in %.0f s" % (learned, learn_s)) if learned >= want else \
                "**%d of %d** in %.0f s" % (learned, want, learn_s)
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            "{:,}".format(n), learned_txt, cells[0], cells[1], cells[2],
            fmt(plain, 0) if plain is not None else "–",
            "%.2f" % (warm_new / plain) if plain and warm_new is not None else "–",
            fmt(max(fresh), 1) if fresh else ("**not listed in 30 s**" if fresh_fail else "–"),
            "%d" % int(sum(vals.get(k + ".rate_limited", []))), errors))
    if not measured:
        out.append("| (not measured) | | | | | | | | | |")
    else:
        limits = meta_get("learn_limits")
        out += ["", "Learning used rate limits: %s. Entries listed are compared with every Published, unconfirmed "
                "transfer to us (the seeded ones and the fresh file of the step before); measurements start a "
                "minute after learning, when its calls have left the rate window." % (
                    "off at the emulator and in the gateway (AltinnBrokerRateLimit)" if limits == "off" else
                    "gateway-only (this build cannot lift its own budget, so it learned at Altinn's 120 overviews "
                    "per minute)" if limits == "gateway-only" else limits)]
    bars.add("Every READDIR ≤ 1 s", ("slowest %.0f ms" % every_max) + ("" if every_ok else " (or failed)") if measured else "–",
             every_ok if measured else None)
    bars.add("Warm listings list every transfer", ("yes" if complete_ok else "; ".join(incomplete[:3])) if measured else "–",
             complete_ok if measured else None)
    bars.add("Warm listing of 10,000 ≤ 200 ms (new session)",
             (fmt(warm10k, 0, " ms") + (" (plain directory: %s)" % fmt(plain10k, 0, " ms") if plain10k else ""))
             if warm10k is not None else "–",
             (warm10k <= 200) if warm10k is not None else (False if any(key.startswith("ls.10000.") for key in vals) else None))
    bars.add("New file listed ≤ 5 s after publish",
             ("slowest %.1f s" % fresh_max) + ("" if fresh_ok else " (or never)") if fresh_measured else "–",
             fresh_ok if fresh_measured else None)
    limited = int(sum(v for key, vs in vals.items() if key.startswith("ls.") and key.endswith(".rate_limited") for v in vs))
    bars.add("Zero HTTP 429 at Altinn's limits (listing)", "%d" % limited if measured else "–",
             (limited == 0) if measured else None)
    return out


def concurrency(vals, bars):
    sessions = int(med(vals, "cc.sessions") or 50)
    files = int(med(vals, "cc.files") or 20)
    out = ["### Concurrency (%d sessions × %d files of 1 MiB at once; OpenSSH sftp)" % (sessions, files), "",
           "| Target | Emulator rate limits | Wall s | Aggregate MB/s | Ratio | Failed sessions | Published / expected | Maskinporten grants | HTTP 429s |",
           "|---|---|---|---|---|---|---|---|---|"]
    plain = med(vals, "cc.plain.mbps")
    found = False
    off_label = {"off": "off (emulator and gateway)", "gateway-only": "off at the emulator; the gateway keeps Altinn's"}.get(
        meta_get("cc_limits_off"), "off")
    for t, lim in (("plain", ""), ("mount", "off"), ("mount", "on")):
        k = "cc.%s%s" % (t, "." + lim if lim else "")
        if k + ".secs" not in vals and k + ".errors" not in vals:
            continue
        found = True
        m = med(vals, k + ".mbps")
        ratio = m / plain if (m and plain and t == "mount") else None
        errors = int(max(vals.get(k + ".errors", [0])))
        pub = med(vals, k + ".published")
        exp = med(vals, k + ".expected")
        grants = max(vals.get(k + ".grants", [0])) if k + ".grants" in vals else None
        limited = max(vals.get(k + ".rate_limited", [0])) if k + ".rate_limited" in vals else None
        out.append("| %s | %s | %s | %s | %s | %d | %s | %s | %s |" % (
            t, {"": "–", "off": off_label, "on": "on (Altinn's)"}[lim], fmt(med(vals, k + ".secs")), fmt(m),
            fmt(ratio, 2), errors,
            ("%d / %d" % (pub, exp)) if pub is not None and exp is not None else "–",
            fmt(grants, 0) if grants is not None else "–", fmt(limited, 0) if limited is not None else "–"))
        if t == "mount":
            ok = errors == 0 and pub is not None and pub == exp
            bars.add("%d × %d uploads, rate limits %s: all Published, zero errors" % (sessions, files, lim),
                     "%d failed sessions, %s / %s Published" % (errors, fmt(pub, 0), fmt(exp, 0)), ok)
            bars.add("≤ 2 Maskinporten grants per client (rate limits %s)" % lim, fmt(grants, 0), grants is not None and grants <= 2)
            if lim == "on":
                bars.add("Zero HTTP 429 at Altinn's limits (%d × %d uploads)" % (sessions, files), fmt(limited, 0), limited == 0)
    if not found:
        out.append("| (not measured) | | | | | | | | |")
        bars.add("%d × %d uploads: all Published, zero errors" % (sessions, files), "–", None)
        bars.add("≤ 2 Maskinporten grants per client", "–", None)
    return out


META = {}


def meta_get(key):
    return META.get(key, "?")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--readme")
    a = ap.parse_args()
    vals, meta = load(a.raw)
    META.update(meta)
    bars = Bars()
    sections = [throughput(vals, bars), cpu(vals), memory(vals, bars), listing(vals, bars), concurrency(vals, bars)]
    lines = ["Measured %s on %s, %s RAM, %s, kernel %s; %s." % (
        meta.get("started", "?"), meta.get("cpu", "?"), meta.get("memory", "?"), meta.get("os", "?"),
        meta.get("kernel", "?"), meta.get("software", "?")),
        "Commit %s; `%s` (%s); load average %s at the start, %s at the end." % (
        meta.get("commit", "?"), meta.get("command", "make bench"), meta.get("mode", "?"),
        meta.get("load_start", "?"), meta.get("load_end", "?")), ""]
    lines += bars.table() + [""]
    for s in sections:
        if s:
            lines += s + [""]
    text = "\n".join(lines)
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    if a.readme:
        with open(a.readme) as f:
            readme = f.read()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        i, j = readme.find(begin), readme.find(end)
        if i < 0 or j < i:
            sys.exit("report.py: %s has no %s ... %s markers" % (a.readme, begin, end))
        with open(a.readme, "w") as f:
            f.write(readme[:i + len(begin)] + "\n" + text + "\n" + readme[j:])
    return 0 if bars.all_met() else 1


if __name__ == "__main__":
    sys.exit(main())
