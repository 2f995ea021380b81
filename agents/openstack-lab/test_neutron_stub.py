"""The Neutron stub's floating IP, port, network and extension API, over real HTTP on loopback.

Starts neutron_stub.py as its own process on a free port. Usage: python -m unittest test_neutron_stub
(from this directory), or python test_neutron_stub.py.
"""

import http.server
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubCase(unittest.TestCase):
    """A stub of its own per test, on a free port."""

    env = {}  # the stub's environment on top of ours (no NEUTRON_STUB_NOVA_*: no events are sent)

    def setUp(self):
        self.logdir = tempfile.TemporaryDirectory()
        port = free_port()
        self.base = f"http://127.0.0.1:{port}/v2.0"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEUTRON_STUB_")}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "neutron_stub.py"), str(port),
                                      str(pathlib.Path(self.logdir.name) / "requests.log")], env={**env, **self.env})
        deadline = time.monotonic() + 10
        while True:
            try:
                self.call("GET", "")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def tearDown(self):
        self.proc.terminate()
        self.proc.wait()
        self.logdir.cleanup()

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def network_id(self, name):
        code, body = self.call("GET", f"/networks?name={name}")
        self.assertEqual(code, 200)
        self.assertEqual(len(body["networks"]), 1)
        return body["networks"][0]["id"]

    def server_port(self, device_id):
        code, body = self.call("POST", "/ports", {"port": {"network_id": self.network_id("private"),
                                                           "device_id": device_id}})
        self.assertEqual(code, 201)
        return body["port"]


