#!/usr/bin/env python3
"""Helper for scripts/bench: generates benchmark inputs, times processes, reports.

Subcommands (all output deterministic except the timings):
  gen DIR N                 write DIR/mpm.yaml and DIR/templates/agent_NNNNN.json (N agents)
  change DIR N K [ROUND]    change the instructions of K templates (spread over 1..N);
                            with ROUND, the change names the round, so every round's bytes are new
  restore DIR N K           write those K templates back as `gen` made them
  mutate-files DIR K        change K files in DIR (sorted names, spread), same size
  time OUT LABEL -- CMD...  run CMD (stdout to /dev/null), append "LABEL wall_ms rss_kb" to OUT;
                            exits non-zero (and shows stderr) when CMD fails
  probe DIR                 per-file cost of creating 300 2 KB files in a new folder of DIR,
                            without and with fsync (how busy the file system is right now)
  report RESULTS            print the Markdown table and the PASS/FAIL lines
"""

import os
import random
import statistics
import subprocess
import sys
import time

SCHEMA_VERSION = "1.3.0"
WORDS = (
    "agent code test review change file module function error build deploy "
    "state plan apply target manifest template render hash diff commit branch "
    "issue report check verify config option flag path folder record history "
    "clear small exact safe fast careful simple minimal explicit honest"
).split()
TYPES = ["engineer", "qa", "research", "ops", "security", "documentation"]
COLORS = ["blue", "green", "red", "yellow", "purple", "cyan"]
TOOLSETS = [["Read", "Grep"], ["Read", "Write", "Edit", "Bash"], ["Read", "Grep", "Glob", "LS"]]


def sentence(rng, lo=8, hi=16):
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def instructions(i, changed=False, round_=None):
    """~1.8 KB of markdown, deterministic in i."""
    rng = random.Random(i)
    parts = [f"# Agent {i}\n"]
    parts.append(" ".join(sentence(rng) for _ in range(3)) + "\n")
    section = 0
    while sum(len(p) for p in parts) < 1700:
        section += 1
        parts.append(f"\n## Section {section}\n")
        for n in range(1, 4):
            parts.append(f"{n}. {sentence(rng)}\n")
        parts.append(" ".join(sentence(rng) for _ in range(2)) + "\n")
    if changed:
        # a one-line edit in the middle plus one appended line: a small diff
        mid = len(parts) // 2
        parts[mid] = parts[mid].rstrip("\n") + " (revised for the benchmark)\n"
        parts.append("\nRevision: this template was changed by the benchmark"
                     + (f" (round {round_})" if round_ is not None else "") + ".\n")
    return "".join(parts)


def template(i, changed=False, round_=None):
    import json

    doc = {
        "schema_version": SCHEMA_VERSION,
        "agent_id": f"agent-{i:05d}",
        "agent_version": "1.0.0",
        "agent_type": TYPES[i % len(TYPES)],
        "metadata": {
            "name": f"Agent {i:05d}",
            "description": f"When to use agent {i}: {sentence(random.Random(-i), 6, 10)}",
            "color": COLORS[i % len(COLORS)],
        },
        "capabilities": {"model": "sonnet", "tools": TOOLSETS[i % len(TOOLSETS)]},
        "instructions": instructions(i, changed, round_),
    }
    return json.dumps(doc, indent=2) + "\n"


