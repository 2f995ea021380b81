"""Smoke check of the lab: a server's lifecycle through the raw Nova API, as the provider (non-admin) user.

create (with tags, microversion 2.90 >= 2.52) -> ACTIVE -> found by tag -> stop -> SHUTOFF -> start -> ACTIVE
-> delete -> 404; then a server on the Neutron stub's network `private`: ACTIVE with a port (device_id = the
server) whose fixed IP is in 10.0.0.0/24 and shows under `addresses.private`, a floating IP associated to
that port (shows in `addresses` too: the stub sends Nova `network-changed`), disassociated (gone) and
associated again, delete -> 404, the port gone and the floating IP disassociated (then released). Credentials come
from the lab's clouds.yaml. Prints one line per step and, at the end, `N passed, N failed`; exits non-zero
on any failure.

Usage (venv python): smoke.py CLOUDS_YAML [CLOUD]
"""

import ipaddress
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
neutron = cat["network"].rstrip("/").removesuffix("/v2.0") + "/v2.0"
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



def delete_and_wait(sid):
    r = requests.delete(f"{nova}/servers/{sid}", headers=H, timeout=30)
    check("delete accepted", r.status_code == 204, str(r.status_code))
    t = time.monotonic()
    while time.monotonic() - t < 60:
        r = requests.get(f"{nova}/servers/{sid}", headers=H, timeout=30)
        if r.status_code == 404:
            break
        time.sleep(0.3)
    check("gone (404)", r.status_code == 404, f"{r.status_code} after {time.monotonic() - t:.1f}s")


delete_and_wait(sid)

# A server on the stub's `private` network: Nova creates, binds and deletes its port through Neutron's API.
NH = {"X-Auth-Token": tok}
nets = requests.get(neutron + "/networks?name=private", headers=NH, timeout=30).json()["networks"]
check("network private listed", len(nets) == 1, str([n["id"] for n in nets]))
server["server"].update(name=tag + "-net", networks=[{"uuid": nets[0]["id"]}], tags=[tag])
r = requests.post(nova + "/servers", headers=H, json=server, timeout=60)
check("create on network private", r.status_code == 202,
      f"{r.status_code} {r.text[:200] if r.status_code != 202 else ''}")
sid = r.json()["server"]["id"]
s, dt = wait_for("ACTIVE")
check("ACTIVE with a network", s.get("status") == "ACTIVE", f"{s.get('status')} after {dt:.1f}s {s.get('fault') or ''}")
ports = requests.get(f"{neutron}/ports?device_id={sid}", headers=NH, timeout=30).json()["ports"]
ips = [ip["ip_address"] for p in ports for ip in p["fixed_ips"]]
check("one port, device_id = the server, fixed IP in 10.0.0.0/24",
      len(ports) == 1 and len(ips) == 1 and ipaddress.ip_address(ips[0]) in ipaddress.ip_network("10.0.0.0/24")
      and ports[0]["device_owner"].startswith("compute:") and ports[0]["status"] == "ACTIVE",
      f"{[(p['id'], p['device_owner'], p['status']) for p in ports]} {ips}")
addresses = s.get("addresses", {}).get("private", [])
check("addresses.private shows the fixed IP",
      [(a["addr"], a["version"], a["OS-EXT-IPS:type"]) for a in addresses] == [(ips[0], 4, "fixed")],
      str(s.get("addresses")))
public = requests.get(neutron + "/networks?router:external=true", headers=NH, timeout=30).json()["networks"]
r = requests.post(neutron + "/floatingips", headers=NH, timeout=30, json={"floatingip": {
    "floating_network_id": public[0]["id"], "port_id": ports[0]["id"], "description": tag}})
fip = r.json().get("floatingip", {})
check("floating IP associated to the port", r.status_code == 201 and fip.get("fixed_ip_address") == ips[0],
      f"{r.status_code} {fip.get('floating_ip_address')} -> {fip.get('fixed_ip_address')}")


def floating_in_addresses(want, timeout=15):
    """Nova's cache follows the stub's network-changed events: the floating IP shows (or goes) in seconds."""
    t = time.monotonic()
    while True:
        got = [a["addr"] for a in show().get("addresses", {}).get("private", [])
               if a["OS-EXT-IPS:type"] == "floating"]
        if got == want or time.monotonic() - t > timeout:
            return got, time.monotonic() - t
        time.sleep(0.3)


got, dt = floating_in_addresses([fip.get("floating_ip_address")])
check("addresses.private shows the floating IP", got == [fip.get("floating_ip_address")], f"{got} after {dt:.1f}s")
r = requests.put(f"{neutron}/floatingips/{fip.get('id')}", headers=NH, timeout=30,
                 json={"floatingip": {"port_id": None}})
got, dt = floating_in_addresses([])
check("disassociated: gone from addresses", r.status_code == 200 and got == [],
      f"{r.status_code} {got} after {dt:.1f}s")
r = requests.put(f"{neutron}/floatingips/{fip.get('id')}", headers=NH, timeout=30,
                 json={"floatingip": {"port_id": ports[0]["id"]}})
check("associated again", r.status_code == 200 and r.json()["floatingip"]["port_id"] == ports[0]["id"],
      str(r.status_code))
delete_and_wait(sid)
left = requests.get(f"{neutron}/ports?device_id={sid}", headers=NH, timeout=30).json()["ports"]
check("port deleted with the server", left == [], str([p["id"] for p in left]))
r = requests.get(f"{neutron}/floatingips/{fip.get('id')}", headers=NH, timeout=30)
f = r.json().get("floatingip", {})
check("floating IP disassociated (port_id null)", r.status_code == 200 and f.get("port_id") is None
      and f.get("fixed_ip_address") is None, f"{r.status_code} port_id={f.get('port_id')}")
r = requests.delete(f"{neutron}/floatingips/{fip.get('id')}", headers=NH, timeout=30)
check("floating IP released", r.status_code == 204, str(r.status_code))
finish()
