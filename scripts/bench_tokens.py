#!/usr/bin/env python3
"""bench_tokens [N]  —  token counts in the plan, for N template agents (default 1000).

In one temp dir: N claude-mpm templates and an mpm.yaml (scripts/bench_gen.py gen),
applied once (untimed). Then whole processes, timed (wall clock around the process,
peak RSS by GNU time when it is there), each a no-change plan:
  floor    `mpm plan`: no counts, the tokenizer never built;
  cold     `mpm plan --tokens` with an empty download cache (a new XDG_CACHE_HOME
           each run): every agent read back from the target and tokenized;
  cached   `mpm plan --tokens` with the cache the cold runs filled: a hit per agent;
  limit    `mpm plan` with MPM_BUDGET_MAX_PROMPT_TOKENS set, cached (the same work);
  before   `mpm plan` by the binary MPM_BASE (the mpm before token counts), when set.
The runs of one round alternate between the measurements, so all see the same load.
Prints a Markdown table of medians (min–max) and the ratios to the floor.

Environment: MPM (default target/release/mpm), MPM_BASE, BENCH_RUNS (default 5),
BENCH_KEEP=1 (keep the temp dir).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPM = os.environ.get("MPM", os.path.join(ROOT, "target", "release", "mpm"))
BASE = os.environ.get("MPM_BASE")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def run(cmd, cwd, env):
    """Wall milliseconds and peak RSS (kB, or None) of one process."""
    rss_file = os.path.join(cwd, ".rss")
    full = [GNU_TIME, "-f", "%M", "-o", rss_file] + cmd if GNU_TIME else cmd
    start = time.perf_counter()
    done = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        sys.exit(f"bench_tokens: {' '.join(cmd)} failed:\n{done.stderr.decode()}")
    rss = None
    if GNU_TIME:
        with open(rss_file) as f:
            rss = int(f.read().strip().splitlines()[-1])
    return wall, rss


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    work = tempfile.mkdtemp(prefix="mpm-bench-tokens-")
    try:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_gen.py"), "gen", work, str(n)], check=True)
        env = dict(os.environ, HOME=os.path.join(work, "home"), NO_COLOR="1")
        env.pop("MPM_BUDGET_MAX_PROMPT_TOKENS", None)
        env.pop("MPM_BUDGET_MAX_LISTING_TOKENS", None)
        os.makedirs(env["HOME"], exist_ok=True)
        warm = dict(env, XDG_CACHE_HOME=os.path.join(work, "warm-cache"))
        subprocess.run([MPM, "apply", "-y"], cwd=work, env=warm, check=True, stdout=subprocess.DEVNULL)
        # the cache the cached runs read, filled once
        subprocess.run([MPM, "plan", "--tokens"], cwd=work, env=warm, check=True, stdout=subprocess.DEVNULL)
        limit = dict(warm, MPM_BUDGET_MAX_PROMPT_TOKENS="100000")
        samples = {}
        for r in range(RUNS):
            cold = dict(env, XDG_CACHE_HOME=os.path.join(work, f"cold-cache-{r}"))
            rounds = [
                ("floor", [MPM, "plan"], warm),
                ("cold", [MPM, "plan", "--tokens"], cold),
                ("cached", [MPM, "plan", "--tokens"], warm),
                ("limit", [MPM, "plan"], limit),
            ]
            if BASE:
                rounds.append(("before", [BASE, "plan"], warm))
            for label, cmd, e in rounds:
                samples.setdefault(label, []).append(run(cmd, work, e))
        floor = statistics.median(w for w, _ in samples["floor"])
        print(f"{n} agents, {RUNS} runs each (medians; min–max)\n")
        print("| no-change plan | wall ms | vs floor | peak RSS MB |")
        print("|---|---|---|---|")
        for label, runs in samples.items():
            walls = [w for w, _ in runs]
            rss = [m for _, m in runs if m is not None]
            med = statistics.median(walls)
            mem = f"{statistics.median(rss) / 1000:.1f}" if rss else "–"
            print(f"| {label} | {med:.1f} ({min(walls):.1f}–{max(walls):.1f}) | {med / floor:.2f}× | {mem} |")
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
