#!/usr/bin/env python3
"""bench_registry [N]  —  resolving and fetching N agents (default 200) from registries.

In one temp dir: N agent files (`agents/agent-NNNNN.md`, frontmatter with a version),
published three ways:
  - an index registry made by `mpm registry build` in `reg/`, read as a folder;
  - the same `reg/` served by a real HTTP server on 127.0.0.1 (python's http.server,
    started here), when this mpm has HTTP;
  - a git repository `src/` tagged v1.0.0 (for mpm's git registry, when this mpm has
    one, and for agpm side by side, when `agpm` is on PATH: `cargo install agpm-cli`).
Then, whole processes timed (wall clock around the process, peak RSS by GNU time):
  cold     `mpm apply -y` into an empty target, no mpm.lock, an empty cache;
  warm     the same with the cache left by the cold run (mpm.lock removed again);
  locked   `mpm apply -y --locked` into an empty target with mpm.lock present
           (no index read) and a warm cache;
  no-change `mpm plan --locked` after an apply;
  agpm     `agpm --no-progress install --quiet`: fresh cache, warm cache, no change.
The runs of one measurement alternate with its peer's, so both see the same load.
Prints a Markdown table of medians (and min–max), and ratios against agpm.

Environment: MPM (the binary; default target/release/mpm), BENCH_RUNS (default 5),
BENCH_KEEP=1 (keep the temp dir).
"""

