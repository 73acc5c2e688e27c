#!/usr/bin/python3
"""Writes `make bench`'s results: one table (workload x system) into
bench/RESULTS.md between the markers

    <!-- make bench: begin -->
    <!-- make bench: end -->

(inserted after the intro, before the first `## ` heading, when absent;
every other line of the file is kept as it is), the same section on stdout,
and a chart (bench/results.png, matplotlib's Agg backend; skipped with a
note when matplotlib is missing).

Inputs are JSON lines in the format of spec-bench.md: the C harness's
(`build/bin/arrjit-bench --json`: kind stream / workload) and the Python
anchors' (`bench/anchors.py`: kind anchor / skip). Either file may be
missing or empty; the report says so instead of failing.

`make bench` runs both harnesses in alternating rounds (BENCH_ROUNDS), so
a file may hold a workload once per round. Each system keeps its best
round: a C harness line whole (its sides were timed interleaved, against
its own round's bandwidth references), the one with arrjit's lowest
median; each anchor line the one with the lowest median. A shared machine
slows whole stretches of a run; the best of rounds spread over the run
keeps that from landing on one system only.

Exit status: 0 written, 2 bad command line or a RESULTS.md whose markers
are broken (it is then left untouched).
"""

import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys

BEGIN = "<!-- make bench: begin -->"
END = "<!-- make bench: end -->"
PEERS = ["numpy", "numpy_linalg", "numexpr1", "numexpr", "numba",
         "numba_par"]
HEADS = {"numpy": "NumPy", "numpy_linalg": "np.linalg", "numexpr1":
         "numexpr 1t", "numexpr": "numexpr", "numba": "Numba",
         "numba_par": "Numba par"}
# A skip line names a package; these are the columns it removes.
SKIP_COLUMNS = {"numexpr": ["numexpr1", "numexpr"],
                "numba": ["numba", "numba_par"],
                "numpy": ["numpy", "numpy_linalg"]}


def warn(msg):
    print("report: " + msg, file=sys.stderr)


def read_jsonl(path, notes, what):
    """The JSON objects of a file; bad lines are noted and skipped."""
    if not path or not os.path.exists(path):
        notes.append("%s: no file %s; its columns are empty." % (what, path))
        return []
    out, bad = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(obj, dict) and "kind" in obj:
                out.append(obj)
            else:
                bad += 1
    if bad:
        notes.append("%s: %d line(s) of %s not in the spec's JSON format, "
                     "ignored." % (what, bad, path))
    if not out:
        notes.append("%s: no results in %s." % (what, path))
    return out


def num(x):
    """x if it is a finite number, else None (JSON null, missing)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return x if math.isfinite(x) else None


def med(d):
    return num(d.get("median")) if isinstance(d, dict) else None


def fmt(x):
    """A time or rate with about three significant digits."""
    if x is None:
        return "—"
    a = abs(x)
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    if a >= 1 or a == 0:
        return "%.2f" % x
    return "%.*f" % (2 - math.floor(math.log10(a)), x)


def faster(new, old, key):
    """Whether line new beats line old (None: no old) on key's median."""
    if old is None:
        return True
    a, b = key(new), key(old)
    return a is not None and (b is None or a < b)