class NeutronStubTest(StubCase):
    def test_external_network_is_listed_by_router_external(self):
        code, body = self.call("GET", "/networks?router:external=true")
        self.assertEqual(code, 200)
        self.assertEqual([n["name"] for n in body["networks"]], ["public"])
        subnet = body["networks"][0]["subnets"][0]
        code, body = self.call("GET", f"/subnets/{subnet}")
        self.assertEqual(body["subnet"]["cidr"], "203.0.113.0/24")
        code, body = self.call("GET", "/networks?router:external=false")
        self.assertEqual([n["name"] for n in body["networks"]], ["private"])
        # Nova spells booleans the Python way.
        code, body = self.call("GET", "/networks?shared=True")
        self.assertEqual([n["name"] for n in body["networks"]], ["private"])

    def test_allocate_associate_find_disassociate_release(self):
        public = self.network_id("public")
        port = self.server_port("server-1")
        code, body = self.call("GET", "/ports?device_id=server-1")
        self.assertEqual([p["id"] for p in body["ports"]], [port["id"]])
        self.assertEqual(self.call("GET", "/ports?device_id=other")[1], {"ports": []})

        code, body = self.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": public, "description": "utter:31337:0xabc:7"}})
        self.assertEqual(code, 201)
        fip = body["floatingip"]
        self.assertEqual((fip["status"], fip["port_id"], fip["fixed_ip_address"]), ("DOWN", None, None))
        self.assertTrue(fip["floating_ip_address"].startswith("203.0.113."))

        code, body = self.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
        self.assertEqual(code, 200)
        self.assertEqual(body["floatingip"]["port_id"], port["id"])
        self.assertEqual(body["floatingip"]["fixed_ip_address"], port["fixed_ips"][0]["ip_address"])
        self.assertEqual(body["floatingip"]["status"], "ACTIVE")

        code, body = self.call("GET", f"/floatingips?port_id={port['id']}")
        self.assertEqual([f["id"] for f in body["floatingips"]], [fip["id"]])
        code, body = self.call("GET", "/floatingips?description=utter:31337:0xabc:7")
        self.assertEqual([f["floating_ip_address"] for f in body["floatingips"]], [fip["floating_ip_address"]])
        self.assertEqual(self.call("GET", "/floatingips?description=utter:31337:0xabc:8")[1],
                         {"floatingips": []})

        code, body = self.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
        self.assertEqual((code, body["floatingip"]["port_id"], body["floatingip"]["status"]), (200, None, "DOWN"))

        self.assertEqual(self.call("DELETE", f"/floatingips/{fip['id']}")[0], 204)
        code, body = self.call("GET", f"/floatingips/{fip['id']}")
        self.assertEqual(code, 404)
        self.assertEqual(body["NeutronError"]["type"], "FloatingIPNotFound")
        self.assertIn(fip["id"], body["NeutronError"]["message"])
        self.assertEqual(self.call("DELETE", f"/floatingips/{fip['id']}")[0], 404)

    def test_create_with_port_associates_at_once(self):
        port = self.server_port("server-2")
        code, body = self.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": self.network_id("public"), "port_id": port["id"]}})
        self.assertEqual((code, body["floatingip"]["port_id"]), (201, port["id"]))
        code, body = self.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": self.network_id("public"), "port_id": port["id"]}})
        self.assertEqual((code, body["NeutronError"]["type"]), (409, "FloatingIPPortAlreadyAssociated"))

    def test_errors_for_bad_requests_and_unknown_ids(self):
        code, body = self.call("POST", "/floatingips", {"floatingip": {}})
        self.assertEqual(code, 400)
        self.assertIn("floating_network_id", body["NeutronError"]["message"])
        code, body = self.call("POST", "/floatingips", {"floatingip": {"floating_network_id": "nope"}})
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "NetworkNotFound"))
        code, body = self.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": self.network_id("private")}})
        self.assertEqual(code, 400)
        self.assertIn("not a valid external network", body["NeutronError"]["message"])
        code, body = self.call("PUT", "/floatingips/missing", {"floatingip": {"port_id": None}})
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "FloatingIPNotFound"))
        code, body = self.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": self.network_id("public"), "port_id": "missing"}})
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "PortNotFound"))

    def test_exhausted_pool_is_409_and_a_release_frees_an_address(self):
        public = self.network_id("public")
        made = []
        while True:
            code, body = self.call("POST", "/floatingips", {"floatingip": {"floating_network_id": public}})
            if code != 201:
                break
            made.append(body["floatingip"])
        self.assertEqual(len(made), 20)
        self.assertEqual((code, body["NeutronError"]["type"]), (409, "IpAddressGenerationFailure"))
        self.assertEqual(len({f["floating_ip_address"] for f in made}), 20)
        self.assertEqual(self.call("DELETE", f"/floatingips/{made[3]['id']}")[0], 204)
        code, body = self.call("POST", "/floatingips", {"floatingip": {"floating_network_id": public}})
        self.assertEqual((code, body["floatingip"]["floating_ip_address"]), (201, made[3]["floating_ip_address"]))

    def test_nova_calls_still_answered(self):
        self.assertEqual(self.call("GET", "/security-groups?tenant_id=x")[1], {"security_groups": []})
        code, body = self.call("GET", "/security-groups/nope")
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "SecurityGroupNotFound"))
        self.assertEqual(self.call("GET", "/quotas")[1], {"quotas": []})
        code, body = self.call("GET", "/quotas/p1.json")
        self.assertEqual((code, body["quota"]["port"], body["quota"]["floatingip"]), (200, -1, -1))
        # Neutron's details shape: limit / used / reserved per resource, used counted in the project.
        self.call("POST", "/ports", {"port": {"network_id": self.network_id("private"), "tenant_id": "p1"}})
        code, body = self.call("GET", "/quotas/p1/details.json")
        self.assertEqual((code, body["quota"]["port"]), (200, {"limit": -1, "used": 1, "reserved": 0}))
        self.assertEqual(body["quota"]["floatingip"]["used"], 0)

    def test_extensions_keep_nova_on_the_simple_path(self):
        code, body = self.call("GET", "/extensions")
        self.assertEqual(code, 200)
        aliases = {e["alias"] for e in body["extensions"]}
        # what the stub implements: port binding attributes, router:external, floating IPs, port_details
        self.assertTrue({"binding", "external-net", "router", "fip-port-details", "quotas"} <= aliases, aliases)
        # what would send Nova down paths the stub does not serve (the /bindings API, dns_name, segments...)
        for alias in ("binding-extended", "dns-integration", "multi-provider", "segment",
                      "port-resource-request-groups", "security-groups-shared-filtering"):
            self.assertNotIn(alias, aliases)
        for ext in body["extensions"]:
            self.assertEqual(set(ext), {"alias", "name", "description", "updated", "links"})
        code, body = self.call("GET", "/extensions/binding")
        self.assertEqual((code, body["extension"]["name"]), (200, "Port Binding"))
        code, body = self.call("GET", "/extensions/binding-extended")
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "HTTPNotFound"))

    def test_port_lifecycle_as_nova_drives_it(self):
        private = self.network_id("private")
        # nova-compute's _create_port_minimal: the user's client, device_id and tenant_id only
        code, body = self.call("POST", "/ports", {"port": {"device_id": "vm-1", "network_id": private,
                                                           "admin_state_up": True, "tenant_id": "proj-1"}})
        self.assertEqual(code, 201)
        port = body["port"]
        self.assertEqual((port["tenant_id"], port["project_id"]), ("proj-1", "proj-1"))
        self.assertEqual((port["status"], port["binding:vif_type"], port["binding:host_id"]),
                         ("DOWN", "unbound", ""))
        [fixed] = port["fixed_ips"]
        self.assertEqual(fixed["ip_address"], "10.0.0.10")
        # _update_ports_for_instance: the admin client binds it to the compute host
        code, body = self.call("PUT", f"/ports/{port['id']}", {"port": {
            "device_id": "vm-1", "device_owner": "compute:nova", "binding:host_id": "utter-lab-compute",
            "binding:profile": {}}})
        self.assertEqual(code, 200)
        bound = body["port"]
        self.assertEqual((bound["device_owner"], bound["binding:host_id"], bound["binding:vif_type"],
                          bound["status"]), ("compute:nova", "utter-lab-compute", "ovs", "ACTIVE"))
        self.assertEqual(bound["revision_number"], port["revision_number"] + 1)
        code, body = self.call("PUT", f"/ports/{port['id']}", {"port": {"admin_state_up": False}})
        self.assertEqual((body["port"]["status"], body["port"]["binding:vif_type"]), ("DOWN", "ovs"))
        code, body = self.call("PUT", f"/ports/{port['id']}", {"port": {"admin_state_up": True}})
        self.assertEqual(body["port"]["status"], "ACTIVE")
        self.assertEqual((bound["mac_address"], bound["fixed_ips"]), (port["mac_address"], port["fixed_ips"]))
        # the network info cache: ports of the project and device, the subnet, fixed IP's floating IPs
        code, body = self.call("GET", "/ports?tenant_id=proj-1&device_id=vm-1")
        self.assertEqual([p["id"] for p in body["ports"]], [port["id"]])
        self.assertEqual(self.call("GET", "/ports?tenant_id=proj-2&device_id=vm-1")[1], {"ports": []})
        code, body = self.call("GET", f"/subnets?id={fixed['subnet_id']}")
        self.assertEqual([s["cidr"] for s in body["subnets"]], ["10.0.0.0/24"])
        code, body = self.call("GET", f"/floatingips?fixed_ip_address={fixed['ip_address']}&port_id={port['id']}")
        self.assertEqual(body, {"floatingips": []})
        # show with fields, as Nova asks for the provider attributes (which the stub does not have)
        code, body = self.call("GET", f"/ports/{port['id']}?fields=binding:host_id&fields=status")
        self.assertEqual(body, {"port": {"binding:host_id": "utter-lab-compute", "status": "ACTIVE"}})
        code, body = self.call("GET", f"/networks/{private}?fields=provider:physical_network&fields=id")
        self.assertEqual(body, {"network": {"id": private}})

        code, body = self.call("POST", "/floatingips", {"floatingip": {
            "floating_network_id": self.network_id("public"), "port_id": port["id"]}})
        fip = body["floatingip"]
        self.assertEqual((fip["port_details"]["device_id"], fip["port_details"]["status"]), ("vm-1", "ACTIVE"))
        # unbinding (what Nova does to a port it did not create) keeps the floating IP, refreshes its details
        code, body = self.call("PUT", f"/ports/{port['id']}", {"port": {
            "device_id": "", "device_owner": "", "binding:host_id": None, "binding:profile": {}}})
        self.assertEqual((code, body["port"]["status"], body["port"]["binding:vif_type"],
                          body["port"]["binding:host_id"]), (200, "DOWN", "unbound", ""))
        code, body = self.call("GET", f"/floatingips/{fip['id']}")
        self.assertEqual((body["floatingip"]["port_id"], body["floatingip"]["port_details"]["device_id"]),
                         (port["id"], ""))
        # deleting the port (server delete) disassociates the floating IP and frees the fixed IP
        self.assertEqual(self.call("DELETE", f"/ports/{port['id']}")[0], 204)
        code, body = self.call("GET", f"/floatingips/{fip['id']}")
        self.assertEqual((body["floatingip"]["port_id"], body["floatingip"]["fixed_ip_address"],
                          body["floatingip"]["port_details"], body["floatingip"]["status"]),
                         (None, None, None, "DOWN"))
        self.assertEqual(self.call("GET", "/ports?device_id=vm-1")[1], {"ports": []})
        code, body = self.call("GET", f"/ports/{port['id']}")
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "PortNotFound"))
        code, body = self.call("PUT", f"/ports/{port['id']}", {"port": {"device_id": "x"}})
        self.assertEqual((code, body["NeutronError"]["type"]), (404, "PortNotFound"))
        self.assertEqual(self.server_port("vm-2")["fixed_ips"][0]["ip_address"], "10.0.0.10")

    def test_port_bodies_are_checked_as_neutron_does(self):
        private = self.network_id("private")
        port = self.server_port("vm-3")

        def error(method, path, body):
            code, reply = self.call(method, path, body)
            return code, reply["NeutronError"]["type"], reply["NeutronError"]["message"]

        code, kind, message = error("POST", "/ports", {"port": {"network_id": private, "bogus": 1}})
        self.assertEqual((code, message), (400, "Unrecognized attribute(s) 'bogus'"))
        code, kind, message = error("POST", "/ports", {"port": {"network_id": private, "status": "ACTIVE"}})
        self.assertEqual((code, message), (400, "Attribute 'status' not allowed in POST"))
        code, kind, message = error("POST", "/ports", {"port": {"device_id": "x"}})
        self.assertEqual(code, 400)
        self.assertIn("'network_id' not specified", message)
        code, kind, message = error("PUT", f"/ports/{port['id']}", {"port": {"network_id": private}})
        self.assertEqual((code, message), (400, "Cannot update read-only attribute network_id"))
        code, kind, message = error("PUT", f"/ports/{port['id']}", {"port": {"binding:vif_type": "ovs"}})
        self.assertEqual((code, message), (400, "Cannot update read-only attribute binding:vif_type"))
        code, kind, message = error("PUT", f"/ports/{port['id']}", {"port": {"fixed_ips": []}})
        self.assertEqual(code, 400)
        self.assertIn("does not implement", message)
        code, kind, message = error("POST", "/ports", {"port": {"network_id": private, "security_groups": ["sg"]}})
        self.assertEqual((code, kind), (404, "SecurityGroupNotFound"))
        code, body = self.call("PUT", "/ports/" + port["id"], {"nope": {}})
        self.assertEqual(code, 400)
        # requested fixed IPs: taken once, inside the subnet only, never the gateway
        code, body = self.call("POST", "/ports", {"port": {"network_id": private,
                                                           "fixed_ips": [{"ip_address": "10.0.0.50"}]}})
        self.assertEqual((code, body["port"]["fixed_ips"][0]["ip_address"]), (201, "10.0.0.50"))
        code, kind, message = error("POST", "/ports", {"port": {"network_id": private,
                                                                "fixed_ips": [{"ip_address": "10.0.0.50"}]}})
        self.assertEqual((code, kind), (409, "IpAddressAlreadyAllocated"))
        for bad in ("192.168.1.5", "10.0.0.1", "not-an-ip"):
            code, kind, message = error("POST", "/ports", {"port": {"network_id": private,
                                                                    "fixed_ips": [{"ip_address": bad}]}})
            self.assertEqual((code, kind), (400, "InvalidIpForNetwork"), bad)
        code, body = self.call("POST", "/ports", {"port": {"network_id": private, "fixed_ips": []}})
        self.assertEqual((code, body["port"]["fixed_ips"]), (201, []))
        # none of the failures above took an address: the next port gets the pool's next one
        self.assertEqual(self.server_port("vm-4")["fixed_ips"][0]["ip_address"], "10.0.0.11")


