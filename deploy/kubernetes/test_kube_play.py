#!/usr/bin/env python3
"""Plays deploy/kubernetes/protos7.yaml with `podman kube play` and reads every PLC.

    test_kube_play.py IMAGE PROTOS7_BINARY [MANIFEST]       (as root; CI: tools/test.sh)

podman 4.3 (Debian 12) plays Pods, Deployments, PersistentVolumeClaims and ConfigMaps, not
StatefulSets or Services. So the file is played as Kubernetes would run it: the ConfigMap as it
is, and for each replica of the StatefulSet the PersistentVolumeClaim its volumeClaimTemplate
makes (data-plc-N) and the pod plc-N from its template (hostname plc-N, the claim mounted, the
image replaced by IMAGE); the headless Service, which only names the pods in DNS, is left out.
One more change for podman: it publishes every containerPort on the host too, so the ports list
is dropped (each pod still serves on its own address) and the probes name the port by number.
Nothing else is changed: security context, probes, resources, arguments and the configuration
file are the manifest's.

Checked for every pod: it runs as uid 65534 with no capability but NET_BIND_SERVICE, serves S7 on
port 102 of its own address (`protos7 health`, and node-snap7 through interop/plc_check.js when
interop/setup.sh has run), answers the readiness/liveness endpoint (GET /healthz on the
metrics port) with 200, and /metrics counts the requests made. `podman kube down` stops them all
(within the grace period) and the volumes are removed. Exit 0 pass, 1 fail, 77 skipped.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNTIME = ["--runtime", "/usr/sbin/runc"]
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def podman(*args, check_rc=True, timeout=180):
    p = subprocess.run(["podman", *RUNTIME, *args], capture_output=True, text=True, timeout=timeout)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {p.stderr.strip()[-2000:]}")
    return p


def playable(docs, image):
    """The documents podman kube play takes, made from the manifest as a StatefulSet would."""
    out, names = [], []
    for d in docs:
        if d["kind"] == "ConfigMap":
            out.append(d)
        elif d["kind"] == "StatefulSet":
            sts = d
    spec = sts["spec"]
    for n in range(spec["replicas"]):
        name = f"{sts['metadata']['name']}-{n}"
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": copy.deepcopy(spec["template"]["metadata"]),
               "spec": copy.deepcopy(spec["template"]["spec"])}
        pod["metadata"]["name"] = name
        pod["spec"]["hostname"] = name
        pod["spec"]["subdomain"] = spec["serviceName"]
        for c in pod["spec"]["containers"]:
            c["image"] = image
            # podman 4.3 publishes every containerPort on the host as well (hostPort =
            # containerPort), which several pods cannot share: the list goes, and the probes'
            # named ports become the numbers they name.
            numbers = {p["name"]: p["containerPort"] for p in c.pop("ports", [])}
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                get = c.get(probe, {}).get("httpGet")
                if get and get["port"] in numbers:
                    get["port"] = numbers[get["port"]]
        for t in spec.get("volumeClaimTemplates", []):
            claim = f"{t['metadata']['name']}-{name}"
            out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": claim}, "spec": copy.deepcopy(t["spec"])})
            pod["spec"].setdefault("volumes", []).append(
                {"name": t["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
        out.append(pod)
        names.append(name)
    return out, names


def container_of(pod):
    return f"{pod}-protos7"


def wait_running(name, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p = podman("inspect", container_of(name), "--format",
                   "{{.State.Status}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                   check_rc=False)
        parts = p.stdout.split()
        if p.returncode == 0 and len(parts) == 2 and parts[0] == "running":
            return parts[1]
        time.sleep(0.2)
    return None


def http(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read().decode()


def check_pod(name, ip, binary):
    pid = podman("inspect", container_of(name), "--format", "{{.State.Pid}}").stdout.strip()
    with open(f"/proc/{pid}/status") as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    check(status["Uid"].split()[0] == "65534", f"{name}: runs as uid 65534")
    check(status["CapEff"].strip() == "0000000000000400", f"{name}: only CAP_NET_BIND_SERVICE")
    ok = False
    for _ in range(50):
        if subprocess.run([binary, "health", f"{ip}:102", "--timeout", "1s"],
                          capture_output=True).returncode == 0:
            ok = True
            break
        time.sleep(0.2)
    check(ok, f"{name}: protos7 health {ip}:102 exits 0")
    snap7 = os.path.join(REPO, "interop", "node_modules", "node-snap7")
    if os.path.isdir(snap7):
        p = subprocess.run(["node", os.path.join(REPO, "interop", "plc_check.js"), ip, "102"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"{name}: node-snap7 reads and writes: {(p.stdout or p.stderr).strip()}")
    else:
        print(f"skip  {name}: node-snap7 (run interop/setup.sh)")
    status_code, body = http(f"http://{ip}:9102/healthz")
    check(status_code == 200 and json.loads(body)["status"] == "ok", f"{name}: GET /healthz 200")
    _, text = http(f"http://{ip}:9102/metrics")
    setups = [l for l in text.splitlines()
              if l.startswith('protos7_requests_total{function="setup_communication"}')]
    check(setups and float(setups[0].split()[-1]) >= 1, f"{name}: /metrics counts the clients")


def main():
    # podman as these machines need it (deploy/oci/containers.conf: no default ulimits, cgroupfs).
    os.environ.setdefault("CONTAINERS_CONF", os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "oci", "containers.conf"))
    if os.geteuid() != 0 or shutil.which("podman") is None:
        print("skipped: needs root and podman")
        return 77
    image, binary = sys.argv[1], os.path.abspath(sys.argv[2])
    manifest = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "protos7.yaml")
    with open(manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    check({d["kind"] for d in docs} == {"ConfigMap", "Service", "StatefulSet"},
          "manifest: ConfigMap, Service, StatefulSet")
    play, pods = playable(docs, image)
    tmp = tempfile.mkdtemp(prefix="protos7-kube.")
    path = os.path.join(tmp, "play.yaml")
    with open(path, "w") as f:
        yaml.safe_dump_all(play, f, sort_keys=False)
    # Volumes podman made of the claims and the ConfigMap (kube down keeps them): none from an
    # earlier run may stay, stale DB files or an old protos7.conf would be played.
    volumes = [d["metadata"]["name"] for d in play if d["kind"] in ("PersistentVolumeClaim", "ConfigMap")]

    def remove_volumes():
        for v in volumes:
            podman("volume", "rm", "-f", v, check_rc=False)

    try:
        podman("kube", "down", path, check_rc=False)
        remove_volumes()
        t0 = time.monotonic()
        podman("kube", "play", path)
        ips = {p: wait_running(p) for p in pods}
        print(f"      {len(pods)} pods running after {time.monotonic() - t0:.1f} s: {ips}")
        for p in pods:
            if check(ips[p] is not None, f"{p}: running"):
                check_pod(p, ips[p], binary)
        t0 = time.monotonic()
        podman("kube", "down", path, timeout=120)
        check(time.monotonic() - t0 < 15, f"kube down in {time.monotonic() - t0:.1f} s")
    finally:
        podman("kube", "down", path, check_rc=False)
        remove_volumes()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