class Data:
    def __init__(self, c_lines, py_lines):
        self.stream_rounds = []  # per C harness run: name -> stream line
        self.streams = {}   # name -> line (the last run's)
        self.c = {}         # workload name -> line
        self.py = {}        # (workload, system) -> line
        self.skips = []     # skip lines
        self.stats = None   # the harness's kind stats line
        self.compile = {}   # workload -> (kernels, ms), the first round's
        self.order = []     # workload names, C harness first
        self.notes = []
        for o in c_lines:
            if o["kind"] == "stream":
                if not self.stream_rounds or o.get("name") in self.streams:
                    self.streams = {}
                    self.stream_rounds.append(self.streams)
                self.streams[o.get("name")] = o
            elif o["kind"] == "stats":
                self.stats = self.stats or o
            elif o["kind"] == "workload" and o.get("name"):
                if o["name"] not in self.c:
                    self.order.append(o["name"])
                k, ms = num(o.get("kernels")), num(o.get("compile_ms"))
                if k and ms is not None and o["name"] not in self.compile:
                    self.compile[o["name"]] = (k, ms)
                if faster(o, self.c.get(o["name"]), lambda x: med(x.get("arrjit"))):
                    self.c[o["name"]] = o
        for o in py_lines:
            if o["kind"] == "anchor" and o.get("name") and \
                    o.get("system") in PEERS:
                key = (o["name"], o["system"])
                if faster(o, self.py.get(key), med):
                    self.py[key] = o
                if o["name"] not in self.order:
                    self.order.append(o["name"])
            elif o["kind"] == "skip" and o not in self.skips:
                self.skips.append(o)
        present = {s for (_, s) in self.py}
        self.systems = [s for s in PEERS if s in present]

    def row(self, name):
        """The numbers of one table row."""
        c = self.c.get(name, {})
        unit = c.get("unit")
        r = {"name": name, "n": num(c.get("n")), "unit": unit,
             "arrjit": med(c.get("arrjit")), "eager": med(c.get("eager")),
             "check": c.get("check"), "gbps": num(c.get("gbps")),
             "bw_ref": c.get("bw_ref"), "bw_pct": num(c.get("bw_pct"))}
        hand = c.get("hand") if isinstance(c.get("hand"), list) else []
        r["hand"] = med(hand[0]) if hand else None
        # transcendental workloads also have a SLEEF u10 hand loop (libmvec
        # for the fast mode's): the yardstick for vector math (the fused
        # loop calls libm)
        r["sleef"] = next((med(h) for h in hand if isinstance(h, dict)
                           and h.get("kind") in ("sleef", "mvec")), None)
        r["peers"] = {}
        for s in self.systems:
            a = self.py.get((name, s))
            if a is None or med(a) is None:
                continue
            if unit is None:
                unit = r["unit"] = a.get("unit")
            if a.get("unit") != unit:
                self.notes.append("%s: %s reports %s, the harness %s; not "
                                  "compared." % (name, s, a.get("unit"), unit))
                continue
            r["peers"][s] = med(a)
        r["best"] = min(r["peers"], key=r["peers"].get) if r["peers"] else None
        r["ratio"] = (r["arrjit"] / r["peers"][r["best"]]
                      if r["best"] and r["arrjit"] and r["peers"][r["best"]]
                      else None)
        return r


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def git_commit(root):
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "--short",
                              "HEAD"], capture_output=True, text=True)
        if out.returncode == 0:
            # the files this report writes do not count: a second run
            # would otherwise always call the tree dirty
            dirty = subprocess.run(["git", "-C", root, "status",
                                    "--porcelain", "--untracked-files=no",
                                    "--", ".", ":!bench/RESULTS.md",
                                    ":!bench/results.png"],
                                   capture_output=True, text=True).stdout
            return out.stdout.strip() + (" (with uncommitted changes)"
                                         if dirty.strip() else "")
    except OSError:
        pass
    return "unknown"


def table(data, rows):
    cols = ["workload", "n", "unit", "arrjit", "hand C", "hand vec",
            "eager C"] + \
        [HEADS[s] for s in data.systems] + \
        ["best peer", "arrjit / best", "GB/s", "% of bw (ref)"]
    out = ["| " + " | ".join(cols) + " |",
           "|" + "|".join("---" if i < 3 else "---:"
                          for i in range(len(cols))) + "|"]
    for r in rows:
        aj = fmt(r["arrjit"])
        if r["check"] not in (None, "ok"):
            aj += " %s" % r["check"]
        cells = [r["name"], "%d" % r["n"] if r["n"] is not None else "—",
                 r["unit"] or "—", aj, fmt(r["hand"]), fmt(r["sleef"]),
                 fmt(r["eager"])]
        for s in data.systems:
            v = r["peers"].get(s)
            cells.append(("**%s**" % fmt(v)) if s == r["best"] else fmt(v))
        cells.append(HEADS[r["best"]] if r["best"] else "—")
        cells.append("%.2f" % r["ratio"] if r["ratio"] is not None else "—")
        cells.append(fmt(r["gbps"]))
        cells.append("%.0f%% %s" % (r["bw_pct"], r["bw_ref"] or "?")
                     if r["bw_pct"] is not None else "—")
        out.append("| " + " | ".join(cells) + " |")
    return out


