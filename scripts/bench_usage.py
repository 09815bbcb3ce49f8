#!/usr/bin/env python3
"""Benchmark `mpm usage daily --json` against `cat` (the floor) and ccusage.

Generates a corpus of transcripts shaped like the ones Claude Code 2.1.330 writes
(the line types and sizes seen in real sessions: queue-operation, user, attachment,
api-request-shape, api-request-blob, api-request, assistant, tools-used,
last-prompt, cost-state; subagent files with their meta.json; a streamed answer's
line written twice; resumed sessions that copy earlier messages), over 30 days, then
in one run times:

  cat          every transcript to /dev/null (the floor)
  mpm cold     `mpm usage daily --json` with an empty cache (reads all, writes the index)
  ccusage      `ccusage daily --json --offline` (CLAUDE_CONFIG_DIR set)
  mpm warm     `mpm usage daily --json` with the index warm, after one new session
               was appended
  hook         `mpm hook budget --daily-usd 100 --warning-threshold 0.8` fed the
               UserPromptSubmit JSON Claude Code writes on its stdin, with the index
               warm except for one session appended just before each run (a fresh
               file each run: every run starts from "warm + one new session"),
               against two floors in the same run: `mpm --version` (the same
               binary's start) and `cat` of the appended file; --hook-runs runs

medians of --runs runs (at least 3), ratios to `cat`, peak RSS; and checks that mpm's
and ccusage's token totals agree. The corpus goes to a temp dir (never the repo).

  scripts/bench_usage.py --size 500          # ~500 MB, the figures in docs/performance.md
  scripts/bench_usage.py --size 20 --runs 3  # a quick run
  --ccusage PATH  ccusage's binary (default: installs ccusage@20.0.24 with npm into a
                  temp prefix outside the repo)
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

DAY_MS = 86_400_000
MODELS = [("claude-opus-5-5", 0.6), ("claude-sonnet-5-5", 0.3), ("claude-haiku-5-5", 0.1)]


def filler(rng, n):
    """Text of about n bytes, as a JSON string holds it."""
    words = ["the", "agent", "file", "read", "tool", "result", "function", "return",
             "value", "error", "line", "test", "config", "path", "change", "build"]
    out, size = [], 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def iso(ms):
    t = time.gmtime(ms / 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


class Session:
    def __init__(self, rng, sid, start_ms):
        self.rng, self.sid, self.ms = rng, sid, start_ms
        self.lines = []
        self.requests = 0

    def add(self, obj):
        self.lines.append(json.dumps(obj, separators=(",", ":")))

    def tick(self):
        self.ms += self.rng.randint(500, 20_000)
        return iso(self.ms)

    def turn(self, model, agent_id=None, counter=None):
        rng = self.rng
        side = agent_id is not None
        common = {"isSidechain": side, "sessionId": self.sid, "version": "2.1.330",
                  "cwd": "/home/dev/proj", "gitBranch": "main"}
        if agent_id:
            common["agentId"] = agent_id
        self.add({"parentUuid": str(uuid.UUID(int=rng.getrandbits(128))), **common,
                  "type": "user", "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                  "timestamp": self.tick(),
                  "message": {"role": "user", "content": [{"type": "text", "text": filler(rng, rng.randint(200, 2000))}]}})
        for _ in range(rng.randint(0, 3)):
            self.add({"parentUuid": None, **common, "type": "attachment", "timestamp": self.tick(),
                      "attachment": {"type": "file", "content": filler(rng, int(rng.expovariate(1 / 3000)) + 300)}})
        if rng.random() < 0.05:
            self.add({"type": "api-request-shape", "sessionId": self.sid, "timestamp": self.tick(),
                      "shape": {"system": filler(rng, rng.randint(15_000, 40_000))}})
        self.add({"type": "api-request-blob", "sessionId": self.sid, "hash": "%032x" % rng.getrandbits(128),
                  "message": {"role": "user", "content": filler(rng, rng.randint(500, 8000))}})
        self.add({"type": "api-request", "sessionId": self.sid, "id": "%x" % rng.getrandbits(64),
                  "timestamp": self.tick(), "version": "2.1.330", "params": {"max_tokens": 32000},
                  "cacheControl": {"type": "ephemeral"}})
        counter[0] += 1
        n = counter[0]
        write = rng.randint(0, 20_000)
        usage = {"input_tokens": rng.randint(1, 5000), "cache_creation_input_tokens": write,
                 "cache_read_input_tokens": rng.randint(0, 150_000), "output_tokens": rng.randint(10, 3000),
                 "service_tier": "standard",
                 # as the API reports it: the cache write split by lifetime
                 "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": write},
                 "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0}, "speed": "standard"}
        line = {"parentUuid": str(uuid.UUID(int=rng.getrandbits(128))), **common,
                "message": {"id": "msg_%s_%d" % (self.sid[:8], n), "type": "message", "role": "assistant",
                            "model": model, "content": [{"type": "text", "text": filler(rng, rng.randint(100, 1500))}],
                            "stop_reason": "end_turn", "stop_sequence": None, "usage": usage},
                "requestId": "req_%s_%d" % (self.sid[:8], n), "type": "assistant",
                "uuid": str(uuid.UUID(int=rng.getrandbits(128))), "timestamp": self.tick()}
        self.add(line)
        self.requests += 1
        if rng.random() < 0.15:
            # a streamed answer with a second content block: the same message again
            self.lines.append(self.lines[-1])
        return usage


def make_corpus(root, size_mb, seed):
    rng = random.Random(seed)
    projects = os.path.join(root, "projects")
    now_ms = int(time.time() * 1000)
    target = size_mb * 1_000_000
    written = files = 0
    earlier = []  # (slug, lines of assistant messages) for resumed sessions
    while written < target:
        slug = "-home-dev-proj%d" % rng.randint(1, 40)
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        start = now_ms - rng.randint(0, 30) * DAY_MS - rng.randint(0, DAY_MS // 2)
        s = Session(rng, sid, start)
        model = rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]
        counter = [0]
        s.add({"type": "queue-operation", "operation": "enqueue", "timestamp": iso(start), "sessionId": sid})
        if earlier and rng.random() < 0.1:
            # a resumed session: the client copies earlier messages into the new file
            s.lines.extend(rng.choice(earlier))
        for _ in range(int(rng.expovariate(1 / 12)) + 2):
            s.turn(model, counter=counter)
        subagents = []
        if rng.random() < 0.4:
            for k in range(rng.randint(1, 3)):
                aid = "a%016x" % rng.getrandbits(64)
                sub = Session(rng, sid, s.ms)
                for _ in range(rng.randint(2, 10)):
                    sub.turn("claude-sonnet-5-5", agent_id=aid, counter=counter)
                subagents.append((aid, rng.choice(["qa", "engineer", "research", "ops"]), sub))
        s.add({"type": "last-prompt", "lastPrompt": "go", "sessionId": sid})
        s.add({"type": "cost-state", "sessionId": sid, "totalCostUSD": 0.0, "modelUsage": {}})
        d = os.path.join(projects, slug)
        os.makedirs(d, exist_ok=True)
        text = "\n".join(s.lines) + "\n"
        with open(os.path.join(d, sid + ".jsonl"), "w") as f:
            f.write(text)
        written += len(text)
        files += 1
        asst = [l for l in s.lines if '"type":"assistant"' in l]
        earlier.append(asst[: rng.randint(1, max(1, len(asst)))])
        earlier = earlier[-50:]
        for aid, kind, sub in subagents:
            sd = os.path.join(d, sid, "subagents")
            os.makedirs(sd, exist_ok=True)
            text = "\n".join(sub.lines) + "\n"
            with open(os.path.join(sd, "agent-%s.jsonl" % aid), "w") as f:
                f.write(text)
            with open(os.path.join(sd, "agent-%s.meta.json" % aid), "w") as f:
                json.dump({"agentType": kind, "isBuiltIn": False, "model": "claude-sonnet-5-5",
                           "spawnDepth": 1, "finished": True}, f)
            written += len(text)
            files += 1
    # a cost-state whose figures are zero would be the client's word: drop them, so
    # that mpm prices by the table as ccusage does
    for dirpath, _, names in os.walk(projects):
        for n in names:
            if n.endswith(".jsonl"):
                p = os.path.join(dirpath, n)
                with open(p) as f:
                    lines = [l for l in f if '"type":"cost-state"' not in l]
                with open(p, "w") as f:
                    f.writelines(lines)
    return files, written


def all_files(root):
    out = []
    for dirpath, _, names in os.walk(os.path.join(root, "projects")):
        out += [os.path.join(dirpath, n) for n in names if n.endswith(".jsonl")]
    return sorted(out)


def timed(cmd, env=None, stdout=subprocess.DEVNULL, stdin=None, ok=(0, 3, 4)):
    """Seconds, peak RSS in MB (GNU time's: the command's own, not the forked
    Python's), and stdout when asked; `stdin`: bytes fed to the command."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], env=env,
                           input=stdin, stdout=stdout, stderr=subprocess.PIPE)
        took = time.perf_counter() - start
        kb = int(rss.read().split()[-1])
    if p.returncode not in ok:
        sys.exit("%s failed (%d): %s" % (cmd[0], p.returncode, p.stderr.decode(errors="replace")[:2000]))
    return took, kb / 1024, p.stdout


