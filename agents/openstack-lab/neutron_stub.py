"""A loopback-only stand-in for Neutron: the calls Nova makes, plus networks, ports and floating IPs.

Nova asks Neutron even for `networks: "none"` servers: security groups on GET /servers/{id}, ports on
delete, quotas. For a server booted with `"networks": [{"uuid": <private>}]` Nova does the whole Neutron
dance against this stub: networks by id, the project's quota, extensions, POST a port (device_id,
tenant_id), PUT it (device_owner `compute:<az>`, binding:host_id), ports by device_id and subnets by id for
the network info cache, floating IPs by fixed address and port, and on delete ports by device_id and DELETE
of each port it made. Everything lives in memory, in the public Neutron v2.0 shapes:

- networks: an external network `public` (router:external, subnet 203.0.113.0/24, floating IP pool
  203.0.113.10-203.0.113.29) and an internal, shared network `private` (10.0.0.0/24, pool .10-.250);
- extensions: GET /v2.0/extensions and /v2.0/extensions/{alias}, listing only what the stub implements
  (`binding`, `external-net`, `router` for floating IPs, `fip-port-details`, `quotas`, `security-group`,
  standard attributes...). Not listed, so Nova stays on its simple path: `binding-extended` (no
  /bindings API), `dns-integration`, `multi-provider`, `segment`, `port-resource-request-groups`;
- ports: POST/GET/PUT/DELETE /v2.0/ports. A fixed IP from the network's pool (or the requested
  `fixed_ips` address); the `binding` attributes: `binding:vif_type` `unbound` and status DOWN until
  `binding:host_id` is set, then `ovs` and ACTIVE (as if an L2 agent wired it at once; DOWN while
  admin_state_up is false), back when the host is cleared. Unknown attributes are a 400 `Unrecognized
  attribute(s)`, read-only ones a 400; updates of `fixed_ips`, `security_groups` and `mac_address`
  are not implemented (400 saying so);
- floating IPs: POST/GET/PUT/DELETE /v2.0/floatingips; PUT `port_id` associates, `null` disassociates;
  deleting a port disassociates its floating IP (port_id null), as Neutron does. When an association
  changes on a port of a server (device_owner `compute:*`), the stub sends Nova the `network-changed`
  event for it (POST /os-server-external-events), as Neutron's nova notifier does, so Nova's network
  info cache, and `addresses` of GET /servers/{id}, show the floating IP within a second (Nova no
  longer heals its cache periodically by default). Only with NEUTRON_STUB_NOVA_* set (see
  NovaNotifier; lab.py sets them). Not sent: network-vif-plugged/-unplugged/-deleted;
- security groups: none exist (an empty list; a requested or shown id is a 404). Neutron would give each
  project a `default` group on its ports; the stub gives ports `security_groups: []`;
- quotas: unlimited (-1), also in `/quotas/{project}/details` (limit/used/reserved).

Lists filter on any attribute (Neutron's `?key=value`, repeated keys OR'ed), `fields=` on lists and
shows. Errors in Neutron's `{"NeutronError": {type, message, detail}}` shape: 404 for unknown ids, 409
IpAddressGenerationFailure when a pool is exhausted, 409 when a port already has a floating IP. The stub
checks no token, so every caller sees every attribute (Neutron hides `binding:*` from non-admins).

State lives as long as the process (the lab's). Usage: python neutron_stub.py PORT LOGFILE
"""

import datetime
import http.server
import ipaddress
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

PUBLIC_NET = "public"
PUBLIC_CIDR = "203.0.113.0/24"
PUBLIC_POOL = ("203.0.113.10", "203.0.113.29")
PRIVATE_NET = "private"
PRIVATE_CIDR = "10.0.0.0/24"
PRIVATE_POOL = ("10.0.0.10", "10.0.0.250")
# List query keys that are paging/projection, not attribute filters.
NON_FILTERS = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}
# The extensions the stub implements, as Neutron lists them (alias, name, description).
EXTENSIONS = [
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("fip-port-details", "Floating IP Port Details Extension",
     "Add port_details attribute to Floating IP resource"),
    ("network-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks "
     "and access to external networks via a NAT gateway."),
    ("security-group", "security-group", "The security groups extension."),
    ("standard-attr-description", "standard-attr-description",
     "Extension to add descriptions to standard attributes"),
    ("standard-attr-revisions", "Resource revision numbers",
     "This extension will display the revision number of neutron resources."),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron "
     "resources that have Neutron standard attributes."),
]
# Port attributes a client may send on POST, and those it may change on PUT (Neutron's allow_post/allow_put).
PORT_POST = {"name", "description", "network_id", "device_id", "device_owner", "admin_state_up", "tenant_id",
             "project_id", "fixed_ips", "security_groups", "mac_address", "binding:host_id", "binding:profile",
             "binding:vnic_type"}
