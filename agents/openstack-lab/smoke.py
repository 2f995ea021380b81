"""Smoke check of the lab: a server's lifecycle through the raw Nova API, as the provider (non-admin) user.

create (with tags, microversion 2.90 >= 2.52) -> ACTIVE -> found by tag -> stop -> SHUTOFF -> start -> ACTIVE
-> delete -> 404. Credentials come from the lab's clouds.yaml. Prints one line per step and, at the end,
`N passed, N failed`; exits non-zero on any failure.

Usage (venv python): smoke.py CLOUDS_YAML [CLOUD]
"""

import sys
import time
import uuid

import requests
import yaml

MICROVERSION = "2.90"  # tags at create need >= 2.52
path = sys.argv[1]
cloud = yaml.safe_load(open(path))["clouds"][sys.argv[2] if len(sys.argv) > 2 else "utter-lab"]
auth = cloud["auth"]
results = []
t_all = time.monotonic()


def check(name, ok, detail=""):
    results.append(ok)
    print(f"smoke: {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        finish()


def finish():
    passed = sum(results)
    failed = len(results) - passed
    print(f"smoke: {time.monotonic() - t_all:.1f}s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": auth["username"], "domain": {"name": auth["user_domain_name"]}, "password": auth["password"]}}},
    "scope": {"project": {"name": auth["project_name"], "domain": {"name": auth["project_domain_name"]}}}}}
r = requests.post(auth["auth_url"] + "/auth/tokens", json=body, timeout=30)
check("token (provider user, password)", r.status_code == 201, str(r.status_code))
tok = r.headers["X-Subject-Token"]
roles = [x["name"] for x in r.json()["token"]["roles"]]
check("provider user is not admin", "admin" not in roles, ",".join(roles))
cat = {s["type"]: [e["url"] for e in s["endpoints"] if e["interface"] == "public"][0]
       for s in r.json()["token"]["catalog"]}
nova, glance = cat["compute"], cat["image"]
H = {"X-Auth-Token": tok, "OpenStack-API-Version": f"compute {MICROVERSION}"}

flavors = {f["name"]: f["id"] for f in requests.get(nova + "/flavors", headers=H, timeout=30).json()["flavors"]}
check("flavor utter.small visible", "utter.small" in flavors, ", ".join(sorted(flavors)))
images = requests.get(glance + "/v2/images?name=utter-tiny", headers={"X-Auth-Token": tok}, timeout=30).json()
check("image utter-tiny active", bool(images["images"]) and images["images"][0]["status"] == "active")
image = images["images"][0]["id"]

tag = f"utter-smoke-{uuid.uuid4().hex[:12]}"
server = {"server": {"name": tag, "flavorRef": flavors["utter.small"], "imageRef": image, "networks": "none",
                     "tags": [tag, "chain-31337"], "metadata": {"lease": "42"}}}
r = requests.post(nova + "/servers", headers=H, json=server, timeout=60)
check("create with tags", r.status_code == 202, f"{r.status_code} {r.text[:200] if r.status_code != 202 else ''}")
sid = r.json()["server"]["id"]


def show():
    return requests.get(f"{nova}/servers/{sid}", headers=H, timeout=30).json()["server"]


def wait_for(status, timeout=60):
    t = time.monotonic()
    s = {}
    while time.monotonic() - t < timeout:
        s = show()
        if s["status"] == status and s.get("OS-EXT-STS:task_state") is None:
            return s, time.monotonic() - t
        if s["status"] == "ERROR":
            break
        time.sleep(0.3)
    return s, time.monotonic() - t


s, dt = wait_for("ACTIVE")
check("ACTIVE", s.get("status") == "ACTIVE", f"{s.get('status')} after {dt:.1f}s {s.get('fault') or ''}")
check("tags on the server", sorted(s.get("tags", [])) == sorted([tag, "chain-31337"]), str(s.get("tags")))
found = requests.get(f"{nova}/servers?tags={tag}", headers=H, timeout=30).json()["servers"]
check("listed by tag", [x["id"] for x in found] == [sid], str(found))

for action, want in (("os-stop", "SHUTOFF"), ("os-start", "ACTIVE")):
    r = requests.post(f"{nova}/servers/{sid}/action", headers=H, json={action: None}, timeout=30)
    check(f"{action} accepted", r.status_code == 202, str(r.status_code))
    s, dt = wait_for(want)
    check(f"{action} -> {want}", s.get("status") == want, f"{s.get('status')} after {dt:.1f}s")

r = requests.delete(f"{nova}/servers/{sid}", headers=H, timeout=30)
check("delete accepted", r.status_code == 204, str(r.status_code))
t = time.monotonic()
while time.monotonic() - t < 60:
    r = requests.get(f"{nova}/servers/{sid}", headers=H, timeout=30)
    if r.status_code == 404:
        break
    time.sleep(0.3)
check("gone (404)", r.status_code == 404, f"{r.status_code} after {time.monotonic() - t:.1f}s")
finish()
