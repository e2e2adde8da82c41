"""The rt backend against curl on the same Request Tracker: time and requests per command.

Usage (from a checkout, no installation needed; not a pytest test; needs ``curl``)::

    python bench/rt_bench.py                              # the RT of tests/rt/setup_rt.sh
    python bench/rt_bench.py --url http://127.0.0.1:8097 --runs 9
    python bench/rt_bench.py --repo /tmp/old-checkout     # the same, for an older supportctl

For each command — ``tickets reply``, ``close``, ``update --priority``, ``list --scope org
--limit 20`` and ``show`` — it runs, alternately, after one unmeasured warm-up pair:

- **supportctl**: ``python -m supportctl --backend rt`` from ``--repo`` (a fresh process,
  credentials ``root:password`` in ``SUPPORTCTL_TOKEN``), and counts the requests it made
  (its ``-v`` lines);
- **curl**: the REST2 calls that command needs, each a ``curl`` process as a shell script
  would make them, with one login first (``POST /NoAuth/Login.html``) and RT's session
  cookie and a ``Referer`` after it — RT's own fast path, the one a careful script uses.

It prints the medians (and min–max) side by side and their ratio. SPEC's target: a reply
within 1.5× curl's. Every ticket it acts on is one it created, in the queue given by
``--queue`` (default: ``SUPPORTCTL_RT_QUEUE``, else ``General``); closes and replies go
to a fresh ticket each run. HOME and the config are a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USER, PASSWORD = "root", "password"


class Bench:
    def __init__(self, url: str, repo: Path, queue: str, work: Path) -> None:
        self.url = url.rstrip("/")
        self.rest = self.url + "/REST/2.0"
        self.repo = repo
        self.queue = queue
        self.jar = work / "cookies"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SUPPORTCTL_")},
            "HOME": str(work),
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_DATA_HOME": str(work / "data"),
            "SUPPORTCTL_CONFIG": str(work / "config.toml"),
            "SUPPORTCTL_TOKEN": f"{USER}:{PASSWORD}",
            "SUPPORTCTL_RT_QUEUE": queue,
            "PYTHONPATH": str(repo),
        }

    # -- the two sides -----------------------------------------------------------------------
    def supportctl(self, *args: str, verbose: bool = False) -> tuple[float, str, int]:
        cmd = [sys.executable, "-m", "supportctl", "--backend", "rt", "--url", self.url]
        started = time.perf_counter()
        done = subprocess.run(
            [*cmd, *(["-v"] if verbose else []), *args],
            capture_output=True, text=True, env=self.env, cwd=self.repo, check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"rt_bench: supportctl {' '.join(args)} failed: {done.stderr.strip()}")
        requests = sum(
            1
            for line in done.stderr.splitlines()
            if line.startswith("supportctl: ") and line.split()[1] in ("GET", "POST", "PUT")
        )
        return elapsed, done.stdout, requests

    def curl(self, calls: list[tuple[str, str, dict | None]]) -> float:
        """Log in once, then each call with the session cookie, one curl each."""
        self.jar.unlink(missing_ok=True)
        started = time.perf_counter()
        self._curl(
            [
                "-c",
                str(self.jar),
                "-d",
                f"user={USER}&pass={PASSWORD}",
                f"{self.url}/NoAuth/Login.html",
            ]
        )
        for method, path, body in calls:
            args = ["-b", str(self.jar), "-H", f"Referer: {self.url}/", "-X", method]
            if body is not None:
                args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
            self._curl([*args, self.rest + path])
        return time.perf_counter() - started

    @staticmethod
    def _curl(args: list[str]) -> None:
        done = subprocess.run(
            ["curl", "-s", "-f", "-o", "/dev/null", *args], capture_output=True, check=False
        )
        if done.returncode != 0:
            sys.exit(f"rt_bench: curl {' '.join(args[-1:])} failed (exit {done.returncode})")

    # -- fixtures ----------------------------------------------------------------------------
    def new_ticket(self) -> str:
        _, out, _ = self.supportctl(
            "tickets", "create", "--subject", "rt_bench", "-m", "created by bench/rt_bench.py"
        )
        return out.strip()

    def queue_id(self) -> str:
        done = subprocess.run(
            ["curl", "-s", "-u", f"{USER}:{PASSWORD}", f"{self.rest}/queue/{self.queue}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return str(json.loads(done.stdout)["id"])


def median(values: list[float]) -> str:
    return f"{statistics.median(values):6.3f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=f"http://127.0.0.1:{os.environ.get('SUPPORTCTL_RT_PORT', '8097')}"
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="the supportctl checkout to run")
    parser.add_argument("--queue", default=os.environ.get("SUPPORTCTL_RT_QUEUE") or "General")
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp:
        bench = Bench(options.url, options.repo.resolve(), options.queue, Path(tmp))
        queue = bench.queue_id()
        shown = bench.new_ticket()
        bench.supportctl("tickets", "reply", shown, "-m", "a reply to show")
        sql = "Status != 'deleted'"
        fields = "Subject,Status,Queue,Owner,Requestor,Cc,Priority,Created,LastUpdated,Resolved,CustomFields"
        listing = f"/tickets?query={sql.replace(' ', '%20').replace(chr(39), '%27').replace('!', '%21')}&orderby=Created&order=DESC&fields={fields}&fields%5BQueue%5D=Name&page=1&per_page=100"
        reply = {"Content": "bench reply", "ContentType": "text/plain"}
        figures: list[tuple[str, object, object]] = [
            # (label, supportctl args (or a function of a fresh ticket), curl calls)
            ("tickets reply ID -m …", lambda t: ("tickets", "reply", t, "-m", "bench reply"),
             lambda t: [("GET", f"/ticket/{t}", None), ("POST", f"/ticket/{t}/correspond", reply)]),
            ("tickets close ID", lambda t: ("tickets", "close", t),
             lambda t: [("GET", f"/ticket/{t}", None), ("PUT", f"/ticket/{t}", {"Status": "resolved"}),
                        ("GET", f"/ticket/{t}", None)]),
            ("tickets update ID --priority high", lambda t: ("tickets", "update", t, "--priority", "high"),
             lambda t: [("GET", f"/user/{USER}", None), ("GET", f"/ticket/{t}", None),
                        ("GET", f"/queue/{queue}", None), ("PUT", f"/ticket/{t}", {"Priority": 75}),
                        ("GET", f"/ticket/{t}", None)]),
            ("tickets list --scope org --limit 20", lambda t: ("tickets", "list", "--scope", "org", "--limit", "20"),
             lambda t: [("GET", f"/user/{USER}", None), ("GET", listing, None)]),
            ("tickets show ID", lambda t: ("tickets", "show", shown),
             lambda t: [("GET", f"/ticket/{shown}", None), ("GET", f"/queue/{queue}", None),
                        ("GET", f"/ticket/{shown}/history?fields=Type,Creator,Created,Field,OldValue,NewValue&page=1&per_page=100", None),
                        ("GET", f"/ticket/{shown}/attachments?fields=Filename,ContentType,ContentLength,TransactionId,Content&page=1&per_page=100", None),
                        ("GET", f"/user/{USER}", None)]),
        ]  # fmt: skip
        print(f"rt_bench: {options.url}, supportctl from {bench.repo}, {options.runs} runs each")
        print(f"{'command':38} {'requests':>8}  {'supportctl':>22}  {'curl (session)':>22}  ratio")
        for label, ours, theirs in figures:
            changes = label.split()[1] in ("reply", "close", "update")
            _, _, requests = bench.supportctl(*ours(bench.new_ticket()), verbose=True)
            mine, curls = [], []
            for run in range(options.runs + 1):  # the first pair warms up
                ticket = bench.new_ticket() if changes else shown
                elapsed, _, _ = bench.supportctl(*ours(ticket))
                other = bench.new_ticket() if changes else shown
                taken = bench.curl(theirs(other))
                if run:
                    mine.append(elapsed)
                    curls.append(taken)
            ratio = statistics.median(mine) / statistics.median(curls)
            print(
                f"{label:38} {requests:>8}  {median(mine):>22}  {median(curls):>22}  {ratio:4.2f}x"
            )


if __name__ == "__main__":
    main()