class FakeKeystoneNova(http.server.BaseHTTPRequestHandler):
    """Keystone's POST /v3/auth/tokens (a catalog with Nova's internal endpoint here) and Nova's
    POST /v2.1/os-server-external-events, which records what it gets."""

    events, tokens_issued = [], []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/v3/auth/tokens":
            FakeKeystoneNova.tokens_issued.append(body["auth"]["identity"]["password"]["user"]["name"])
            url = f"http://127.0.0.1:{self.server.server_port}/v2.1"
            reply = {"token": {"catalog": [{"type": "compute", "endpoints": [
                {"interface": "public", "url": "http://wrong.invalid"}, {"interface": "internal", "url": url}]}]}}
            self.answer(201, reply, {"X-Subject-Token": "tok-1"})
        elif self.path == "/v2.1/os-server-external-events" and self.headers["X-Auth-Token"] == "tok-1":
            FakeKeystoneNova.events.append(body["events"])
            self.answer(200, {"events": [dict(e, status="completed", code=200) for e in body["events"]]})
        else:
            self.answer(401, {})

    def answer(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in dict(headers).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class NovaNotifierTest(StubCase):
    """Floating IP changes on a server's port reach Nova as `network-changed` events, as Neutron sends them."""

    def setUp(self):
        FakeKeystoneNova.events.clear()
        FakeKeystoneNova.tokens_issued.clear()
        self.fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeKeystoneNova)
        threading.Thread(target=self.fake.serve_forever, daemon=True).start()
        self.env = {"NEUTRON_STUB_NOVA_AUTH_URL": f"http://127.0.0.1:{self.fake.server_port}/v3",
                    "NEUTRON_STUB_NOVA_USER": "nova", "NEUTRON_STUB_NOVA_PASSWORD": "pw",
                    "NEUTRON_STUB_NOVA_PROJECT": "service"}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        self.fake.shutdown()
        self.fake.server_close()

    def wait_events(self, n):
        deadline = time.monotonic() + 5
        while len(FakeKeystoneNova.events) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return [e for batch in FakeKeystoneNova.events for e in batch]

    def test_floating_ip_changes_are_sent_to_nova(self):
        public = self.network_id("public")
        code, body = self.call("POST", "/ports", {"port": {"network_id": self.network_id("private"),
                                                           "device_id": "vm-9", "device_owner": "compute:nova"}})
        port = body["port"]
        other = self.server_port("")  # a port of no server: Neutron tells Nova nothing about it
        code, body = self.call("POST", "/floatingips", {"floatingip": {"floating_network_id": public}})
        fip = body["floatingip"]
        self.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": other["id"]}})
        self.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
        self.assertEqual(self.wait_events(1),
                         [{"name": "network-changed", "server_uuid": "vm-9", "tag": port["id"]}])
        self.call("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
        self.assertEqual(len(self.wait_events(2)), 2)
        self.assertEqual(self.wait_events(2)[1], {"name": "network-changed", "server_uuid": "vm-9",
                                                  "tag": port["id"]})
        self.assertEqual(FakeKeystoneNova.tokens_issued, ["nova"])
        log = (pathlib.Path(self.logdir.name) / "requests.log").read_text()
        self.assertIn("-> nova POST /os-server-external-events", log)
        self.assertIn('"code": 200', log)


if __name__ == "__main__":
    unittest.main()
