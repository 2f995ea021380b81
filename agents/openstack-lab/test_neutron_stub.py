"""The Neutron stub's floating IP, port and network API, over real HTTP on loopback.

Starts neutron_stub.py as its own process on a free port. Usage: python -m unittest test_neutron_stub
(from this directory), or python test_neutron_stub.py.
"""

import json
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NeutronStubTest(unittest.TestCase):
    def setUp(self):
        self.logdir = tempfile.TemporaryDirectory()
        port = free_port()
        self.base = f"http://127.0.0.1:{port}/v2.0"
        self.proc = subprocess.Popen([sys.executable, str(HERE / "neutron_stub.py"), str(port),
                                      str(pathlib.Path(self.logdir.name) / "requests.log")])
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
        self.assertEqual(self.call("GET", "/extensions")[1], {"extensions": []})
        code, body = self.call("GET", "/quotas/p1/details.json")
        self.assertEqual((code, body["quota"]["floatingip"]), (200, -1))


if __name__ == "__main__":
    unittest.main()
