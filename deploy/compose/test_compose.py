#!/usr/bin/env python3
"""Runs deploy/compose/compose.yaml with podman (no compose tool is installed here) and checks
each PLC answers on its published port.

    test_compose.py IMAGE PROTOS7_BINARY [COMPOSE_FILE]      (as root; CI: tools/test.sh)

Each service becomes the `podman run` a compose tool would make of it: image (replaced by IMAGE),
command, user, sysctls, cap_drop, read_only, stop_signal, stop_grace_period, ports, named volumes,
healthcheck. A key this translation does not know fails the test, so the file cannot grow a
setting nobody ran. Checked: each container runs, `protos7 health localhost:<published port>`
exits 0, its healthcheck command passes (podman healthcheck run), and it stops with exit 0.
Exit 0 pass, 1 fail, 77 skipped (not root, no podman).
"""
import json
import os
import shutil
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN = {"image", "command", "user", "sysctls", "cap_drop", "read_only", "stop_signal",
         "stop_grace_period", "restart", "healthcheck", "ports", "volumes"}
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def podman(*args, check_rc=True):
    p = subprocess.run(["podman", "--runtime", "/usr/sbin/runc", *args], capture_output=True,
                       text=True, timeout=120)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {p.stderr.strip()[-1500:]}")
    return p


def run_args(project, name, svc, image):
    unknown = set(svc) - KNOWN
    if unknown:
        raise RuntimeError(f"{name}: keys the test does not translate: {sorted(unknown)}")
    a = ["run", "-d", "--name", f"{project}-{name}", "--user", svc["user"]]
    for k, v in svc.get("sysctls", {}).items():
        a += ["--sysctl", f"{k}={v}"]
    for c in svc.get("cap_drop", []):
        a += ["--cap-drop", c]
    if svc.get("read_only"):
        a += ["--read-only"]
    a += ["--stop-signal", svc["stop_signal"], "--stop-timeout", svc["stop_grace_period"].rstrip("s")]
    for p in svc.get("ports", []):
        a += ["-p", p]
    for v in svc.get("volumes", []):
        vol, path = v.split(":", 1)
        a += ["-v", f"{project}-{vol}:{path}"]
    hc = svc["healthcheck"]["test"]
    if hc[0] != "CMD":
        raise RuntimeError(f"{name}: the image has no shell: healthcheck test must be [CMD, ...]")
    a += ["--health-cmd", json.dumps(hc[1:])]  # exec form, as compose's [CMD, ...]
    return a + [image, *svc["command"]]


def healthy(binary, port, tries=50):
    for _ in range(tries):
        if subprocess.run([binary, "health", f"127.0.0.1:{port}", "--timeout", "1s"],
                          capture_output=True).returncode == 0:
            return True
        time.sleep(0.2)
    return False


def main():
    # podman as these machines need it (deploy/oci/containers.conf: no default ulimits, cgroupfs).
    os.environ.setdefault("CONTAINERS_CONF", os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "oci", "containers.conf"))
    if os.geteuid() != 0 or shutil.which("podman") is None:
        print("skipped: needs root and podman")
        return 77
    image, binary = sys.argv[1], os.path.abspath(sys.argv[2])
    path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "compose.yaml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    project = "protos7compose"
    names = list(doc["services"])
    try:
        for name in names:
            podman(*run_args(project, name, doc["services"][name], image))
        for name in names:
            svc = doc["services"][name]
            host_port = svc["ports"][0].split(":")[0]
            check(healthy(binary, host_port), f"{name}: protos7 health 127.0.0.1:{host_port} exits 0")
            hc = podman("healthcheck", "run", f"{project}-{name}", check_rc=False)
            check(hc.returncode == 0, f"{name}: its healthcheck passes ({hc.stdout.strip() or hc.stderr.strip()})")
        for name in names:
            podman("stop", f"{project}-{name}")
            rc = podman("inspect", f"{project}-{name}", "--format", "{{.State.ExitCode}}").stdout.strip()
            check(rc == "0", f"{name}: exit 0 after podman stop")
    finally:
        for name in names:
            podman("rm", "-f", f"{project}-{name}", check_rc=False)
        for vol in doc.get("volumes", {}):
            podman("volume", "rm", "-f", f"{project}-{vol}", check_rc=False)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