def new_session(cfg, seed, turns=40):
    """One session shaped like the others, started an hour ago (today's spend), in a
    project of its own; its path."""
    rng = random.Random(seed)
    sid = str(uuid.UUID(int=rng.getrandbits(128)))
    s = Session(rng, sid, int(time.time() * 1000) - 3_600_000)
    s.add({"type": "queue-operation", "operation": "enqueue", "timestamp": iso(s.ms), "sessionId": sid})
    for _ in range(turns):
        s.turn("claude-opus-5-5", counter=[seed * 1000])
    s.add({"type": "last-prompt", "lastPrompt": "go", "sessionId": sid})
    d = os.path.join(cfg, "projects", "-home-dev-new")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, sid + ".jsonl")
    with open(path, "w") as f:
        f.write("\n".join(s.lines) + "\n")
    return sid, path


def hook_input(sid, path):
    """What Claude Code writes on a UserPromptSubmit hook's stdin."""
    return json.dumps({"session_id": sid, "transcript_path": path, "cwd": "/home/dev/new",
                       "permission_mode": "default", "hook_event_name": "UserPromptSubmit",
                       "prompt": "go on"}).encode()


def bench_hook(mpm_bin, cfg, env, cache, runs):
    """The hook's medians and the floors', measured interleaved in one run."""
    menv = dict(env, XDG_CACHE_HOME=cache)
    # warm the index on the corpus as it is
    timed([mpm_bin, "usage", "daily", "--json", "--config-dir", cfg], env=menv)
    hook = [mpm_bin, "hook", "budget", "--daily-usd", "100", "--warning-threshold", "0.8"]
    results = {k: [] for k in ("hook", "mpm --version", "cat new session")}
    rss = {k: 0.0 for k in results}
    codes, added = set(), []
    for i in range(runs):
        sid, path = new_session(cfg, 5000 + i)
        added.append(path)
        took, mem, _ = timed(["cat", path], env=menv)
        results["cat new session"].append(took)
        rss["cat new session"] = max(rss["cat new session"], mem)
        took, mem, _ = timed([mpm_bin, "--version"], env=menv)
        results["mpm --version"].append(took)
        rss["mpm --version"] = max(rss["mpm --version"], mem)
        took, mem, out = timed(hook, env=menv, stdin=hook_input(sid, path),
                               stdout=subprocess.PIPE, ok=(0, 2))
        results["hook"].append(took)
        rss["hook"] = max(rss["hook"], mem)
        codes.add(out.decode(errors="replace").strip() or "(silent)")
    # what it decided, once more untimed: its exit code and what the client would show
    last = subprocess.run(hook, env=menv, input=hook_input(sid, path), capture_output=True)
    codes.add("exit %d %s" % (last.returncode, (last.stdout + last.stderr).decode(errors="replace").strip()))
    for path in added:
        os.remove(path)
    return results, rss, codes


