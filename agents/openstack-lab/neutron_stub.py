"""A loopback-only stand-in for Neutron: the calls Nova makes, plus networks, ports and floating IPs.

Nova asks Neutron even for `networks: "none"` servers: security groups on GET /servers/{id}, ports on
delete, quotas, extensions. Empty lists and unlimited quotas are enough there. On top of that the stub
keeps, in memory, the public Neutron v2.0 shapes the provider agent uses for public addresses:

- networks: an external network `public` (router:external, subnet 203.0.113.0/24, floating IP pool
  203.0.113.10-203.0.113.29) and an internal network `private` (10.0.0.0/24) for ports;
- ports: POST/GET/DELETE /v2.0/ports (fixed IPs handed out from the port's network);
- floating IPs: POST/GET/PUT/DELETE /v2.0/floatingips, list filters on any attribute (Neutron's
  `?key=value`, repeated keys OR'ed), `fields=`; 404 NeutronError for unknown ids, 409
  IpAddressGenerationFailure when the pool is exhausted, 409 when a port already has a floating IP.

State lives as long as the process (the lab's). Usage: python neutron_stub.py PORT LOGFILE
"""

import datetime
import http.server
import ipaddress
import json
import sys
import threading
import urllib.parse
import uuid

PUBLIC_NET = "public"
PUBLIC_CIDR = "203.0.113.0/24"
PUBLIC_POOL = ("203.0.113.10", "203.0.113.29")
PRIVATE_NET = "private"
PRIVATE_CIDR = "10.0.0.0/24"
PRIVATE_POOL = ("10.0.0.10", "10.0.0.250")
# List query keys that are paging/projection, not attribute filters.
NON_FILTERS = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class NeutronError(Exception):
    """An API error in Neutron's body shape: {"NeutronError": {"type", "message", "detail"}}."""

    def __init__(self, code, kind, message):
        super().__init__(message)
        self.code, self.kind, self.message = code, kind, message


class Pool:
    """The addresses of one subnet's allocation pool, handed out lowest first."""

    def __init__(self, first, last):
        lo, hi = int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))
        self.addresses = [str(ipaddress.ip_address(i)) for i in range(lo, hi + 1)]
        self.used = set()

    def take(self, network_id):
        for a in self.addresses:
            if a not in self.used:
                self.used.add(a)
                return a
        raise NeutronError(409, "IpAddressGenerationFailure",
                           f"No more IP addresses available on network {network_id}.")

    def give_back(self, address):
        self.used.discard(address)


