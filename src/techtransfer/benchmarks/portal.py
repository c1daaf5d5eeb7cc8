"""``techtransfer bench portal --records 100000``: the portal under load, on a scratch database.

1. A scratch SQLite database (or ``--database-url``) is migrated and filled with ``--records``
   achievements, one organization per 100 of them and one demand per 5, their texts recombined
   from the CSL papers shipped with the demo (titles and abstract sentences of different papers,
   so that every record is different but reads like a real one).
2. gunicorn serves it with the production settings (``TECHTRANSFER_PRODUCTION=1``, DEBUG off,
   manifest static files; TLS redirect off because the benchmark speaks plain HTTP on loopback).
3. wrk (Debian's package) sends ``--clients`` concurrent connections for ``--duration`` seconds
   to each page, anonymously and then with a logged-in session (which no page cache serves),
   beside a bare Django page on the same server. It prints p50/p95 latency and requests/s.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from techtransfer.devtools.pgtest import free_port

LUA = Path(__file__).resolve().parent / "wrk_report.lua"
P95_TARGET_MS = 200.0
ANONYMOUS_SHARE_TARGET = 0.25


def scratch_env(scratch: Path, database_url: str | None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "techtransfer.settings",
            "TECHTRANSFER_PRODUCTION": "1",
            "TECHTRANSFER_DEBUG": "0",
            "TECHTRANSFER_SECRET_KEY": "bench-" + "k" * 60,
            "TECHTRANSFER_SSL_REDIRECT": "0",
            "TECHTRANSFER_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TECHTRANSFER_VAR_DIR": str(scratch),
            "TECHTRANSFER_BENCH_BARE": "1",
            "TECHTRANSFER_LOG_LEVEL": "ERROR",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def run(cmd: list[str], env: dict) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench: command failed: {' '.join(cmd)}")
    return done.stdout


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"bench: server did not answer {url} within {timeout:.0f} s")


def wrk(base: str, paths: list[str], clients: int, duration: int, cookie: str = "") -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
        paths_file = f.name
    env = dict(os.environ, WRK_PATHS=paths_file, WRK_COOKIE=cookie)
    threads = min(2, clients)
    cmd = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(clients),
        "-d",
        f"{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        base,
    ]
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(paths_file)
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    return json.loads(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="techtransfer bench portal", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="number of achievements (default 100000)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent connections (default 20)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per page (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--database-url", default=None, help="use this (empty) database instead of scratch SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    scratch = Path(tempfile.mkdtemp(prefix="techtransfer-bench-"))
    port = free_port()
    env = scratch_env(scratch, args.database_url)
    python = sys.executable
    server = None
    try:
        t0 = time.monotonic()
        run([python, "-m", "techtransfer.cli", "migrate", "--noinput", "-v0"], env)
        run([python, "-m", "techtransfer.cli", "load_codes"], env)
        filled = json.loads(run([python, "-m", "techtransfer.benchmarks.fill", str(args.records)], env))
        run([python, "-m", "techtransfer.cli", "collectstatic", "--noinput", "-v0"], env)
        fill_seconds = time.monotonic() - t0
        print(
            f"已生成：科技成果 {filled['achievements']} 条、技术需求 {filled['demands']} 条、"
            f"单位 {filled['organizations']} 家"
            f"（{fill_seconds:.0f} 秒；文本由 CSL 论文的标题与摘要句重新组合而成）"
        )
        server = subprocess.Popen(
            [
                python, "-m", "gunicorn", "techtransfer.wsgi:application",
                "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
                "--log-level", "error",
            ],
            env=env,
            start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/bench/bare/")
        rng = random.Random(7)
        details = [
            f"/achievements/{i}/" for i in rng.sample(filled["published_ids"], min(500, len(filled["published_ids"])))
        ]
        api_details = [f"/api/v1/achievements?page={rng.randint(1, 50)}" for _ in range(50)]
        terms = filled["search_terms"]
        pages = [
            ("裸 Django 页面（对照）", ["/bench/bare/"]),
            ("首页", ["/"]),
            ("筛选列表", [f"/achievements/?field={f}&readiness_min=5" for f in filled["fields"]]),
            ("关键词搜索", [f"/achievements/?q={urllib.request.quote(t)}" for t in terms]),
            ("详情页", details),
            ("API 列表", api_details),
        ]
        # Warm every worker's caches and connections once.
        for _, paths in pages:
            for p in paths[:3]:
                urllib.request.urlopen(base + p, timeout=30).read()
        print(f"\n并发 {args.clients} 个连接，每页 {args.duration} 秒，gunicorn {args.workers} 个工作进程，生产设置")
        header = f"{'页面':<14}{'访问者':<8}{'p50 ms':>9}{'p95 ms':>9}{'请求/秒':>10}{'相对裸页面':>10}{'错误':>6}"
        print(header)
        results = []
        bare_rps = None
        for name, paths in pages:
            for who, cookie in [("匿名", ""), ("登录", filled["session_cookie"])]:
                if name.startswith("裸") and who == "登录":
                    continue
                r = wrk(base, paths, args.clients, args.duration, cookie)
                if bare_rps is None:
                    bare_rps = r["rps"]
                ratio = r["rps"] / bare_rps if bare_rps else 0
                r.update(page=name, who=who, ratio=ratio)
                results.append(r)
                print(
                    f"{name:<14}{who:<8}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['rps']:>10.0f}"
                    f"{ratio:>10.2f}{r['errors'] + r['non2xx']:>6}"
                )
        pages_only = [r for r in results if not r["page"].startswith("裸")]
        worst_p95 = max(r["p95_ms"] for r in pages_only)
        anon_min = min(r["ratio"] for r in pages_only if r["who"] == "匿名")
        print(
            f"\n目标：所有页面 p95 ≤ {P95_TARGET_MS:.0f} ms —— 实测最差 {worst_p95:.1f} ms，"
            f"{'达标' if worst_p95 <= P95_TARGET_MS else '未达标'}"
        )
        print(
            f"目标：匿名访问吞吐 ≥ 裸页面的 {ANONYMOUS_SHARE_TARGET:.0%} —— 实测最低 {anon_min:.0%}，"
            f"{'达标' if anon_min >= ANONYMOUS_SHARE_TARGET else '未达标'}"
        )
        print(json.dumps({"records": args.records, "results": results}, ensure_ascii=False))
        return 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
