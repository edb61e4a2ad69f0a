#!/usr/bin/env python3
"""Runs every example of README.md as written and checks its exit status.

    tools/readme_test.py PROTOS7_BINARY [README.md]

Every command line of a ```sh block must end with a comment saying what it does, and the test
holds it to that:

    # exit N ...        run; the exit status must be N
    # serves ...        start it, wait until it says it is serving, run the rest of the block
                        against it, then stop it with SIGINT (Ctrl+C): it must exit 0 within 5 s
    # not run: WHY      the one kind of line not run (the CI command itself); WHY is required

A line without one of these fails the test, so no example goes unchecked. `export VAR=...` lines
run too and set VAR for the lines after them. Outputs of `--json ... > FILE` must parse as one
JSON document or as JSON lines.

The examples run in the repository root, as a reader runs them (`../shared` holds the shared
captures). Files and directories they create there (dump.json, protos7-data/, ...) are removed
afterwards: every path `git status --ignored` did not list before the run. The directory of
PROTOS7_BINARY comes first on PATH (as the README tells a reader to arrange), and HOME is a
scratch directory (the install example writes to ~/.local).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ANNOTATION = re.compile(r"#\s*(exit\s+(\d+)|serves\b|not run:\s*\S.*)")


def blocks(readme):
    """The ```sh blocks: lists of (line number, command line) with continuations joined."""
    out, cur, in_sh, pending, start = [], [], False, "", 0
    for n, line in enumerate(open(readme, encoding="utf-8"), 1):
        s = line.rstrip("\n")
        if s.strip().startswith("```"):
            if in_sh:
                out.append(cur)
                cur, in_sh = [], False
            elif s.strip() == "```sh":
                in_sh = True
            continue
        if not in_sh or not s.strip():
            continue
        if not pending:
            start = n
        if s.endswith("\\"):
            pending += s[:-1] + " "
            continue
        cur.append((start, pending + s))
        pending = ""
    return out


def split_comment(line):
    """(command, annotation match) of a line `command   # comment`."""
    m = None
    for cand in ANNOTATION.finditer(line):
        m = cand
    if m is None:
        return line.strip(), None
    return line[: m.start()].strip(), m


def untracked(repo):
    """Top-level paths git does not track (untracked or ignored), as `git status` lists them."""
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=normal"],
                         cwd=repo, capture_output=True, text=True, errors="replace", check=True).stdout
    return {l[3:].rstrip("/") for l in out.splitlines() if l[:2] in ("??", "!!")}


def check_json_output(cmd, cwd):
    m = re.search(r"--json\b.*>\s*(\S+)\s*$", cmd)
    if not m:
        return None
    path = os.path.join(cwd, m.group(1))
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f if l.strip()]
    if not lines:
        return f"{m.group(1)} is empty"
    try:  # one JSON document (a report) ...
        json.loads("".join(lines))
        return None
    except ValueError:
        pass  # ... or JSON lines (dump --json)
    for i, l in enumerate(lines, 1):
        try:
            json.loads(l)
        except ValueError as e:
            return f"{m.group(1)} line {i} is not JSON ({e}): {l[:80]!r}"
    return None


class Server:
    def __init__(self, cmd, cwd, env):
        self.cmd = cmd
        self.log = open(os.path.join(env["HOME"], f"server-{time.monotonic_ns()}.log"), "w+")
        self.p = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=cwd, env=env,
                                  stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_serving(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.poll() is not None:
                return f"exited with {self.p.returncode} before serving:\n{self.text()}"
            if "serving;" in self.text():
                return None
            time.sleep(0.1)
        return f"did not say it is serving within {timeout} s:\n{self.text()}"

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
                return "did not stop within 5 s of SIGINT"
        if self.p.returncode != 0:
            return f"exited with {self.p.returncode} after SIGINT:\n{self.text()}"
        return None


def run_block(block, work, env, failures):
    servers = []
    try:
        for n, line in block:
            cmd, ann = split_comment(line)
            if not cmd:
                continue
            where = f"README.md:{n}: {cmd}"
            if ann is None:
                failures.append(f"{where}: no '# exit N', '# serves' or '# not run: why'")
                continue
            what = ann.group(1)
            if what.startswith("not run"):
                print(f"  skip  {cmd}   ({what})")
                continue
            if what.startswith("serves"):
                s = Server(cmd, work, env)
                err = s.wait_serving(180)
                print(f"  serve {cmd}" + ("" if err is None else "   FAILED"))
                if err is not None:
                    failures.append(f"{where}: {err}")
                    s.stop()
                else:
                    servers.append((where, s))
                continue
            want = int(ann.group(2))
            if cmd.startswith("export "):
                var = cmd.split()[1].split("=", 1)[0]
                p = subprocess.run(["bash", "-c", f'{cmd} && printf %s "${var}"'], cwd=work, env=env,
                                   capture_output=True, text=True, errors="replace", timeout=60)
                if p.returncode == 0:
                    env[var] = p.stdout
            else:
                try:
                    p = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True,
                                       text=True, errors="replace", timeout=900)
                except subprocess.TimeoutExpired:
                    failures.append(f"{where}: still running after 900 s")
                    continue
            ok = p.returncode == want
            bad_json = check_json_output(cmd, work) if ok and want == 0 else None
            print(f"  exit {p.returncode:<3} {cmd}" + ("" if ok and not bad_json else "   FAILED"))
            if not ok:
                failures.append(f"{where}: exit {p.returncode}, README says {want}\n"
                                f"    stdout: {p.stdout[-800:]}\n    stderr: {p.stderr[-1500:]}")
            elif bad_json:
                failures.append(f"{where}: {bad_json}")
    finally:
        for where, s in reversed(servers):
            err = s.stop()
            if err is not None:
                failures.append(f"{where}: {err}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = sys.argv[2] if len(sys.argv) > 2 else os.path.join(repo, "README.md")
    before = untracked(repo)
    home = tempfile.mkdtemp(prefix="protos7-readme-home.")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(binary) + os.pathsep + env.get("PATH", "")
    env["HOME"] = home  # ~/.local of the install example stays out of the real home
    failures, count = [], 0
    try:
        for b in blocks(readme):
            count += len(b)
            run_block(b, repo, env, failures)
    finally:
        made = sorted(untracked(repo) - before)
        if made:
            print("  removing what the examples made: " + " ".join(made))
        for path in made:
            full = os.path.join(repo, path)
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full, ignore_errors=True)
            elif os.path.lexists(full):
                os.remove(full)
        shutil.rmtree(home, ignore_errors=True)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    print(f"README examples: {count} lines, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
