#!/usr/bin/env python3
"""Benchmark `mpm version bump --dry-run` on a long history, against git itself.

Makes a repository (with `git fast-import`, in a temp dir, never the repo) of
--agents templates and --commits commits, each changing one or two templates with a
Conventional Commit message (feat, fix, perf, docs, a few breaking, a few that do not
parse), some of them releases that bump a template's `agent_version`. Then, in one
run, times:

  git log       `git log --format=%H%x00%B --name-only` over the whole history: one
                walk with each commit's changed paths (the floor: what any tool must read)
  per-path git  `git log --format=%H%x00%B -- <template>` once per template: what a
                script like claude-mpm's manage_version.py runs, and still without the
                version lookups
  mpm           `mpm version bump --dry-run` (finds each template's last version
                change, classifies the commits since, computes the next version)

medians of --runs runs and ratios to `git log`.

  scripts/bench_version.py                        # 50 agents, 5 000 commits
  scripts/bench_version.py --agents 10 --commits 500 --runs 3
  MPM=path/to/mpm (default target/release/mpm)
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

KINDS = ["feat", "fix", "fix", "perf", "docs", "chore", "refactor"]


def template(name, version, body):
    return json.dumps(
        {
            "schema_version": "1.3.0",
            "agent_id": f"{name}-agent",
            "agent_version": version,
            "agent_type": "engineer",
            "metadata": {"name": name, "description": f"Use for {name} work"},
            "capabilities": {"model": "sonnet", "tools": ["Read", "Grep"]},
            "instructions": body,
        },
        indent=2,
    ) + "\n"


def blob(out, path, text):
    data = text.encode()
    out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")


def generate(repo, agents, commits, seed):
    rnd = random.Random(seed)
    names = [f"agent-{i:03}" for i in range(agents)]
    versions = {n: [1, 0, 0] for n in names}
    bodies = {n: f"Work on {n}." for n in names}
    manifest = "version: 1\nagents:\n" + "".join(
        f"  {n}:\n    template: templates/{n}.json\n" for n in names
    )
    out = []
    t = 1_700_000_000
    for i in range(commits + 1):
        t += 600
        if i == 0:
            message, touched = "chore: the agents", names
        else:
            touched = rnd.sample(names, 2 if rnd.random() < 0.1 else 1)
            roll = rnd.random()
            if roll < 0.05:
                message = f"Update {touched[0]}"
            elif roll < 0.08:
                message = f"feat({touched[0]})!: a new contract\n\nBREAKING CHANGE: callers change"
            elif roll < 0.13:
                v = versions[touched[0]]
                v[1] += 1
                v[2] = 0
                message = f"chore(release): {touched[0]} {'.'.join(map(str, v))}"
            else:
                kind = rnd.choice(KINDS)
                message = f"{kind}({touched[0]}): change {i}\n\nWhy it changed, at some length.\n"
            for n in touched:
                bodies[n] += f" Step {i}."
        data = message.encode()
        head = f"commit refs/heads/main\nmark :{i + 1}\ncommitter Bench <b@example.com> {t} +0000\ndata {len(data)}\n".encode()
        out.append(head + data + b"\n")
        if i > 0:
            out.append(f"from :{i}\n".encode())
        else:
            blob(out, "mpm.yaml", manifest)
            blob(out, ".gitignore", "/.claude/\n")
        for n in touched:
            blob(out, f"templates/{n}.json", template(n, ".".join(map(str, versions[n])), bodies[n]))
        out.append(b"\n")
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=env)
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(out), cwd=repo, check=True, env=env)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True, env=env)
    return names, env


def timed(cmds, cwd, env, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for cmd in cmds:
            subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--commits", type=int, default=5000)
    p.add_argument("--runs", type=int, default=11)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    mpm = os.path.abspath(os.environ.get("MPM", "target/release/mpm"))
    if not os.access(mpm, os.X_OK):
        sys.exit(f"no mpm at {mpm}: cargo build --release, or set MPM")
    with tempfile.TemporaryDirectory(prefix="mpm-bench-version-") as tmp:
        repo = os.path.join(tmp, "pack")
        names, env = generate(repo, a.agents, a.commits, a.seed)
        env = dict(env, HOME=tmp, NO_COLOR="1")
        out = subprocess.run([mpm, "version", "bump", "--dry-run"], cwd=repo, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"mpm failed:\n{out.stderr}")
        bumped = sum(1 for line in out.stdout.splitlines() if "→" in line)
        fmt = "--format=%H%x00%B"
        floor = timed([["git", "log", fmt, "--name-only"]], repo, env, a.runs)
        per_path = timed([["git", "log", fmt, "--", f"templates/{n}.json"] for n in names], repo, env, a.runs)
        ours = timed([[mpm, "version", "bump", "--dry-run"]], repo, env, a.runs)
        print(f"{a.agents} agents, {a.commits} commits, {bumped} agents to bump; medians of {a.runs} runs")
        for label, t in [("git log (floor)", floor), ("per-path git log", per_path), ("mpm version bump", ours)]:
            print(f"  {label:<18} {t * 1000:8.1f} ms  {t / floor:5.2f}x")


if __name__ == "__main__":
    main()
