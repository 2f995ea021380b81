"""A loopback-only stand-in for the few Neutron calls Nova makes for `networks: "none"` servers.

Nova asks Neutron even then: security groups on GET /servers/{id}, ports on delete, quotas, extensions.
Empty lists and unlimited quotas are enough. Usage: python neutron_stub.py PORT LOGFILE
"""

import http.server
import json
import sys

PORT = int(sys.argv[1])
LOG = sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _log(self):
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def do_GET(self):
        self._log()
        p = self.path.split("?")[0].rstrip("/")
        for k in ("ports", "networks", "subnets", "floatingips", "security-groups", "extensions"):
            if p.endswith("/" + k) or p.endswith("/" + k + ".json"):
                return self._send(200, {k.replace("-", "_"): []})
        if "/quotas/" in p:
            keys = ("network", "subnet", "port", "router", "floatingip", "security_group", "security_group_rule")
            return self._send(200, {"quota": {k: -1 for k in keys}})
        if p in ("", "/v2.0"):
            return self._send(200, {"resources": []})
        return self._send(404, {"NeutronError": {"type": "NotFound", "message": "stub", "detail": ""}})

    def do_DELETE(self):
        self._log()
        self._send(404, {"NeutronError": {"type": "NotFound", "message": "stub", "detail": ""}})

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