def tpath(d, i):
    return os.path.join(d, "templates", f"agent_{i:05d}.json")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def changed_indices(n, k):
    k = min(k, n)
    return sorted({1 + (j * n) // k for j in range(k)})


def gen(d, n):
    os.makedirs(os.path.join(d, "templates"), exist_ok=True)
    lines = ["version: 1", "target: { path: out/.claude }", "agents:"]
    for i in range(1, n + 1):
        write(tpath(d, i), template(i))
        lines.append(f"  agent-{i:05d}:")
        lines.append(f"    template: templates/agent_{i:05d}.json")
    write(os.path.join(d, "mpm.yaml"), "\n".join(lines) + "\n")


def change(d, n, k, changed, round_=None):
    for i in changed_indices(n, k):
        write(tpath(d, i), template(i, changed, round_))


def mutate_files(d, k):
    names = sorted(os.listdir(d))
    for j in changed_indices(len(names), k):
        path = os.path.join(d, names[j - 1])
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            mid = len(data) // 2
            data[mid] = ord("X") if data[mid] != ord("X") else ord("Y")
            f.seek(0)
            f.write(data)


def atomic_floor(src, dst):
    """The least an atomic, durable copy of SRC's files into DST can do: each file
    written to a temp and fsynced, from 8 threads; then every temp renamed over its
    file; then one fsync of the directory."""
    from concurrent.futures import ThreadPoolExecutor

    os.makedirs(dst, exist_ok=True)
    names = sorted(os.listdir(src))

    def write(name):
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        tmp = os.path.join(dst, ".tmp." + name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp, os.path.join(dst, name)

    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(write, names))
    for tmp, final in done:
        os.rename(tmp, final)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def probe(parent):
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="mpm-bench-probe.", dir=parent)
    try:
        out = []
        for fsync in (False, True):
            start = time.perf_counter()
            for i in range(300):
                with open(os.path.join(d, f"{int(fsync)}.{i}"), "wb") as f:
                    f.write(b"x" * 2048)
                    if fsync:
                        f.flush()
                        os.fsync(f.fileno())
            out.append((time.perf_counter() - start) / 300 * 1e6)
        print(f"{out[0]:.0f} µs/file; {out[1]:.0f} µs/file")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def time_cmd(out, label, cmd):
    """Wall clock by perf_counter around the whole process; peak RSS by GNU time's %M
    (a child of Python would inherit Python's RSS high-water mark through exec)."""
    rss_file = out + ".rss"
    full = ["/usr/bin/time", "-q", "-o", rss_file, "-f", "%M"] + cmd
    with open(os.devnull, "wb") as devnull, open(out + ".stderr", "wb") as err:
        start = time.perf_counter()
        code = subprocess.call(full, stdout=devnull, stderr=err)
        wall = (time.perf_counter() - start) * 1000.0
    if code != 0:
        sys.stderr.write(f"bench: `{' '.join(cmd)}` exited {code}:\n")
        with open(out + ".stderr", "r", errors="replace") as f:
            sys.stderr.write(f.read()[-4000:])
        sys.exit(1)
    with open(rss_file) as f:
        kb = int(f.read().split()[-1])
    with open(out, "a") as f:
        f.write(f"{label} {wall:.3f} {kb}\n")


# (row label, mpm measurement, floor measurement)
ROWS = [
    ("cold apply", "mpm_cold_apply", "floor_cold"),
    ("no-change plan", "mpm_nochange_plan", "floor_nochange"),
    ("no-change apply", "mpm_nochange_apply", "floor_nochange"),
    ("plan, 10 changed", "mpm_plan_10", "floor_10"),
    ("apply, 10 changed", "mpm_apply_10", "floor_10"),
    ("rollback right after it", "mpm_rollback_10", "floor_10"),
    ("(apply, 10 changed vs rsync -a copying them)", "mpm_apply_10", "floor_10_copy"),
    ("(rollback vs rsync -a copying them back)", "mpm_rollback_10", "floor_10_back"),
    ("(cold apply vs rsync --fsync)", "mpm_cold_apply", "floor_cold_fsync"),
    ("cold apply vs the atomic-write floor", "mpm_cold_apply", "floor_cold_atomic"),
    ("(rsync fixed cost: empty dirs)", None, "floor_empty"),
]
# the rows that are mpm commands measured against their floor (not context rows)
MAIN_ROWS = [r for r in ROWS if r[1] and not r[0].startswith("(")]


def report(path):
    samples = {}  # (n, label) -> [(ms, kb)]
    ns = []
    with open(path) as f:
        for line in f:
            n, label, ms, kb = line.split()
            n = int(n)
            if n not in ns:
                ns.append(n)
            samples.setdefault((n, label), []).append((float(ms), int(kb)))

    def med(n, label):
        s = samples.get((n, label))
        return statistics.median(x[0] for x in s) if s else None

    def runs(n, label):
        return len(samples.get((n, label), []))

    def fmt(x, digits=1):
        return "—" if x is None else f"{x:.{digits}f}"

    head = ["measurement"]
    for n in ns:
        head += [f"N={n} mpm ms", f"N={n} floor ms", f"N={n} ratio"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m, fl in ROWS:
        if not any((n, fl) in samples for n in ns):
            continue
        row = [name]
        for n in ns:
            a, b = (med(n, m) if m else None), med(n, fl)
            row += [fmt(a), fmt(b), "—" if a is None or not b else f"{a / b:.2f}×"]
        out.append("| " + " | ".join(row) + " |")
    # peak RSS and per-agent cost span the three columns of each N
    rss_row = ["mpm peak RSS, MB (max of the mpm runs in this table)"]
    per_row = ["per-agent cost, cold apply ms / N"]
    for n in ns:
        kb = [kb for (nn, label), s in samples.items() if nn == n and label.startswith("mpm_") for _, kb in s]
        rss_row += [fmt(max(kb) / 1024 if kb else None), "", ""]
        c = med(n, "mpm_cold_apply")
        per_row += [fmt(c / n if c is not None else None, 3), "", ""]
    out.append("| " + " | ".join(rss_row) + " |")
    out.append("| " + " | ".join(per_row) + " |")
    print("\n".join(out))
    print()
    print("Spread, ms (min / median / max of the runs), and the command's peak RSS:")
    print()
    labels = []
    for _, m, fl in ROWS:
        for x in (m, fl):
            if x and x not in labels:
                labels.append(x)
    head = ["command"] + [f"N={n}" for n in ns]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label in labels:
        row = [label]
        for n in ns:
            s = sorted(x[0] for x in samples.get((n, label), []))
            kb = max((x[1] for x in samples.get((n, label), [])), default=0)
            row.append(f"{s[0]:.1f} / {statistics.median(s):.1f} / {s[-1]:.1f} ({kb / 1024:.1f} MB)"
                       if s else "—")
        out.append("| " + " | ".join(row) + " |")
    print("\n".join(out))
    print()

    # targets
    verdicts = []

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    if 1000 in ns:
        a, b = med(1000, "mpm_nochange_plan"), med(1000, "floor_nochange")
        verdicts.append(f"- {verdict(a <= 2 * b)}: no-change plan of 1000 agents ≤ 2× the rsync floor "
                        f"({a:.1f} ms vs 2 × {b:.1f} = {2 * b:.1f} ms; ratio {a / b:.2f}×)")
        # fixed costs: the fastest run (rsync's are quantised by its 20 ms exit-polling sleeps)
        empty = [x[0] for (nn, label), s in samples.items() if label == "floor_empty" for x in s]
        small = [x[0] for x in samples.get((40, "mpm_nochange_plan"), [])]
        if empty:
            e = min(empty)
            note = (f"  - for context: rsync alone costs {e:.1f} ms at best on two empty dirs (its exit "
                    f"polls in 20 ms sleeps, so its times come in ~20 ms steps); net of that, its "
                    f"per-file work at N=1000 is {b - e:.1f} ms")
            if small:
                e0 = min(small)
                note += (f"; mpm's no-change plan takes {e0:.1f} ms at best at N=40, so its per-agent "
                         f"work up to N=1000 is {a - e0:.1f} ms ({(a - e0) / max(b - e, 0.1):.1f}× rsync's)")
            verdicts.append(note)
        c = med(1000, "mpm_cold_apply")
        verdicts.append(f"- {verdict(c <= 500)}: cold apply of 1000 agents ≤ 0.5 s including every fsync "
                        f"({c:.1f} ms)")
        f = med(1000, "floor_cold_atomic")
        if f:
            verdicts.append(f"- {verdict(c <= 1.5 * f)}: cold apply of 1000 agents ≤ 1.5× the atomic-write "
                            f"floor beside it ({c:.1f} ms vs {f:.1f} ms; ratio {c / f:.2f}×)")
    else:
        verdicts.append("- n/a: the 1000-agent targets (N=1000 was not run)")
    for n in (1000, 10000):
        a, b = med(n, "mpm_nochange_plan"), med(n, "floor_nochange")
        if a and b:
            verdicts.append(f"- {verdict(a <= 1.2 * b)}: no-change plan of {n} agents ≤ 1.2× the rsync "
                            f"floor ({a:.1f} ms vs {b:.1f} ms; ratio {a / b:.2f}×)")
    if 10000 in ns:
        kb = [kb for (nn, label), s in samples.items()
              if nn == 10000 and label.startswith(("mpm_", *HIST_RUNS, *BIG_RUNS)) for _, kb in s]
        mb = max(kb) / 1024
        verdicts.append(f"- {verdict(mb <= 50)}: peak RSS ≤ 50 MB at 10 000 agents, every command "
                        f"({mb:.1f} MB, max over every mpm run at N=10000, history-growth and "
                        f"large-change runs included)")
        for name, m, _ in MAIN_ROWS:
            s = samples.get((10000, m))
            if s:
                c = max(x[1] for x in s) / 1024
                verdicts.append(f"  - {verdict(c <= 50)}: {name} ({m}): {c:.1f} MB "
                                f"(max of {len(s)} runs; runs: "
                                + ", ".join(f"{x[1] / 1024:.1f}" for x in s) + ")")
        b = large_changes(samples, 10000)
        if b:
            r = b["rounds"]
            for key, name in [("cold", "cold apply"), *[(f"apply_r{k}", f"apply changing all {10000} agents, round {k}")
                                                        for k in range(1, r + 1)],
                              *[(f"plan_r{k}", f"no-change plan after round {k}") for k in range(1, r + 1)],
                              ("restore", "apply restoring all"), ("rollback", "rollback of that"),
                              ("history", "history")]:
                if key in b:
                    c = b[key][1] / 1024
                    verdicts.append(f"  - {verdict(c <= 50)}: {name} (large changes): {c:.1f} MB (1 run)")
        h = history(samples, 10000)
        if h:
            applies = [(g, kb) for g, (_, kb) in h["applies"].items() if g > 1]
            g, c = max(applies, key=lambda x: x[1])
            verdicts.append(f"  - {verdict(c / 1024 <= 50)}: apply, 10 changed or restored, on logs of "
                            f"1–{max(h['applies']) - 1} generations (history growth): {c / 1024:.1f} MB "
                            f"(max of {len(applies)} runs, the one making generation {g})")
            for key, name, _, extra in HIST_LATE:
                if key in h:
                    c = h[key][1] / 1024
                    verdicts.append(f"  - {verdict(c <= 50)}: {name} on the {max(h['applies']) + extra}-"
                                    f"generation log (history growth): {c:.1f} MB (1 run)")
    else:
        verdicts.append("- n/a: peak RSS at 10 000 agents (N=10000 was not run)")
    big = [n for n in ns if n >= 1000]
    if len(big) >= 2:
        lo, hi = min(big), max(big)
        worst = []
        for name, m, _ in MAIN_ROWS:
            a, b = med(lo, m), med(hi, m)
            worst.append((b / a / (hi / lo), name, a / lo, b / hi))
        w = max(worst)
        detail = "; ".join(f"{name}: {a:.3f} → {b:.3f} ms/agent" for _, name, a, b in worst)
        verdicts.append(f"- {verdict(w[0] <= 1.5)}: cost linear in N (per-agent cost at N={hi} within 1.5× of "
                        f"N={lo} for every mpm row; worst {w[1]} at {w[0]:.2f}×) — {detail}")
    else:
        verdicts.append("- n/a: linearity (needs two N ≥ 1000)")
    for n in ns:
        h = history(samples, n)
        if h:
            print_history(n, h)
        b = large_changes(samples, n)
        if b:
            print_big(n, b)
    print("Targets:")
    print("\n".join(verdicts))


# the history-growth runs (see scripts/bench)
HIST_RUNS = ("hist_apply_g", "hist_plan", "hist_rollback", "hist_history")
# (key, name, command, generations in the log it runs on, counted from the last apply's)
HIST_LATE = [("plan", "no-change plan", "mpm plan", 0), ("rollback", "rollback", "mpm rollback -y", 0),
             ("history", "history", "mpm history", 1)]


def history(samples, n):
    """The history-growth samples at N=n: {"applies": {generation: (ms, kb)}, "plan": ..., ...}."""
    applies = {}
    h = {}
    for (nn, label), s in samples.items():
        if nn != n or not label.startswith("hist_"):
            continue
        if label.startswith("hist_apply_g"):
            applies[int(label[len("hist_apply_g"):])] = s[0]
        else:
            h[label[len("hist_"):]] = s[0]
    if not applies:
        return None
    h["applies"] = applies
    return h


BIG_RUNS = ("big_cold", "big_apply_r", "big_plan_r", "big_restore", "big_rollback", "big_history")


def large_changes(samples, n):
    """The large-change samples at N=n: {"cold": (ms, kb), "apply_r1": ..., "rounds": R, ...}."""
    b = {label[len("big_"):]: s[0] for (nn, label), s in samples.items() if nn == n and label.startswith("big_")}
    if "cold" not in b:
        return None
    b["rounds"] = int(b.get("rounds", (0, 0))[1])
    return b


def print_big(n, b):
    r = b["rounds"]
    print(f"Large changes at N={n}: a cold `mpm apply -y` on a new target (generation 1), then {r} rounds "
          f"of: all {n} templates changed (new bytes each round) → `mpm apply -y` → `mpm plan` (no change); "
          f"then all restored → `mpm apply -y`, `mpm rollback -y` (rewrites all {n} again), `mpm history`; "
          f"one run each.")
    print()
    cols = [("cold", "cold apply (g1)")]
    for k in range(1, r + 1):
        cols += [(f"apply_r{k}", f"apply, all changed (g{k + 1})"), (f"plan_r{k}", f"plan after it")]
    cols += [("restore", f"apply, all restored (g{r + 2})"), ("rollback", f"rollback (g{r + 3})"),
             ("history", "history")]
    cols = [(k, name) for k, name in cols if k in b]
    print("| | " + " | ".join(name for _, name in cols) + " |")
    print("|" + "---|" * (len(cols) + 1))
    print("| peak RSS, MB | " + " | ".join(f"{b[k][1] / 1024:.1f}" for k, _ in cols) + " |")
    print("| wall, ms | " + " | ".join(f"{b[k][0]:.0f}" for k, _ in cols) + " |")
    print()
    if "du_db" in b:
        print(f"- state folder after that: sled `db/` {b['du_db'][1] / 1024:.1f} MB, `packs/` "
              f"{b['du_packs'][1] / 1024:.1f} MB (`du -sk`)")
        print()


def slope(points):
    """Least-squares slope of [(x, y)]."""
    mx = statistics.mean(x for x, _ in points)
    my = statistics.mean(y for _, y in points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def print_history(n, h):
    a = h["applies"]
    last = max(a)
    rounds = int(h.get("rounds", (0, 0))[1])
    same = int(h.get("same", (0, 0))[1])
    print(f"History growth at N={n}: a cold `mpm apply -y` on a new target (generation 1), then "
          f"{rounds} rounds of: 10 templates changed → `mpm apply -y` (even generations) → restored → "
          f"`mpm apply -y` (odd generations); "
          + ("the same change every round" if same else "each round's change has new bytes")
          + "; one run each.")
    print()
    gens = [g for g in (1, 2, 3, 5, 10, 20, 30, 40, last) if g in a]
    gens = sorted(set(gens))
    kind = lambda g: "cold" if g == 1 else ("changed" if g % 2 == 0 else "restored")
    print("| generation made by the apply | " + " | ".join(f"{g} ({kind(g)})" for g in gens) + " |")
    print("|" + "---|" * (len(gens) + 1))
    print("| peak RSS, MB | " + " | ".join(f"{a[g][1] / 1024:.1f}" for g in gens) + " |")
    print("| wall, ms | " + " | ".join(f"{a[g][0]:.1f}" for g in gens) + " |")
    print()
    tail = [(g, a[g]) for g in sorted(a) if g > 1]
    rss = [kb / 1024 for _, (_, kb) in tail]
    ms = [m for _, (m, _) in tail]
    rs = slope([(g, kb / 1024) for g, (_, kb) in tail])
    ws = slope([(g, m) for g, (m, _) in tail])
    print(f"- the {len(tail)} applies of 10 files (generations 2–{last}): peak RSS {min(rss):.1f} / "
          f"{statistics.median(rss):.1f} / {max(rss):.1f} MB (min / median / max), least-squares slope "
          f"{rs * 1024:+.0f} KB per generation; wall {min(ms):.1f} / {statistics.median(ms):.1f} / "
          f"{max(ms):.1f} ms, slope {ws:+.2f} ms per generation")
    for key, _, command, extra in HIST_LATE:
        if key in h:
            m, kb = h[key]
            print(f"- then `{command}` on the {last + extra}-generation log: {kb / 1024:.1f} MB, {m:.1f} ms")
    if "du_db" in h:
        print(f"- state folder after that: sled `db/` {h['du_db'][1] / 1024:.1f} MB, `packs/` "
              f"{h['du_packs'][1] / 1024:.1f} MB (`du -sk`)")
    early = [kb for g, (_, kb) in tail if g <= 5]
    late = [kb for g, (_, kb) in tail if g > last - 4]
    diff = (statistics.median(late) - statistics.median(early)) / 1024
    flat = abs(rs) * 1024 <= 50 and abs(diff) <= 2
    print(f"- {'FLAT' if flat else 'GROWING'}: the median RSS of the last 4 applies is {diff:+.1f} MB from "
          f"that of generations 2–5 (flat: within ±2 MB, and a slope within ±50 KB per generation)")
    print()


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "gen":
        gen(argv[2], int(argv[3]))
    elif cmd == "change":
        change(argv[2], int(argv[3]), int(argv[4]), True, int(argv[5]) if len(argv) > 5 else None)
    elif cmd == "restore":
        change(argv[2], int(argv[3]), int(argv[4]), False)
    elif cmd == "mutate-files":
        mutate_files(argv[2], int(argv[3]))
    elif cmd == "time":
        if argv[4] != "--":
            sys.exit("usage: time OUT LABEL -- CMD...")
        time_cmd(argv[2], argv[3], argv[5:])
    elif cmd == "atomic-floor":
        atomic_floor(argv[2], argv[3])
    elif cmd == "probe":
        probe(argv[2])
    elif cmd == "report":
        report(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