def section(data, rows, args, png_note):
    threads = sorted({o.get("threads") for o in
                      list(data.c.values()) + list(data.streams.values())
                      if num(o.get("threads")) is not None})
    tstr = "/".join(str(t) for t in threads) or "?"
    lines = [BEGIN, "## Latest `make bench` (generated by bench/report.py)",
             "",
             "Written by `make bench`; everything between the two markers "
             "is replaced on each run, the rest of this file is kept as it "
             "is.",
             "",
             "- Command: `%s`" % args.command,
             "- Date: %s" % args.date,
             "- Machine: %s, %d threads (`os.cpu_count()`)" % (
                 cpu_model(), os.cpu_count() or 0),
             "- Commit: %s" % git_commit(args.root),
             "- Threads: arrjit %s; NumPy 1 (np.linalg.norm: BLAS); numexpr 1t "
             "and Numba 1; numexpr and Numba par: all given to "
             "`anchors.py --threads` (default all CPUs)." % tstr,
             "",
             "Medians, in each row's unit (`ms` per run, `ns/it` per "
             "iteration for seed); with several rounds, each system's best "
             "round (bench/report.py). Best peer: the fastest of the Python "
             "systems (in bold); arrjit / best < 1 means arrjit is faster. "
             "GB/s and % of bw: arrjit's median against the STREAM-like "
             "reference the harness names (triad, copy, read or write). "
             "— : not measured or not expressible.",
             ""]
    lines += table(data, rows)
    lines.append("")
    if data.streams:
        # one figure per round, in order: a row's % of bw is against its
        # own round's
        rounds = data.stream_rounds
        lines.append("Bandwidth references (arrjit-bench%s): " % (
            ", %d rounds" % len(rounds) if len(rounds) > 1 else "") + ", ".join(
            "%s %s GB/s (%s threads)" % (
                k, " / ".join(fmt(num(r.get(k, {}).get("gbps"))) for r in rounds),
                v.get("threads", "?"))
            for k, v in data.streams.items()) + ".")
    else:
        lines.append("Bandwidth references: none in the harness output.")
    comp = []
    for s in ("numba", "numba_par"):
        # One measurement printed under several names (seed and
        # seed_prepared) counts once.
        seen = {(o.get("median"), o.get("min"), o.get("max"),
                 o.get("compile_ms")): num(o.get("compile_ms"))
                for (w, sy), o in data.py.items()
                if sy == s and num(o.get("compile_ms")) is not None}
        ms = list(seen.values())
        if ms:
            comp.append("%s %s ms (median over %d workloads, max %s ms)" % (
                HEADS[s], fmt(statistics.median(ms)), len(ms),
                fmt(max(ms))))
    st = data.stats or {}
    nk, cms = num(st.get("kernels_compiled")), num(st.get("compile_ms"))
    if nk:
        lines.append("")
        lines.append("arrjit compile time: %d kernels compiled, %s ms each "
                     "on average (%s ms in all); %d loaded from the disk "
                     "cache%s; %d syncs replayed a remembered plan, "
                     "%d of them for a text run again unparsed." % (
                         nk, fmt(cms / nk), fmt(cms),
                         num(st.get("disk_hits")) or 0,
                         " in %s ms" % fmt(num(st.get("disk_load_ms")))
                         if num(st.get("disk_hits")) else "",
                         num(st.get("replays")) or 0,
                         num(st.get("texts_unparsed")) or 0))
    slow = sorted(data.compile.items(), key=lambda kv: -kv[1][1] / kv[1][0])
    if slow:
        lines.append("Longest per kernel, by workload: " + ", ".join(
            "%s %s ms%s" % (w, fmt(ms / k), " (%d kernels)" % k if k > 1 else "")
            for w, (k, ms) in slow[:5]) + ".")
    if comp:
        lines.append("")
        lines.append("Numba compile time (first call less the steady-state "
                     "median, a fresh dispatcher per workload): " +
                     "; ".join(comp) + ".")
    notes = list(data.notes)
    for s in data.skips:
        cols = [HEADS[c] for c in SKIP_COLUMNS.get(s.get("system"),
                                                   [s.get("system")])
                if c in HEADS]
        notes.append("%s skipped (%s): no %s column%s." % (
            s.get("system"), s.get("reason", "no reason given"),
            ", ".join(cols) or s.get("system"), "s" if len(cols) > 1 else ""))
    fails = [r["name"] for r in rows if r["check"] not in (None, "ok")]
    if fails:
        notes.append("arrjit's check failed for: %s." % ", ".join(fails))
    if png_note:
        notes.append(png_note)
    if notes:
        lines.append("")
        lines.append("Notes:")
        lines += ["- " + n for n in notes]
    lines.append(END)
    return lines