PORT_PUT = {"name", "description", "device_id", "device_owner", "admin_state_up", "binding:host_id",
            "binding:profile", "binding:vnic_type"}
PORT_PUT_NOT_IMPLEMENTED = {"fixed_ips", "security_groups", "mac_address"}
# Every attribute of a port (the stub's port dict has exactly these keys).
PORT_ATTRIBUTES = PORT_POST | {"id", "status", "binding:vif_type", "binding:vif_details", "allowed_address_pairs",
                               "extra_dhcp_opts", "tags", "created_at", "updated_at", "revision_number"}
# What Neutron's ML2/OVS mechanism driver puts on a port it bound.
OVS_VIF_DETAILS = {"port_filter": True, "connectivity": "l2", "bridge_name": "br-int", "datapath_type": "system",
                   "ovs_hybrid_plug": False}


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

    def take_address(self, address, subnet_id):
        if address in self.used:
            raise NeutronError(409, "IpAddressAlreadyAllocated",
                               f"IP address {address} already allocated in subnet {subnet_id}")
        self.used.add(address)
        return address

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
        check_attributes(body, PORT_POST, PORT_ATTRIBUTES, "POST")
        if not body.get("network_id"):
            raise NeutronError(400, "HTTPBadRequest", "Failed to parse request. Required attribute "
                               "'network_id' not specified")
        net = self.network(body["network_id"])
        for sg in body.get("security_groups") or []:
            raise NeutronError(404, "SecurityGroupNotFound", f"Security group {sg} does not exist")
        fixed_ips = self.allocate_fixed_ips(net, body.get("fixed_ips"))
        port_id, t = str(uuid.uuid4()), now()
        project = body.get("project_id") or body.get("tenant_id") or ""
        port = {
            "id": port_id, "name": body.get("name", ""), "network_id": net["id"],
            "device_id": body.get("device_id", ""), "device_owner": body.get("device_owner", ""),
            "mac_address": body.get("mac_address") or "fa:16:3e:%02x:%02x:%02x" % tuple(uuid.uuid4().bytes[:3]),
            "fixed_ips": fixed_ips, "status": "DOWN", "admin_state_up": body.get("admin_state_up", True),
            "description": body.get("description", ""), "project_id": project, "tenant_id": project,
            "security_groups": [], "allowed_address_pairs": [], "extra_dhcp_opts": [],
            "binding:host_id": "", "binding:profile": {}, "binding:vnic_type": "normal",
            "binding:vif_type": "unbound", "binding:vif_details": {},
            "tags": [], "created_at": t, "updated_at": t, "revision_number": 1,
        }
        self.set_binding(port, body)
        self.ports[port_id] = port
        return port

    def allocate_fixed_ips(self, net, requested):
        """The port's fixed IPs: the next free address of the network's pool, or the requested ones
        (`[{"ip_address": ..., "subnet_id": ...}]`, either key optional); `[]` gives a port without any."""
        subnet_id, pool = self.pools[net["id"]]
        if requested is None:
            return [{"subnet_id": subnet_id, "ip_address": pool.take(net["id"])}]
        out = []
        try:
            for want in requested:
                if want.get("subnet_id") not in (None, subnet_id):
                    raise NeutronError(400, "InvalidInput", f"Invalid input for operation: Failed to create port "
                                       f"on network {net['id']}, because fixed_ips included invalid subnet "
                                       f"{want['subnet_id']}.")
                address = want.get("ip_address")
                if address is None:
                    out.append({"subnet_id": subnet_id, "ip_address": pool.take(net["id"])})
                    continue
                cidr = ipaddress.ip_network(self.subnets[subnet_id]["cidr"])
                try:
                    ok = ipaddress.ip_address(address) in cidr
                except ValueError:
                    ok = False
                if not ok or address in (str(cidr.network_address), str(cidr.broadcast_address),
                                         self.subnets[subnet_id]["gateway_ip"]):
                    raise NeutronError(400, "InvalidIpForNetwork", f"IP address {address} is not a valid IP "
                                       "for any of the subnets on the specified network.")
                out.append({"subnet_id": subnet_id, "ip_address": pool.take_address(address, subnet_id)})
        except NeutronError:
            for ip in out:
                pool.give_back(ip["ip_address"])
            raise
        return out

    @staticmethod
    def set_binding(port, body):
        """The `binding` extension: a host in binding:host_id binds the port (ML2/OVS's vif type, and the
        port goes ACTIVE, unless admin_state_up is false, as if the L2 agent wired it at once); an empty or
        null host unbinds it (DOWN)."""
        for key in ("binding:profile", "binding:vnic_type"):
            if key in body:
                port[key] = body[key] if body[key] is not None else ({} if key == "binding:profile" else "normal")
        if "binding:host_id" in body:
            port["binding:host_id"] = body["binding:host_id"] or ""
        if port["binding:host_id"]:
            port["binding:vif_type"], port["binding:vif_details"] = "ovs", dict(OVS_VIF_DETAILS)
        else:
            port["binding:vif_type"], port["binding:vif_details"] = "unbound", {}
        port["status"] = "ACTIVE" if port["binding:host_id"] and port["admin_state_up"] else "DOWN"

    def update_port(self, port_id, body):
        port = self.get(self.ports, port_id, "PortNotFound", "Port")
        check_attributes(body, PORT_PUT, PORT_ATTRIBUTES, "PUT")
        for key in ("name", "description", "device_id", "device_owner", "admin_state_up"):
            if key in body:
                port[key] = body[key]
        self.set_binding(port, body)  # also the status, which follows admin_state_up
        port["updated_at"] = now()
        port["revision_number"] += 1
        for fip in self.floatingips.values():
            if fip["port_id"] == port_id:
                fip["port_details"] = port_details(port)
        return port

    def delete_port(self, port_id):
        port = self.get(self.ports, port_id, "PortNotFound", "Port")
        for fip in self.floatingips.values():
            if fip["port_id"] == port_id:
                self.associate(fip, None, None, notify=False)
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

    def associate(self, fip, port_id, fixed_ip, notify=True):
        old = fip["port_id"]
        if port_id:
            fixed_ip = self.check_port(port_id, fixed_ip, fip["id"])
            fip["port_details"] = port_details(self.ports[port_id])
        else:
            fip["port_details"] = None
        fip["port_id"], fip["fixed_ip_address"] = port_id, fixed_ip if port_id else None
        fip["status"] = "ACTIVE" if port_id else "DOWN"
        fip["updated_at"] = now()
        fip["revision_number"] += 1
        # Neutron's Nova notifier: a floating IP (dis)associated on a server's port changes the server's
        # network info, so Nova gets `network-changed` for that port and refreshes its cache
        for changed in {old, port_id} - {None} if notify and old != port_id else ():
            port = self.ports.get(changed)
            if port and port["device_owner"].startswith("compute:") and port["device_id"]:
                NOTIFIER.send({"name": "network-changed", "server_uuid": port["device_id"], "tag": changed})

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