class State:
    """Networks, subnets, ports and floating IPs, behind one lock (the server is threaded)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.networks, self.subnets, self.ports, self.floatingips = {}, {}, {}, {}
        self.pools = {}
        self.add_network(PUBLIC_NET, True, PUBLIC_CIDR, PUBLIC_POOL)
        self.add_network(PRIVATE_NET, False, PRIVATE_CIDR, PRIVATE_POOL)

    def add_network(self, name, external, cidr, pool):
        net_id, subnet_id, t = str(uuid.uuid4()), str(uuid.uuid4()), now()
        self.networks[net_id] = {
            "id": net_id, "name": name, "status": "ACTIVE", "admin_state_up": True, "shared": not external,
            "router:external": external, "subnets": [subnet_id], "project_id": "", "tenant_id": "",
            "description": "", "mtu": 1500, "tags": [], "created_at": t, "updated_at": t, "revision_number": 1,
        }
        self.subnets[subnet_id] = {
            "id": subnet_id, "name": f"{name}-subnet", "network_id": net_id, "cidr": cidr, "ip_version": 4,
            "allocation_pools": [{"start": pool[0], "end": pool[1]}], "gateway_ip": str(
                ipaddress.ip_network(cidr).network_address + 1), "enable_dhcp": False, "project_id": "",
            "tenant_id": "", "description": "", "tags": [], "created_at": t, "updated_at": t,
        }
        self.pools[net_id] = (subnet_id, Pool(*pool))

    def network(self, ref):
        """A network by id or, as the CLI resolves it, by unique name."""
        if ref in self.networks:
            return self.networks[ref]
        named = [n for n in self.networks.values() if n["name"] == ref]
        if len(named) == 1:
            return named[0]
        raise NeutronError(404, "NetworkNotFound", f"Network {ref} could not be found.")

    def create_port(self, body):
        net = self.network(body.get("network_id") or "")
        subnet_id, pool = self.pools[net["id"]]
        port_id, t = str(uuid.uuid4()), now()
        port = {
            "id": port_id, "name": body.get("name", ""), "network_id": net["id"],
            "device_id": body.get("device_id", ""), "device_owner": body.get("device_owner", ""),
            "mac_address": "fa:16:3e:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3]),
            "fixed_ips": [{"subnet_id": subnet_id, "ip_address": pool.take(net["id"])}],
            "status": "ACTIVE", "admin_state_up": True, "description": body.get("description", ""),
            "project_id": body.get("project_id", ""), "tenant_id": body.get("project_id", ""),
            "security_groups": [], "tags": [], "created_at": t, "updated_at": t, "revision_number": 1,
        }
        self.ports[port_id] = port
        return port

    def delete_port(self, port_id):
        port = self.get(self.ports, port_id, "PortNotFound", "Port")
        for fip in self.floatingips.values():
            if fip["port_id"] == port_id:
                self.associate(fip, None, None)
        _, pool = self.pools[port["network_id"]]
        for ip in port["fixed_ips"]:
            pool.give_back(ip["ip_address"])
        del self.ports[port_id]

    def create_floatingip(self, body):
        ref = body.get("floating_network_id")
        if not ref:
            raise NeutronError(400, "HTTPBadRequest", "Failed to parse request. Required attribute "
                               "'floating_network_id' not specified")
        net = self.network(ref)
        if not net["router:external"]:
            raise NeutronError(400, "BadRequest", f"Bad floatingip request: Network {net['id']} is not a "
                               "valid external network.")
        _, pool = self.pools[net["id"]]
        fip_id, t = str(uuid.uuid4()), now()
        fip = {
            "id": fip_id, "floating_network_id": net["id"], "router_id": None, "port_id": None,
            "fixed_ip_address": None, "status": "DOWN", "description": body.get("description", ""),
            "project_id": body.get("project_id", ""), "tenant_id": body.get("project_id", ""),
            "port_details": None, "dns_domain": "", "dns_name": "", "qos_policy_id": None, "tags": [],
            "created_at": t, "updated_at": t, "revision_number": 0,
        }
        if body.get("port_id"):
            self.check_port(body["port_id"], body.get("fixed_ip_address"))
        fip["floating_ip_address"] = pool.take(net["id"])
        self.floatingips[fip_id] = fip
        if body.get("port_id"):
            self.associate(fip, body["port_id"], body.get("fixed_ip_address"))
        return fip

    def check_port(self, port_id, fixed_ip, fip_id=None):
        """Neutron's checks before an association: the port exists, has the fixed IP, has no other FIP."""
        port = self.get(self.ports, port_id, "PortNotFound", "Port")
        addresses = [ip["ip_address"] for ip in port["fixed_ips"]]
        if not addresses:
            raise NeutronError(400, "BadRequest", f"Bad floatingip request: Port {port_id} does not have "
                               "any IP addresses on it.")
        if fixed_ip and fixed_ip not in addresses:
            raise NeutronError(400, "BadRequest", f"Bad floatingip request: Port {port_id} does not have "
                               f"fixed ip {fixed_ip}.")
        for other in self.floatingips.values():
            if other["port_id"] == port_id and other["id"] != fip_id:
                raise NeutronError(409, "FloatingIPPortAlreadyAssociated",
                                   f"Cannot associate floating IP {other['floating_ip_address']} "
                                   f"({other['id']}) with port {port_id} using fixed IP "
                                   f"{other['fixed_ip_address']}, as that fixed IP already has a "
                                   f"floating IP on external network {other['floating_network_id']}.")
        return fixed_ip or addresses[0]

    def associate(self, fip, port_id, fixed_ip):
        if port_id:
            fixed_ip = self.check_port(port_id, fixed_ip, fip["id"])
            port = self.ports[port_id]
            fip["port_details"] = {k: port[k] for k in ("name", "network_id", "mac_address", "admin_state_up",
                                                         "status", "device_id", "device_owner")}
        else:
            fip["port_details"] = None
        fip["port_id"], fip["fixed_ip_address"] = port_id, fixed_ip if port_id else None
        fip["status"] = "ACTIVE" if port_id else "DOWN"
        fip["updated_at"] = now()
        fip["revision_number"] += 1

    def update_floatingip(self, fip_id, body):
        fip = self.get(self.floatingips, fip_id, "FloatingIPNotFound", "Floating IP")
        if "port_id" in body:
            self.associate(fip, body["port_id"], body.get("fixed_ip_address"))
        if "description" in body:
            fip["description"] = body["description"]
        return fip

    def delete_floatingip(self, fip_id):
        fip = self.get(self.floatingips, fip_id, "FloatingIPNotFound", "Floating IP")
        _, pool = self.pools[fip["floating_network_id"]]
        pool.give_back(fip["floating_ip_address"])
        del self.floatingips[fip_id]

    @staticmethod
    def get(table, item_id, kind, noun):
        if item_id not in table:
            raise NeutronError(404, kind, f"{noun} {item_id} could not be found.")
        return table[item_id]