def splice(text, block):
    """text with the marked section replaced by (or given) block."""
    lines = text.split("\n")
    b = [i for i, l in enumerate(lines) if l.strip() == BEGIN]
    e = [i for i, l in enumerate(lines) if l.strip() == END]
    if b or e:
        if len(b) != 1 or len(e) != 1 or e[0] < b[0]:
            raise ValueError("markers %s / %s are not one ordered pair"
                             % (BEGIN, END))
        return "\n".join(lines[:b[0]] + block + lines[e[0] + 1:])
    at = next((i for i, l in enumerate(lines) if l.startswith("## ")), None)
    if at is None:  # no heading: at the end
        tail = lines[-1] == ""
        body = lines[:-1] if tail else lines
        return "\n".join(body + [""] + block + ([""] if tail else []))
    return "\n".join(lines[:at] + block + [""] + lines[at:])


def chart(data, rows, path, title):
    """Dot plot: per workload, each system's median relative to arrjit's
    (log scale); beside it, arrjit's % of its bandwidth reference."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base_key = "arrjit" if any(r["arrjit"] for r in rows) else "numpy"
    series = [("hand C", "hand", "k", "|"), ("eager C", "eager", "0.5", "x")]
    style = {"numpy": ("tab:blue", "o"), "numpy_linalg": ("tab:cyan", "o"),
             "numexpr1": ("tab:orange", "v"), "numexpr": ("tab:red", "^"),
             "numba": ("tab:green", "s"), "numba_par": ("tab:purple", "D")}
    series += [(HEADS[s], s) + style[s] for s in data.systems]
    rows = [r for r in rows if (r["arrjit"] if base_key == "arrjit"
                                else r["peers"].get("numpy"))]
    if not rows:
        return "chart: nothing to plot."
    bw = [r for r in rows if r["bw_pct"] is not None]
    h = max(4.0, 1.8 + 0.32 * len(rows))
    fig, axes = plt.subplots(1, 2 if bw else 1, figsize=(13 if bw else 9, h),
                             sharey=True, squeeze=False,
                             gridspec_kw={"width_ratios": [3, 1]} if bw
                             else None)
    ax = axes[0][0]
    ys = list(range(len(rows)))[::-1]  # first workload on top
    for label, key, color, marker in series:
        xs, yy = [], []
        for y, r in zip(ys, rows):
            base = r["arrjit"] if base_key == "arrjit" else r["peers"]["numpy"]
            v = r.get(key) if key in ("hand", "eager") else r["peers"].get(key)
            if v and not (base_key == "numpy" and key == "numpy"):
                xs.append(v / base)
                yy.append(y)
        if xs:
            ax.scatter(xs, yy, label=label, color=color, marker=marker,
                       s=36, zorder=3)
    ax.axvline(1.0, color="k", lw=1.2)
    ax.set_xscale("log")
    ax.set_yticks(ys)
    ax.set_yticklabels(["%s (%s)" % (r["name"], r["unit"]) if
                        r["unit"] == "ns/it" else r["name"] for r in rows])
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.grid(axis="y", alpha=0.15)
    who = "arrjit" if base_key == "arrjit" else "NumPy"
    ax.set_xlabel("time / %s's time (log scale): right of the line, %s is "
                  "faster" % (who, who))
    for y in ys[::2]:  # banding, to follow a row across
        ax.axhspan(y - 0.5, y + 0.5, color="0.95", zorder=0)
    ax.set_ylim(-0.5, len(rows) - 0.5)
    ax.text(1.0, len(rows) - 0.45, " %s" % who, va="bottom", fontsize=8)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.02), ncol=4,
              frameon=False, fontsize=9)
    if bw:
        bx = axes[0][1]
        pos = {r["name"]: y for y, r in zip(ys, rows)}
        bx.barh([pos[r["name"]] for r in bw], [r["bw_pct"] for r in bw],
                color="tab:gray")
        for r in bw:
            bx.text(r["bw_pct"], pos[r["name"]], " %s" % r["bw_ref"],
                    va="center", fontsize=7)
        bx.axvline(100, color="k", lw=0.8, ls=":")
        bx.set_xlabel("arrjit: % of bandwidth ref")
        bx.grid(axis="x", alpha=0.3)
    if base_key != "arrjit":
        title += "\n(no arrjit results: relative to NumPy)"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return None


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="make bench's report")
    ap.add_argument("--arrjit", help="arrjit-bench --json output")
    ap.add_argument("--anchors", help="bench/anchors.py output")
    ap.add_argument("--results", default=os.path.join(here, "RESULTS.md"),
                    help="the Markdown file to update (default %(default)s)")
    ap.add_argument("--png", default=os.path.join(here, "results.png"),
                    help="the chart; '' for none (default %(default)s)")
    ap.add_argument("--command", default="make bench",
                    help="the command line recorded in the report")
    ap.add_argument("--date", default=datetime.datetime.now(
        datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    ap.add_argument("--root", default=os.path.dirname(here),
                    help="the git checkout whose commit is recorded")
    args = ap.parse_args(argv)

    notes = []
    c_lines = read_jsonl(args.arrjit, notes, "arrjit-bench")
    py_lines = read_jsonl(args.anchors, notes, "anchors")
    data = Data(c_lines, py_lines)
    data.notes = notes + data.notes
    rows = [data.row(n) for n in data.order]

    png_note = None
    if args.png:
        try:
            import matplotlib  # noqa: F401
        except ImportError as e:
            png_note = ("no chart (%s not updated): %s (install "
                        "python3-matplotlib)." % (
                            os.path.relpath(args.png, args.root), e))
        else:
            png_note = chart(data, rows, args.png,
                             "arrjit vs hand C and Python peers — %s, %s" % (
                                 args.date, git_commit(args.root)))
    block = section(data, rows, args, png_note)

    text = ""
    if os.path.exists(args.results):
        with open(args.results, encoding="utf-8") as f:
            text = f.read()
    try:
        new = splice(text, block) if text else "\n".join(block) + "\n"
    except ValueError as e:
        warn("%s: %s; left as it is" % (args.results, e))
        return 2
    with open(args.results, "w", encoding="utf-8") as f:
        f.write(new)
    print("\n".join(block[1:-1]))
    print("\nreport: wrote %s%s" % (args.results, ", " + args.png
                                    if args.png and os.path.exists(args.png)
                                    and not png_note else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