def ccusage_bin(given):
    if given:
        return given
    prefix = tempfile.mkdtemp(prefix="ccusage-")
    subprocess.run(["npm", "install", "--prefix", prefix, "ccusage@20.0.24"], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(prefix, "node_modules", ".bin", "ccusage")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=500, help="corpus size in MB (default 500)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--hook-runs", type=int, default=11)
    ap.add_argument("--mpm", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "mpm"))
    ap.add_argument("--ccusage")
    ap.add_argument("--keep", action="store_true", help="keep the corpus (its path is printed)")
    args = ap.parse_args()
    runs = max(3, args.runs)
    work = tempfile.mkdtemp(prefix="mpm-usage-bench-")
    cfg = os.path.join(work, "cfg")
    try:
        t0 = time.time()
        files, size = make_corpus(cfg, args.size, args.seed)
        print("corpus: %d files, %.0f MB (made in %.0f s) in %s" % (files, size / 1e6, time.time() - t0, cfg))
        cc = ccusage_bin(args.ccusage)
        env = dict(os.environ, CLAUDE_CONFIG_DIR=cfg, TZ="UTC")
        env.pop("MPM_BUDGET_DAILY_USD", None)
        env.pop("CLAUDE_AGENT_DAILY_BUDGET_USD", None)
        paths = all_files(cfg)
        mpm = [args.mpm, "usage", "daily", "--json", "--config-dir", cfg]
        results = {k: [] for k in ("cat", "mpm cold", "ccusage", "mpm warm")}
        rss = {k: 0.0 for k in results}
        mpm_out = cc_out = None
        for i in range(runs):
            took, mem, _ = timed(["cat", *paths])
            results["cat"].append(took)
            rss["cat"] = max(rss["cat"], mem)
            cache = os.path.join(work, "cache-%d" % i)
            menv = dict(env, XDG_CACHE_HOME=cache)
            took, mem, out = timed(mpm, env=menv, stdout=subprocess.PIPE)
            results["mpm cold"].append(took)
            rss["mpm cold"] = max(rss["mpm cold"], mem)
            mpm_out = out
            took, mem, out = timed([cc, "daily", "--json", "--offline"], env=env, stdout=subprocess.PIPE)
            results["ccusage"].append(took)
            rss["ccusage"] = max(rss["ccusage"], mem)
            cc_out = out
            # the index is warm; a new session comes
            rng = random.Random(1000 + i)
            sid = str(uuid.UUID(int=rng.getrandbits(128)))
            s = Session(rng, sid, int(time.time() * 1000) - 3_600_000)
            for _ in range(40):
                s.turn("claude-opus-5-5", counter=[i * 1000])
            d = os.path.join(cfg, "projects", "-home-dev-new")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, sid + ".jsonl"), "w") as f:
                f.write("\n".join(s.lines) + "\n")
            took, mem, out = timed(mpm, env=menv, stdout=subprocess.PIPE)
            results["mpm warm"].append(took)
            rss["mpm warm"] = max(rss["mpm warm"], mem)
            # the new session goes again, for the next round's cold runs to match
            os.remove(os.path.join(d, sid + ".jsonl"))
            shutil.rmtree(cache)
        floor = statistics.median(results["cat"])
        print("\n| what | median (s) | runs | × cat | peak RSS (MB) |")
        print("|---|---|---|---|---|")
        for k, v in results.items():
            m = statistics.median(v)
            print("| %s | %.3f | %s | %.1f | %.0f |" % (k, m, " ".join("%.3f" % x for x in v), m / floor, rss[k]))
        hres, hrss, said = bench_hook(args.mpm, cfg, env, os.path.join(work, "cache-hook"),
                                      max(3, args.hook_runs))
        print("\n| hook, warm + one new session | median (ms) | runs (ms) | peak RSS (MB) |")
        print("|---|---|---|---|")
        for k, v in hres.items():
            print("| %s | %.1f | %s | %.1f |" % (k, statistics.median(v) * 1000,
                                               " ".join("%.1f" % (x * 1000) for x in v), hrss[k]))
        hook_m = statistics.median(hres["hook"])
        print("hook: %.1f x `mpm --version`, %.1f x `cat` of the new session; it said: %s" % (
            hook_m / statistics.median(hres["mpm --version"]),
            hook_m / statistics.median(hres["cat new session"]), " | ".join(sorted(said))))
        mine = json.loads(mpm_out)["total"]
        theirs = json.loads(cc_out)["totals"]
        pairs = [("input_tokens", "inputTokens"), ("output_tokens", "outputTokens"),
                 ("cache_creation_input_tokens", "cacheCreationTokens"), ("cache_read_input_tokens", "cacheReadTokens")]
        agree = all(mine[a] == theirs[b] for a, b in pairs)
        print("\ntoken totals: mpm %s, ccusage %s: %s" % (
            [mine[a] for a, _ in pairs], [theirs[b] for _, b in pairs], "agree" if agree else "DIFFER"))
        print("cost: mpm $%.2f (%s), ccusage $%.2f (LiteLLM's prices)" % (
            mine["cost_usd"] or 0, mine["cost_source"], theirs.get("totalCost", 0)))
        if not agree:
            sys.exit(1)
    finally:
        if args.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