def matches(item, filters):
    """Neutron's list filters: every key must match one of its repeated values (booleans in any case)."""
    for key, wanted in filters.items():
        value = item.get(key)
        if isinstance(value, bool):
            if str(value).lower() not in (w.lower() for w in wanted):
                return False
        elif ("" if value is None else str(value)) not in wanted:
            return False
    return True


def listing(items, query):
    filters = {k: v for k, v in query.items() if k not in NON_FILTERS}
    fields = query.get("fields")
    out = [i for i in items if matches(i, filters)]
    if fields:
        out = [{k: i[k] for k in fields if k in i} for i in out]
    return out


STATE = State()
PORT = int(sys.argv[1]) if __name__ == "__main__" else 0
LOG = sys.argv[2] if __name__ == "__main__" else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, e):
        self._send(e.code, {"NeutronError": {"type": e.kind, "message": e.message, "detail": ""}})

    def _log(self):
        if LOG:
            with open(LOG, "a") as f:
                f.write(f"{self.command} {self.path}\n")

    def _route(self):
        """(collection, item id or None, query) with the /v2.0 prefix and `.json` suffixes dropped."""
        url = urllib.parse.urlsplit(self.path)
        parts = [p.removesuffix(".json") for p in url.path.strip("/").split("/") if p]
        if parts and parts[0] == "v2.0":
            parts = parts[1:]
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else None), parts, query

    def _body(self, key):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise NeutronError(400, "HTTPBadRequest", "Malformed JSON in request body.")
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise NeutronError(400, "HTTPBadRequest", f"Resource body required: '{key}'.")
        return body[key]

    def _handle(self, method):
        self._log()
        try:
            with STATE.lock:
                self._dispatch(method)
        except NeutronError as e:
            self._error(e)

    def _dispatch(self, method):
        coll, item, parts, query = self._route()
        tables = {"networks": (STATE.networks, "network", "NetworkNotFound", "Network"),
                  "subnets": (STATE.subnets, "subnet", "SubnetNotFound", "Subnet"),
                  "ports": (STATE.ports, "port", "PortNotFound", "Port"),
                  "floatingips": (STATE.floatingips, "floatingip", "FloatingIPNotFound", "Floating IP")}
        if method == "GET":
            if coll in tables and item is None:
                return self._send(200, {coll: listing(tables[coll][0].values(), query)})
            if coll in tables:
                table, key, kind, noun = tables[coll]
                return self._send(200, {key: STATE.get(table, item, kind, noun)})
            if coll in ("security-groups", "extensions") and item is None:
                return self._send(200, {coll.replace("-", "_"): []})
            if coll == "quotas":
                keys = ("network", "subnet", "port", "router", "floatingip", "security_group",
                        "security_group_rule")
                return self._send(200, {"quota": {k: -1 for k in keys}})
            if not parts or parts == ["v2.0"]:
                return self._send(200, {"resources": []})
        elif method == "POST" and item is None:
            if coll == "ports":
                return self._send(201, {"port": STATE.create_port(self._body("port"))})
            if coll == "floatingips":
                return self._send(201, {"floatingip": STATE.create_floatingip(self._body("floatingip"))})
        elif method == "PUT" and coll == "floatingips" and item:
            return self._send(200, {"floatingip": STATE.update_floatingip(item, self._body("floatingip"))})
        elif method == "DELETE" and item:
            if coll == "ports":
                STATE.delete_port(item)
                return self._send(204)
            if coll == "floatingips":
                STATE.delete_floatingip(item)
                return self._send(204)
        raise NeutronError(404, "HTTPNotFound", f"The resource could not be found: {method} {self.path}")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