def port_details(port):
    """A floating IP's `port_details` (the fip-port-details extension)."""
    return {k: port[k] for k in ("name", "network_id", "mac_address", "admin_state_up", "status", "device_id",
                                 "device_owner")}


def check_attributes(body, allowed, known, verb):
    """Neutron's body checks: an attribute it does not know is a 400, one it knows but does not let the
    client set is a 400 too (read-only, or, for PUT, an update the stub does not implement)."""
    unknown = sorted(k for k in body if k not in allowed | known)
    if unknown:
        raise NeutronError(400, "HTTPBadRequest", "Unrecognized attribute(s) '%s'" % ", ".join(unknown))
    for key in sorted(body):
        if key in allowed:
            continue
        if verb == "POST":
            raise NeutronError(400, "HTTPBadRequest", f"Attribute '{key}' not allowed in POST")
        if key in PORT_PUT_NOT_IMPLEMENTED:
            raise NeutronError(400, "HTTPBadRequest", f"The Neutron stub does not implement updates of {key}")
        raise NeutronError(400, "HTTPBadRequest", f"Cannot update read-only attribute {key}")


def only_fields(item, query):
    """`fields=` on a show, as on a list."""
    fields = query.get("fields")
    return {k: item[k] for k in fields if k in item} if fields else item


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