import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPM = os.environ.get("MPM", os.path.join(ROOT, "target", "release", "mpm"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
AGPM = shutil.which("agpm")


def agent(i):
    return (
        f"---\nname: agent-{i:05d}\ndescription: Use for task {i}\nversion: 1.0.0\n"
        f"model: sonnet\n---\nYou are agent {i}. "
        + " ".join(f"Step {k}: check the work of part {i * 7 + k}." for k in range(12))
        + "\n"
    )


def run(cmd, cwd, env):
    """Wall seconds and peak RSS (KB) of one process; fails loudly."""
    full = ["/usr/bin/time", "-f", "%M", *cmd]
    t0 = time.perf_counter()
    p = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench_registry: {' '.join(cmd)} failed in {cwd}:\n{p.stdout}\n{p.stderr}")
    rss = int(p.stderr.strip().splitlines()[-1])
    return wall, rss


def git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@x")
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


class Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server would

    def log_message(self, *args):
        pass


def serve(directory):
    handler = partial(Quiet, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def has(feature_probe_dir, env, manifest):
    """Whether this mpm can plan `manifest` (a kind of registry it may not have yet)."""
    with open(os.path.join(feature_probe_dir, "mpm.yaml"), "w") as f:
        f.write(manifest)
    p = subprocess.run([MPM, "plan"], cwd=feature_probe_dir, env=env, capture_output=True)
    return p.returncode == 0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    work = tempfile.mkdtemp(prefix="mpm-bench-registry-")
    try:
        bench(n, work)
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench(n, work):
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "agents"))
    for i in range(n):
        with open(os.path.join(src, "agents", f"agent-{i:05d}.md"), "w") as f:
            f.write(agent(i))
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-qm", "agents")
    git(src, "tag", "v1.0.0")
    reg = os.path.join(work, "reg")
    subprocess.run([MPM, "registry", "build", src, "--out", reg], check=True, capture_output=True)
    server = serve(reg)
    url = f"http://127.0.0.1:{server.server_address[1]}/index.json"

    home = os.path.join(work, "home")
    os.makedirs(home)
    env = dict(os.environ, HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"), NO_COLOR="1")
    env.pop("CLAUDE_CONFIG_DIR", None)

    def manifest(registry):
        lines = ["version: 1", "registries:", f"  r: {registry}", "agents:"]
        lines += [f"  agent-{i:05d}: {{ registry: r }}" for i in range(n)]
        return "\n".join(lines) + "\n"

    kinds = [("index, folder", f"{{ index: {reg}/index.json }}")]
    probe = os.path.join(work, "probe")
    os.makedirs(probe)
    if has(probe, env, manifest(f"{{ index: \"{url}\" }}")):
        kinds.append(("index, HTTP", f"{{ index: \"{url}\" }}"))
    if has(probe, env, manifest(f"{{ git: \"file://{src}\", ref: v1.0.0 }}")):
        kinds.append(("git (file://)", f"{{ git: \"file://{src}\", ref: v1.0.0 }}"))
    shutil.rmtree(os.path.join(home, ".cache"), ignore_errors=True)

    results = {}
    for label, registry in kinds:
        proj = os.path.join(work, "proj-" + label.split()[0].strip(",") + str(len(results)))
        os.makedirs(proj)
        with open(os.path.join(proj, "mpm.yaml"), "w") as f:
            f.write(manifest(registry))
        rows = {"cold": [], "warm": [], "locked": [], "no-change": []}
        for _ in range(RUNS):
            for what in ("cold", "warm", "locked"):
                shutil.rmtree(os.path.join(proj, ".claude"), ignore_errors=True)
                if what != "locked" and os.path.exists(os.path.join(proj, "mpm.lock")):
                    os.remove(os.path.join(proj, "mpm.lock"))
                if what == "cold":
                    shutil.rmtree(os.path.join(home, ".cache", "mpm"), ignore_errors=True)
                args = [MPM, "apply", "-y"] + (["--locked"] if what == "locked" else [])
                rows[what].append(run(args, proj, env))
            rows["no-change"].append(run([MPM, "plan", "--locked"], proj, env))
        results["mpm, " + label] = rows

    if AGPM:
        proj = os.path.join(work, "agpm-project")
        os.makedirs(proj)
        cache = os.path.join(work, "agpm-cache")
        cfg = os.path.join(work, "agpm-config.toml")
        with open(cfg, "w") as f:
            f.write("[upgrade]\ncheck_on_startup = false\n")
        with open(os.path.join(proj, "agpm.toml"), "w") as f:
            f.write(f'[sources]\nbench = "file://{src}"\n[agents]\n'
                    f'all = {{ source = "bench", path = "agents/*.md", version = "v1.0.0" }}\n')
        aenv = dict(env, AGPM_CACHE_DIR=cache, AGPM_CONFIG_PATH=cfg)
        rows = {"cold": [], "warm": [], "no-change": []}
        cmd = [AGPM, "--no-progress", "install", "--quiet"]
        for _ in range(RUNS):
            for what in ("cold", "warm"):
                shutil.rmtree(os.path.join(proj, ".claude"), ignore_errors=True)
                for lock in ("agpm.lock", "agpm.private.lock"):
                    if os.path.exists(os.path.join(proj, lock)):
                        os.remove(os.path.join(proj, lock))
                if what == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                rows[what].append(run(cmd, proj, aenv))
            rows["no-change"].append(run(cmd, proj, aenv))
        results["agpm 0.4 (git, file://)"] = rows
    server.shutdown()

    print(f"\nResolving and fetching {n} agents, medians of {RUNS} (min–max), wall ms / peak RSS MB\n")
    cols = ["cold", "warm", "locked", "no-change"]
    print("| tool, registry | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    med = {}
    for name, rows in results.items():
        cells = []
        for c in cols:
            if c not in rows:
                cells.append("–")
                continue
            walls = [w * 1000 for w, _ in rows[c]]
            rss = max(r for _, r in rows[c]) / 1024
            m = statistics.median(walls)
            med[(name, c)] = m
            cells.append(f"{m:.0f} ({min(walls):.0f}–{max(walls):.0f}) / {rss:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    agpm = next((k for k in results if k.startswith("agpm")), None)
    if agpm:
        print("\nRatios, mpm / agpm (median wall; below 1 is faster):\n")
        for name in results:
            if name == agpm:
                continue
            parts = []
            for c, peer in (("cold", "cold"), ("warm", "warm"), ("no-change", "no-change")):
                if (name, c) in med and (agpm, peer) in med:
                    parts.append(f"{c} {med[(name, c)] / med[(agpm, peer)]:.2f}×")
            print(f"- {name}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