class NovaNotifier:
    """Sends Nova the server external events Neutron sends (POST /os-server-external-events), in batches
    from a thread of its own, as Neutron's nova notifier does. Configured by the environment (lab.py sets
    it): NEUTRON_STUB_NOVA_AUTH_URL (Keystone v3), _USER, _PASSWORD, _PROJECT (a user with the admin or
    service role); without it no event is sent. Each batch and Nova's answer go to the request log."""

    def __init__(self, env):
        self.auth = {k: env.get(f"NEUTRON_STUB_NOVA_{k.upper()}") for k in ("auth_url", "user", "password",
                                                                             "project")}
        self.enabled = all(self.auth.values())
        self.pending, self.cond = [], threading.Condition()
        self.token = self.nova = None
        if self.enabled:
            threading.Thread(target=self.run, daemon=True).start()

    def send(self, event):
        if self.enabled:
            with self.cond:
                self.pending.append(event)
                self.cond.notify()

    def run(self):
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
            time.sleep(0.2)  # gather what comes together into one request (Neutron waits 2 s)
            with self.cond:
                events, self.pending = self.pending, []
            try:
                code, answer = self.post(events)
                if code == 401:
                    self.token = None
                    code, answer = self.post(events)
                log_line(f"-> nova POST /os-server-external-events {json.dumps(events)}: {code} {answer}")
            except Exception as e:  # noqa: BLE001 - Neutron logs and goes on too
                log_line(f"-> nova POST /os-server-external-events {json.dumps(events)}: failed: {e}")

    def post(self, events):
        if not self.token:
            a = self.auth
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": a["user"], "domain": {"id": "default"}, "password": a["password"]}}},
                "scope": {"project": {"name": a["project"], "domain": {"id": "default"}}}}}
            req = urllib.request.Request(a["auth_url"].rstrip("/") + "/auth/tokens", method="POST",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                self.token = r.headers["X-Subject-Token"]
                catalog = json.loads(r.read())["token"]["catalog"]
            self.nova = [e["url"] for s in catalog if s["type"] == "compute" for e in s["endpoints"]
                         if e["interface"] == "internal"][0]
        req = urllib.request.Request(self.nova + "/os-server-external-events", method="POST",
                                     data=json.dumps({"events": events}).encode(),
                                     headers={"Content-Type": "application/json", "X-Auth-Token": self.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()[:300]
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()[:300]


def log_line(line):
    if LOG:
        with open(LOG, "a") as f:
            f.write(line + "\n")


STATE = State()
PORT = int(sys.argv[1]) if __name__ == "__main__" else 0
LOG = sys.argv[2] if __name__ == "__main__" else None
NOTIFIER = NovaNotifier(os.environ if __name__ == "__main__" else {})


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
        log_line(f"{self.command} {self.path}")

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
                return self._send(200, {key: only_fields(STATE.get(table, item, kind, noun), query)})
            if coll == "security-groups":
                if item is None:
                    return self._send(200, {"security_groups": []})
                raise NeutronError(404, "SecurityGroupNotFound", f"Security group {item} does not exist")
            if coll == "extensions":
                exts = [{"alias": a, "name": n, "description": d, "updated": "2013-01-01T10:00:00-00:00",
                         "links": []} for a, n, d in EXTENSIONS]
                if item is None:
                    return self._send(200, {"extensions": exts})
                for ext in exts:
                    if ext["alias"] == item:
                        return self._send(200, {"extension": ext})
                raise NeutronError(404, "HTTPNotFound", f"Extension with alias {item} does not exist")
            if coll == "quotas" and item is None:
                return self._send(200, {"quotas": []})  # the projects with non-default quotas: none
            if coll == "quotas":
                keys = ("network", "subnet", "port", "router", "floatingip", "security_group",
                        "security_group_rule")
                if parts[2:] == ["details"]:
                    used = {"port": sum(p["project_id"] == item for p in STATE.ports.values()),
                            "floatingip": sum(f["project_id"] == item for f in STATE.floatingips.values())}
                    return self._send(200, {"quota": {k: {"limit": -1, "used": used.get(k, 0), "reserved": 0}
                                                      for k in keys}})
                if len(parts) == 2:
                    return self._send(200, {"quota": {k: -1 for k in keys}})
            if not parts or parts == ["v2.0"]:
                return self._send(200, {"resources": []})
        elif method == "POST" and item is None:
            if coll == "ports":
                return self._send(201, {"port": STATE.create_port(self._body("port"))})
            if coll == "floatingips":
                return self._send(201, {"floatingip": STATE.create_floatingip(self._body("floatingip"))})
        elif method == "PUT" and coll == "ports" and item:
            return self._send(200, {"port": STATE.update_port(item, self._body("port"))})
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
