#!/usr/bin/env python3
"""utter's OpenStack lab: a real control plane on loopback (see README.md beside this file).

Run through scripts/openstack-lab, which installs the pinned venv and runs this file with its Python.

  start [--dir DIR] [--no-wait]   fresh lab in DIR (default target/openstack-lab); waits until ready
  wait  [--dir DIR] [--timeout S] until ready: token, compute service up, hypervisor listed, a server booted
  stop  [--dir DIR]               kills everything the lab started and checks that nothing is left
  status [--dir DIR]              what runs, on which port
  logs  [--dir DIR] [SERVICE] [-f] [-n N]
  smoke [--dir DIR]               server lifecycle through the raw API as the provider user
  env   [--dir DIR]               export lines for OS_CLIENT_CONFIG_FILE / OS_CLOUD
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = Path(os.environ.get("UTTER_OSLAB_VENV", str(ROOT / "toolchain" / ".openstack-venv")))
DEFAULT_DIR = Path(os.environ.get("UTTER_OSLAB_DIR", str(ROOT / "target" / "openstack-lab")))

# (service, env variable, offset from UTTER_OSLAB_PORT_BASE)
PORTS = [
    ("keystone", "UTTER_OSLAB_KEYSTONE_PORT", 0),
    ("nova", "UTTER_OSLAB_NOVA_PORT", 1),
    ("placement", "UTTER_OSLAB_PLACEMENT_PORT", 2),
    ("glance", "UTTER_OSLAB_GLANCE_PORT", 3),
    ("neutron", "UTTER_OSLAB_NEUTRON_PORT", 4),
]
DEFAULT_PORT_BASE = 17500

# long-running processes, in start order (stop goes in reverse); "setup" is the background orchestrator
SERVICES = ["neutron", "keystone", "placement", "glance", "nova-conductor", "nova-scheduler", "nova-api",
            "nova-compute"]
REGION = "RegionOne"
ADMIN_PASSWORD = "utter-lab-admin"
SERVICE_PASSWORD = "utter-lab-service"
PROVIDER = "utter-provider"  # project and user of the provider agent (role member)
PROVIDER_PASSWORD = "utter-provider-secret"
CLOUD = "utter-lab"
IMAGE_NAME = "utter-tiny"
# flavor id == name, so tests can pass the name as flavorRef
FLAVORS = [
    {"id": "utter.small", "name": "utter.small", "vcpus": 1, "ram": 512, "disk": 5},
    {"id": "utter.medium", "name": "utter.medium", "vcpus": 2, "ram": 2048, "disk": 20},
    # more memory than the fake hypervisor has (800,000 MiB): scheduling fails, the server goes ERROR
    {"id": "utter.noroom", "name": "utter.noroom", "vcpus": 1, "ram": 2_000_000, "disk": 5},
]
READY_TAG = "utter-lab-readiness"


def die(msg, code=1):
    print(f"openstack-lab: error: {msg}", file=sys.stderr)
    sys.exit(code)


def say(msg):
    print(f"openstack-lab: {msg}", flush=True)


# --- the lab's state folder -----------------------------------------------------------------------------------

class Lab:
    def __init__(self, d):
        self.dir = Path(d).resolve()
        self.run = self.dir / "run"
        self.logs = self.dir / "logs"
        self.info_file = self.dir / "lab.json"

    def info(self):
        try:
            return json.loads(self.info_file.read_text())
        except (OSError, ValueError):
            return None

    def save_info(self, info):
        tmp = self.info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.replace(self.info_file)

    def pids(self):
        """{name: pid} from run/*.pid"""
        out = {}
        if self.run.is_dir():
            for f in sorted(self.run.glob("*.pid")):
                try:
                    out[f.stem] = int(f.read_text().strip())
                except (OSError, ValueError):
                    pass
        return out

    def marker(self):
        """the env entry every process of this lab carries, to find them all in /proc"""
        return f"UTTER_OSLAB_DIR={self.dir}".encode()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def lab_processes(lab):
    """pids of every live process of this lab: in the process group of a recorded pid (each is started as a
    group leader), or carrying the lab's marker in its environment (setproctitle, which nova's services use,
    overwrites the environment block, so the marker alone misses them)"""
    marker = lab.marker() + b"\0"
    groups = set(lab.pids().values())
    me = os.getpid()
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                pgid = int(f.read().rsplit(")", 1)[1].split()[2])
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read() + b"\0"
        except (OSError, ValueError, IndexError):
            continue
        if (pgid in groups or b"\0" + marker in b"\0" + env) and alive(int(p)):
            found.append(int(p))
    return found


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # as the servers do: connections in TIME_WAIT from a previous lab do not make the port busy, a listener does
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def choose_ports():
    base = int(os.environ.get("UTTER_OSLAB_PORT_BASE", DEFAULT_PORT_BASE))
    ports = {}
    for name, var, off in PORTS:
        ports[name] = int(os.environ.get(var, base + off))
    return ports


def rabbit_settings(lab):
    vhost = os.environ.get("UTTER_OSLAB_RABBIT_VHOST") or "utter-lab-" + hashlib.sha256(
        str(lab.dir).encode()).hexdigest()[:10]
    return {
        "host": os.environ.get("UTTER_OSLAB_RABBIT_HOST", "127.0.0.1"),
        "port": int(os.environ.get("UTTER_OSLAB_RABBIT_PORT", "5672")),
        "user": os.environ.get("UTTER_OSLAB_RABBIT_USER", "guest"),
        "password": os.environ.get("UTTER_OSLAB_RABBIT_PASSWORD", "guest"),
        "vhost": vhost,
    }


def transport_url(r, vhost):
    from urllib.parse import quote
    return f"rabbit://{quote(r['user'])}:{quote(r['password'])}@{r['host']}:{r['port']}/{quote(vhost, safe='')}"


def service_env(lab):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["PATH"] = f"{VENV / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env["UTTER_OSLAB_DIR"] = str(lab.dir)
    env["PYTHONPATH"] = str(HERE / "pyhooks")  # sitecustomize.py: SQLite with BEGIN IMMEDIATE
    return env


def spawn(lab, name, argv, extra_env=None):
    env = service_env(lab)
    env.update(extra_env or {})
    logf = open(lab.logs / f"{name}.log", "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env,
                         cwd=lab.dir, start_new_session=True, close_fds=True)
    logf.close()
    (lab.run / f"{name}.pid").write_text(f"{p.pid}\n")
    return p


def uwsgi_argv(port, module, name):
    return [str(VENV / "bin" / "uwsgi"), "--http", f"127.0.0.1:{port}", "--http-keepalive", "--module", module,
            "--master", "--processes", "1", "--threads", "4", "--die-on-term", "--need-app",
            "--disable-logging"]


# --- start ----------------------------------------------------------------------------------------------------

def render(lab, ports, rabbit):
    values = {
        "LAB_DIR": str(lab.dir),
        "LAB_VENV": str(VENV),
        "KEYSTONE_PORT": str(ports["keystone"]),
        "SERVICE_PASSWORD": SERVICE_PASSWORD,
        "TRANSPORT_URL": transport_url(rabbit, rabbit["vhost"]),
        "COMPUTE_DRIVER": os.environ.get("UTTER_OSLAB_COMPUTE_DRIVER", "fake.FakeDriver"),
        "COMPUTE_HOST": "utter-lab-compute",
    }
    src = HERE / "etc"
    for tpl in sorted(src.rglob("*.conf")):
        text = tpl.read_text()
        for k, v in values.items():
            text = text.replace(f"@{k}@", v)
        left = re.findall(r"@[A-Z_]+@", text)
        if left:
            die(f"{tpl}: placeholders left unfilled: {sorted(set(left))}")
        out = lab.dir / "etc" / tpl.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    shutil.copyfile(VENV / "etc" / "nova" / "api-paste.ini", lab.dir / "etc" / "nova" / "api-paste.ini")


def cmd_start(args):
    lab = Lab(args.dir)
    if not (VENV / "bin" / "uwsgi").exists():
        die(f"the lab's venv is not installed at {VENV}; run scripts/openstack-lab install")
    running = {n: p for n, p in lab.pids().items() if alive(p)}
    if running or (lab.dir.exists() and lab_processes(lab)):
        die(f"a lab is already running in {lab.dir} ({', '.join(sorted(running)) or 'stray processes'}); "
            f"run scripts/openstack-lab stop{'' if args.dir == str(DEFAULT_DIR) else ' --dir ' + args.dir} first")
    ports = choose_ports()
    if len(set(ports.values())) != len(ports):
        die(f"the lab's ports must differ: {ports}")
    for name, var, _ in PORTS:
        if not port_free(ports[name]):
            die(f"port 127.0.0.1:{ports[name]} ({name}) is already in use; stop what listens there, or set {var} "
                f"(or UTTER_OSLAB_PORT_BASE, now {os.environ.get('UTTER_OSLAB_PORT_BASE', DEFAULT_PORT_BASE)}, "
                "which moves all five ports)")
    rabbit = rabbit_settings(lab)
    if not port_open(rabbit["port"], rabbit["host"]):
        die(f"RabbitMQ is not reachable at {rabbit['host']}:{rabbit['port']} (start it with `rabbitmq-server "
            "-detached`, or set UTTER_OSLAB_RABBIT_HOST/PORT/USER/PASSWORD)")

    # fresh state: the folder is wiped (only after the checks above proved nothing of it still runs)
    if lab.dir.exists():
        shutil.rmtree(lab.dir)
    for sub in ("run", "logs", "db", "etc", "images", "state/instances", "state/lock"):
        (lab.dir / sub).mkdir(parents=True, exist_ok=True)
    info = {
        "dir": str(lab.dir),
        "venv": str(VENV),
        "ports": ports,
        "rabbit": {k: v for k, v in rabbit.items() if k != "password"},
        "region": REGION,
        "started_at": time.time(),
        "clouds_yaml": str(lab.dir / "clouds.yaml"),
    }
    lab.save_info(info)
    render(lab, ports, rabbit)
    spawn(lab, "setup", [sys.executable, str(Path(__file__).resolve()), "_setup", "--dir", str(lab.dir)])
    say(f"starting in {lab.dir} (keystone :{ports['keystone']}, nova :{ports['nova']}, placement "
        f":{ports['placement']}, glance :{ports['glance']}, neutron stub :{ports['neutron']}); "
        f"progress: {lab.logs / 'setup.log'}")
    if args.no_wait:
        return 0
    args.timeout = args.timeout or float(os.environ.get("UTTER_OSLAB_WAIT_TIMEOUT", "600"))
    return cmd_wait(args)


# --- the background setup -------------------------------------------------------------------------------------

class Setup:
    def __init__(self, lab):
        import requests  # the venv's

        self.requests = requests
        self.http = requests.Session()
        self.lab = lab
        self.info = lab.info()
        self.ports = self.info["ports"]
        self.t0 = time.monotonic()
        self.errors = []
        self.ks = f"http://127.0.0.1:{self.ports['keystone']}/v3"
        self.nova = f"http://127.0.0.1:{self.ports['nova']}/v2.1"
        self.placement = f"http://127.0.0.1:{self.ports['placement']}"
        self.glance = f"http://127.0.0.1:{self.ports['glance']}"
        self.neutron = f"http://127.0.0.1:{self.ports['neutron']}"
        self.events = {k: threading.Event() for k in ("keystone", "placement", "glance", "nova-db", "nova-api")}

    def log(self, msg):
        print(f"[{time.monotonic() - self.t0:6.1f}s] {msg}", flush=True)

    def run(self, name, argv, env=None):
        t = time.monotonic()
        e = service_env(self.lab)
        e.update(env or {})
        with open(self.lab.logs / f"{name}.log", "ab") as f:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=e,
                                 cwd=self.lab.dir)
        if rc != 0:
            raise RuntimeError(f"{' '.join(map(str, argv[:4]))} ... failed ({rc}); see {self.lab.logs}/{name}.log")
        self.log(f"{name}: done in {time.monotonic() - t:.1f}s")

    # -- databases: migrated once per venv, then copied (the schema cache)
    def schema(self, name, files, migrate):
        """Gives the lab fresh, empty, migrated databases `files` (names in db/): copies of the schema cache of
        this venv when it has them, else runs `migrate` and fills the cache. Then switches them to WAL."""
        import sqlite3

        cache = VENV / "lab-schema-cache"
        stamp = (VENV / ".utter-openstack-lab.sha256").read_text().strip() if (
            VENV / ".utter-openstack-lab.sha256").exists() else "unstamped"
        use_cache = os.environ.get("UTTER_OSLAB_SCHEMA_CACHE", "1") != "0"
        dbdir = self.lab.dir / "db"
        hit = use_cache and all((cache / f).exists() for f in files) and (
            cache / "stamp").exists() and (cache / "stamp").read_text().strip() == stamp
        t = time.monotonic()
        if hit:
            for f in files:
                shutil.copyfile(cache / f, dbdir / f)
            self.log(f"{name}: databases copied from the schema cache ({', '.join(files)})")
        else:
            migrate()
            if use_cache:
                cache.mkdir(exist_ok=True)
                if not (cache / "stamp").exists() or (cache / "stamp").read_text().strip() != stamp:
                    for old in cache.glob("*.db"):
                        old.unlink()
                    (cache / "stamp").write_text(stamp + "\n")
                for f in files:
                    tmp = cache / f"{f}.{os.getpid()}.tmp"
                    shutil.copyfile(dbdir / f, tmp)
                    tmp.replace(cache / f)
        for f in files:
            db = sqlite3.connect(dbdir / f)
            db.execute("PRAGMA journal_mode = WAL")
            db.close()
        self.log(f"{name}: databases ready in {time.monotonic() - t:.1f}s")

    def wait_http(self, name, url, timeout=120, ok=(200, 300, 401)):
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            pid = self.lab.pids().get(name)
            if pid and not alive(pid):
                raise RuntimeError(f"{name} exited; see {self.lab.logs}/{name}.log")
            try:
                r = self.http.get(url, timeout=5)
                if r.status_code in ok:
                    self.log(f"{name}: answering on {url} ({time.monotonic() - t:.1f}s after launch)")
                    return
            except self.requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer on {url} within {timeout}s; see {self.lab.logs}/{name}.log")

    def spawn(self, name, argv, env=None):
        spawn(self.lab, name, argv, env)
        self.log(f"{name}: launched")

    def thread(self, fn):
        def wrapped():
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported, makes the setup fail
                self.errors.append(f"{fn.__name__}: {e}")
                self.log(f"FAILED {fn.__name__}: {e}")
        t = threading.Thread(target=wrapped, name=fn.__name__, daemon=True)
        t.start()
        return t

    def waitev(self, *names, timeout=300):
        for n in names:
            t = time.monotonic()
            while not self.events[n].wait(0.2):
                if self.errors:
                    raise RuntimeError(f"gave up waiting for {n} (another step failed)")
                if time.monotonic() - t > timeout:
                    raise RuntimeError(f"timed out waiting for {n}")

    # -- keystone
    def token(self, user, password, project):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = self.http.post(self.ks + "/auth/tokens", json=body, timeout=30)
        r.raise_for_status()
        return r.headers["X-Subject-Token"], r.json()["token"]

    def keys(self):
        # what `keystone-manage fernet_setup` / `credential_setup` write: key 0 staged, key 1 primary
        for sub in ("fernet", "credential"):
            d = self.lab.dir / sub
            d.mkdir(mode=0o700)
            for i in ("0", "1"):
                (d / i).write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
                os.chmod(d / i, 0o600)

    def keystone(self):
        conf = str(self.lab.dir / "etc/keystone/keystone.conf")
        km = [str(VENV / "bin/keystone-manage"), "--config-file", conf]
        url = f"http://127.0.0.1:{self.ports['keystone']}/v3"
        self.schema("keystone", ["keystone.db"], lambda: self.run("keystone-manage", km + ["db_sync"]))
        self.run("keystone-manage", km + [
            "bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-username", "admin",
            "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
            "--bootstrap-admin-url", url, "--bootstrap-internal-url", url, "--bootstrap-public-url", url,
            "--bootstrap-region-id", REGION])
        self.spawn("keystone", uwsgi_argv(self.ports["keystone"], "keystone.wsgi.api:application", "keystone"),
                   {"OS_KEYSTONE_CONFIG_FILES": conf})
        self.wait_http("keystone", self.ks)
        self.catalog()
        self.events["keystone"].set()

    def catalog(self):
        t = time.monotonic()
        tok, _ = self.token("admin", ADMIN_PASSWORD, "admin")
        h = {"X-Auth-Token": tok}
        s = self.http

        def post(path, body):
            r = s.post(self.ks + path, json=body, headers=h, timeout=30)
            if r.status_code >= 300:
                raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
            return r.json()

        roles = {r["name"]: r["id"] for r in s.get(self.ks + "/roles", headers=h, timeout=30).json()["roles"]}
        svc = post("/projects", {"project": {"name": "service", "domain_id": "default"}})["project"]["id"]
        prov = post("/projects", {"project": {"name": PROVIDER, "domain_id": "default",
                                              "description": "the utter provider agent's project"}})["project"]["id"]
        users = {}
        for u, pw in (("nova", SERVICE_PASSWORD), ("placement", SERVICE_PASSWORD), ("glance", SERVICE_PASSWORD),
                      (PROVIDER, PROVIDER_PASSWORD)):
            users[u] = post("/users", {"user": {"name": u, "password": pw, "domain_id": "default"}})["user"]["id"]
        grants = [(svc, users[u], roles["admin"]) for u in ("nova", "placement", "glance")]
        grants += [(svc, users[u], roles["service"]) for u in ("nova", "placement", "glance") if "service" in roles]
        grants.append((prov, users[PROVIDER], roles["member"]))
        for p, u, r in grants:
            rr = s.put(f"{self.ks}/projects/{p}/users/{u}/roles/{r}", headers=h, timeout=30)
            if rr.status_code >= 300:
                raise RuntimeError(f"role grant: {rr.status_code} {rr.text[:200]}")
        for name, typ, url in (("nova", "compute", self.nova), ("placement", "placement", self.placement),
                               ("glance", "image", self.glance), ("neutron", "network", self.neutron)):
            sid = post("/services", {"service": {"name": name, "type": typ}})["service"]["id"]
            for iface in ("public", "internal", "admin"):
                post("/endpoints", {"endpoint": {"service_id": sid, "interface": iface, "url": url,
                                                 "region_id": REGION}})
        # an application credential of the provider user (the other way the agent may log in)
        ptok, _ = self.token(PROVIDER, PROVIDER_PASSWORD, PROVIDER)
        r = s.post(f"{self.ks}/users/{users[PROVIDER]}/application_credentials", headers={"X-Auth-Token": ptok},
                   json={"application_credential": {"name": "utter-lab", "description": "utter lab"}}, timeout=30)
        if r.status_code >= 300:
            raise RuntimeError(f"application credential: {r.status_code} {r.text[:200]}")
        ac = r.json()["application_credential"]
        self.info.update({"provider_project_id": prov, "provider_user_id": users[PROVIDER],
                          "service_project_id": svc})
        self.write_clouds(ac["id"], ac["secret"])
        self.log(f"keystone: catalog, users, projects, application credential in {time.monotonic() - t:.1f}s")

    def write_clouds(self, ac_id, ac_secret):
        ks = f"http://127.0.0.1:{self.ports['keystone']}/v3"

        def pw_cloud(user, password, project):
            return (f"    auth:\n      auth_url: {ks}\n      username: {user}\n      password: {password}\n"
                    f"      project_name: {project}\n      user_domain_name: Default\n"
                    f"      project_domain_name: Default\n"
                    f"    region_name: {REGION}\n    interface: public\n    identity_api_version: 3\n")

        text = (
            "# written by scripts/openstack-lab start; the lab's clouds (loopback only, throwaway secrets)\n"
            "clouds:\n"
            f"  {CLOUD}:  # the provider agent: non-admin user {PROVIDER}, role member in project {PROVIDER}\n"
            + pw_cloud(PROVIDER, PROVIDER_PASSWORD, PROVIDER)
            + f"  {CLOUD}-admin:  # the cloud's admin (flavors, quotas, hypervisors, services)\n"
            + pw_cloud("admin", ADMIN_PASSWORD, "admin")
            + f"  {CLOUD}-appcred:  # the provider user again, through an application credential\n"
            f"    auth_type: v3applicationcredential\n"
            f"    auth:\n      auth_url: {ks}\n      application_credential_id: {ac_id}\n"
            f"      application_credential_secret: {ac_secret}\n"
            f"    region_name: {REGION}\n    interface: public\n    identity_api_version: 3\n")
        p = self.lab.dir / "clouds.yaml"
        p.write_text(text)
        os.chmod(p, 0o600)

    # -- placement, glance, neutron stub
    def placement_svc(self):
        conf_dir = str(self.lab.dir / "etc/placement")
        self.schema("placement", ["placement.db"], lambda: self.run(
            "placement-manage", [str(VENV / "bin/placement-manage"), "--config-dir", conf_dir, "db", "sync"]))
        self.spawn("placement", uwsgi_argv(self.ports["placement"], "placement.wsgi.api:application", "placement"),
                   {"OS_PLACEMENT_CONFIG_DIR": conf_dir})
        self.wait_http("placement", self.placement)
        self.events["placement"].set()

    def glance_svc(self):
        conf_dir = str(self.lab.dir / "etc/glance")
        self.schema("glance", ["glance.db"], lambda: self.run(
            "glance-manage", [str(VENV / "bin/glance-manage"), "--config-file", conf_dir + "/glance-api.conf",
                              "db_sync"]))
        self.spawn("glance", uwsgi_argv(self.ports["glance"], "glance.wsgi.api:application", "glance"),
                   {"OS_GLANCE_CONFIG_DIR": conf_dir})
        self.wait_http("glance", self.glance + "/versions")
        self.events["glance"].set()

    # -- rabbit vhost + nova
    def rabbit_vhost(self):
        r = self.info["rabbit"]
        vhost = r["vhost"]
        ctl = shutil.which("rabbitmqctl")
        if vhost == "/":
            return
        if not ctl:
            raise RuntimeError("rabbitmqctl not found, so no vhost can be made for this lab; set "
                               "UTTER_OSLAB_RABBIT_VHOST=/ to share the default vhost (one lab at a time)")
        t = time.monotonic()
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        # a vhost left by a lab that was not stopped: drop it with its queues
        subprocess.call([ctl, "-q", "delete_vhost", vhost], **quiet)
        for argv in (["add_vhost", vhost], ["set_permissions", "-p", vhost, r["user"], ".*", ".*", ".*"]):
            p = subprocess.run([ctl, "-q"] + argv, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"rabbitmqctl {' '.join(argv)} failed: {(p.stderr or p.stdout).strip()[:300]} "
                                   "(set UTTER_OSLAB_RABBIT_VHOST=/ to use the default vhost: one lab at a time)")
        self.log(f"rabbitmq: vhost {vhost} ready in {time.monotonic() - t:.1f}s")

    def nova_svc(self):
        conf_dir = str(self.lab.dir / "etc/nova")
        v = str(VENV / "bin")
        db = self.lab.dir / "db"

        def migrate():
            self.run("nova-db", [v + "/python", str(HERE / "nova_db.py"), "migrate", conf_dir, str(self.lab.dir)])
            shutil.copyfile(db / "nova_cell1.db", db / "nova_cell0.db")
        self.schema("nova", ["nova_api.db", "nova_cell1.db", "nova_cell0.db"], migrate)
        self.run("nova-db", [v + "/python", str(HERE / "nova_db.py"), "cells", conf_dir, str(self.lab.dir)])
        self.events["nova-db"].set()
        self.spawn("nova-api", uwsgi_argv(self.ports["nova"], "nova.wsgi.osapi_compute:application", "nova-api"),
                   {"OS_NOVA_CONFIG_DIR": conf_dir})
        # conductor and scheduler log in to keystone as the nova user while they start (and exit if they
        # cannot); nova-compute reports its resources to placement at start: wait for keystone's users first
        self.waitev("keystone")
        self.spawn("nova-conductor", [v + "/nova-conductor", "--config-dir", conf_dir])
        self.spawn("nova-scheduler", [v + "/nova-scheduler", "--config-dir", conf_dir])
        self.waitev("placement")
        # nova-compute pings the conductor when it starts; a ping sent before the conductor's queue exists is
        # lost, and costs a 10 s timeout
        self.wait_consumer("nova-conductor", "conductor")
        self.spawn("nova-compute", [v + "/nova-compute", "--config-dir", conf_dir])
        self.wait_http("nova-api", self.nova.rsplit("/", 1)[0] + "/", ok=(200, 300))
        self.events["nova-api"].set()

    def wait_consumer(self, name, queue, timeout=180):
        import amqp  # the venv's (oslo.messaging's AMQP client)

        r = self.info["rabbit"]
        password = os.environ.get("UTTER_OSLAB_RABBIT_PASSWORD", "guest")
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            pid = self.lab.pids().get(name)
            if pid and not alive(pid):
                raise RuntimeError(f"{name} exited; see {self.lab.logs}/{name}.log")
            try:
                conn = amqp.Connection(f"{r['host']}:{r['port']}", userid=r["user"], password=password,
                                       virtual_host=r["vhost"], connect_timeout=5)
                conn.connect()
                try:
                    _, _, consumers = conn.channel().queue_declare(queue, passive=True)
                finally:
                    conn.close()
                if consumers:
                    self.log(f"{name}: consuming from queue {queue} ({time.monotonic() - t:.1f}s)")
                    return
            except amqp.exceptions.NotFound:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{name} does not consume from {queue} after {timeout}s")

    # -- content
    def admin_headers(self):
        tok, _ = self.token("admin", ADMIN_PASSWORD, "admin")
        return {"X-Auth-Token": tok, "OpenStack-API-Version": "compute 2.90"}

    def flavors(self):
        self.waitev("keystone", "nova-api")
        h = self.admin_headers()
        for f in FLAVORS:
            body = {"flavor": dict(f, **{"os-flavor-access:is_public": True})}
            r = self.http.post(self.nova + "/flavors", headers=h, json=body, timeout=60)
            if r.status_code >= 300:
                raise RuntimeError(f"flavor {f['name']}: {r.status_code} {r.text[:300]}")
        self.info["flavors"] = {f["name"]: f["id"] for f in FLAVORS}
        self.log(f"nova: flavors {', '.join(f['name'] for f in FLAVORS)}")

    def image(self):
        self.waitev("keystone", "glance")
        h = {"X-Auth-Token": self.admin_headers()["X-Auth-Token"]}
        r = self.http.post(self.glance + "/v2/images", headers=h, timeout=60, json={
            "name": IMAGE_NAME, "disk_format": "raw", "container_format": "bare", "visibility": "public",
            "min_disk": 0, "min_ram": 0})
        if r.status_code >= 300:
            raise RuntimeError(f"image create: {r.status_code} {r.text[:300]}")
        img = r.json()["id"]
        # the fake driver never reads it; 1 KiB of zeros makes the image `active`
        r = self.http.put(f"{self.glance}/v2/images/{img}/file", data=b"\0" * 1024, timeout=60,
                          headers=dict(h, **{"Content-Type": "application/octet-stream"}))
        if r.status_code >= 300:
            raise RuntimeError(f"image upload: {r.status_code} {r.text[:300]}")
        self.info["images"] = {IMAGE_NAME: img}
        self.log(f"glance: image {IMAGE_NAME} {img}")

    def compute_ready(self, timeout=240):
        """nova-compute up, its host mapped into cell1 (scheduler's periodic discovery), its provider in placement
        with inventory, and listed as a hypervisor"""
        import sqlite3

        self.waitev("keystone", "nova-api", "nova-db")
        t = time.monotonic()
        seen = set()
        h = self.admin_headers()
        while time.monotonic() - t < timeout:
            for name in ("nova-conductor", "nova-scheduler", "nova-compute"):
                pid = self.lab.pids().get(name)
                if pid and not alive(pid):
                    raise RuntimeError(f"{name} exited; see {self.lab.logs}/{name}.log")
            if self.errors:
                raise RuntimeError("another step failed")
            if "service" not in seen:
                r = self.http.get(self.nova + "/os-services?binary=nova-compute", headers=h, timeout=30)
                if r.ok and any(s["state"] == "up" for s in r.json()["services"]):
                    seen.add("service")
                    self.log("nova: nova-compute service up")
            if "mapped" not in seen:
                db = sqlite3.connect(f"file:{self.lab.dir}/db/nova_api.db?mode=ro", uri=True, timeout=5)
                try:
                    if db.execute("select count(*) from host_mappings").fetchone()[0] > 0:
                        seen.add("mapped")
                        self.log("nova: compute host mapped into cell1")
                except sqlite3.Error:
                    pass
                finally:
                    db.close()
            if "placement" not in seen:
                r = self.http.get(self.placement + "/resource_providers", timeout=30,
                                  headers={"X-Auth-Token": h["X-Auth-Token"],
                                           "OpenStack-API-Version": "placement 1.14"})
                rps = r.json().get("resource_providers", []) if r.ok else []
                if rps:
                    inv = self.http.get(f"{self.placement}/resource_providers/{rps[0]['uuid']}/inventories",
                                        headers={"X-Auth-Token": h["X-Auth-Token"]}, timeout=30)
                    if inv.ok and "VCPU" in inv.json().get("inventories", {}):
                        seen.add("placement")
                        self.log("placement: compute node's resource provider has inventory")
            if "hypervisor" not in seen:
                r = self.http.get(self.nova + "/os-hypervisors", headers=h, timeout=30)
                if r.ok and r.json()["hypervisors"]:
                    seen.add("hypervisor")
                    self.log(f"nova: hypervisor {r.json()['hypervisors'][0]['hypervisor_hostname']} listed")
            if seen >= {"service", "mapped", "placement", "hypervisor"}:
                return
            time.sleep(0.5)
        raise RuntimeError(f"compute not ready within {timeout}s (got only: {sorted(seen)}); "
                           f"see {self.lab.logs}/nova-compute.log")

    def boot_check(self):
        """a server of the provider boots to ACTIVE and is deleted again"""
        t = time.monotonic()
        tok, _ = self.token(PROVIDER, PROVIDER_PASSWORD, PROVIDER)
        h = {"X-Auth-Token": tok, "OpenStack-API-Version": "compute 2.90"}
        body = {"server": {"name": "utter-lab-readiness", "flavorRef": FLAVORS[0]["id"],
                           "imageRef": self.info["images"][IMAGE_NAME], "networks": "none", "tags": [READY_TAG]}}
        r = self.http.post(self.nova + "/servers", headers=h, json=body, timeout=60)
        if r.status_code >= 300:
            raise RuntimeError(f"readiness server create: {r.status_code} {r.text[:300]}")
        sid = r.json()["server"]["id"]
        s = {}
        while time.monotonic() - t < 120:
            s = self.http.get(f"{self.nova}/servers/{sid}", headers=h, timeout=30).json()["server"]
            if s["status"] in ("ACTIVE", "ERROR"):
                break
            time.sleep(0.3)
        if s.get("status") != "ACTIVE":
            raise RuntimeError(f"readiness server is {s.get('status')}: {s.get('fault')}")
        self.log(f"nova: readiness server ACTIVE in {time.monotonic() - t:.1f}s")
        r = self.http.delete(f"{self.nova}/servers/{sid}", headers=h, timeout=60)
        if r.status_code != 204:
            raise RuntimeError(f"readiness server delete: {r.status_code} {r.text[:300]}")
        while time.monotonic() - t < 180:
            if self.http.get(f"{self.nova}/servers/{sid}", headers=h, timeout=30).status_code == 404:
                self.log(f"nova: readiness server deleted ({time.monotonic() - t:.1f}s for the round trip)")
                return
            time.sleep(0.3)
        raise RuntimeError("readiness server was not deleted within 180s")

    def main(self):
        self.log(f"setup of {self.lab.dir} (pid {os.getpid()})")
        self.keys()
        # the stub tells Nova of floating IP changes (network-changed), as Neutron's nova notifier does; it logs
        # in as Nova's service user (a real Neutron has a user of its own with the service role)
        self.spawn("neutron", [sys.executable, str(HERE / "neutron_stub.py"), str(self.ports["neutron"]),
                               str(self.lab.logs / "neutron-requests.log")],
                   {"NEUTRON_STUB_NOVA_AUTH_URL": self.ks, "NEUTRON_STUB_NOVA_USER": "nova",
                    "NEUTRON_STUB_NOVA_PASSWORD": SERVICE_PASSWORD, "NEUTRON_STUB_NOVA_PROJECT": "service"})
        threads = [self.thread(self.keystone), self.thread(self.placement_svc), self.thread(self.glance_svc)]

        def nova():
            self.rabbit_vhost()
            self.nova_svc()
        threads.append(self.thread(nova))
        threads.append(self.thread(self.flavors))
        threads.append(self.thread(self.image))
        threads.append(self.thread(self.compute_ready))
        for t in threads:
            t.join()
        if not self.errors:
            try:
                self.boot_check()
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"boot_check: {e}")
        if self.errors:
            (self.lab.run / "failed").write_text("\n".join(self.errors) + "\n")
            self.log("setup FAILED: " + "; ".join(self.errors))
            return 1
        info = self.lab.info()
        info.update({k: self.info[k] for k in ("provider_project_id", "provider_user_id", "service_project_id",
                                               "flavors", "images")})
        info["ready_after_s"] = round(time.time() - info["started_at"], 1)
        self.lab.save_info(info)
        (self.lab.run / "ready").write_text(f"{info['ready_after_s']}\n")
        self.log(f"lab ready ({info['ready_after_s']}s after `start`)")
        (self.lab.run / "setup.pid").unlink(missing_ok=True)
        return 0


def cmd_setup(args):
    return Setup(Lab(args.dir)).main()


# --- wait / status / stop / logs / smoke ----------------------------------------------------------------------

def health(lab):
    """quick live checks of a ready lab: [(check, ok, detail)]"""
    import requests

    info = lab.info()
    ks = f"http://127.0.0.1:{info['ports']['keystone']}/v3"
    out = []

    def token(user, pw, project):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": pw}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
        r = requests.post(ks + "/auth/tokens", json=body, timeout=20)
        r.raise_for_status()
        cat = {s["type"]: [e["url"] for e in s["endpoints"] if e["interface"] == "public"][0]
               for s in r.json()["token"]["catalog"]}
        return r.headers["X-Subject-Token"], cat

    try:
        token(PROVIDER, PROVIDER_PASSWORD, PROVIDER)
        out.append(("provider token", True, ""))
        tok, cat = token("admin", ADMIN_PASSWORD, "admin")
        h = {"X-Auth-Token": tok, "OpenStack-API-Version": "compute 2.90"}
        sv = requests.get(cat["compute"] + "/os-services?binary=nova-compute", headers=h, timeout=20).json()
        up = [s for s in sv["services"] if s["state"] == "up" and s["status"] == "enabled"]
        out.append(("nova-compute up", bool(up), f"{len(up)}/{len(sv['services'])}"))
        hv = requests.get(cat["compute"] + "/os-hypervisors", headers=h, timeout=20).json()["hypervisors"]
        out.append(("hypervisor listed", bool(hv), ", ".join(x["hypervisor_hostname"] for x in hv)))
    except Exception as e:  # noqa: BLE001
        out.append(("API reachable", False, str(e)[:200]))
    return out


def cmd_wait(args):
    lab = Lab(args.dir)
    if not lab.info():
        die(f"no lab in {lab.dir}; run scripts/openstack-lab start")
    timeout = args.timeout or float(os.environ.get("UTTER_OSLAB_WAIT_TIMEOUT", "600"))
    t = time.monotonic()
    while True:
        if (lab.run / "failed").exists():
            tail(lab.logs / "setup.log", 30, sys.stderr)
            die(f"the lab failed to start: {(lab.run / 'failed').read_text().strip()}")
        if (lab.run / "ready").exists():
            break
        pid = lab.pids().get("setup")
        if pid is None or not alive(pid):
            if (lab.run / "ready").exists():
                break
            tail(lab.logs / "setup.log", 30, sys.stderr)
            die("the lab's setup process is gone and the lab is not ready (stopped?)")
        if time.monotonic() - t > timeout:
            tail(lab.logs / "setup.log", 30, sys.stderr)
            die(f"the lab is not ready after {timeout:.0f}s")
        time.sleep(0.5)
    checks = health(lab)
    bad = [c for c in checks if not c[1]]
    if bad:
        die("lab was ready but is not healthy now: " + "; ".join(f"{c[0]}: {c[2]}" for c in bad))
    info = lab.info()
    say(f"ready ({info.get('ready_after_s')}s from start to ready); clouds: {lab.dir / 'clouds.yaml'} "
        f"(cloud {CLOUD} = provider, {CLOUD}-admin, {CLOUD}-appcred)")
    return 0


def tail(path, n, out=sys.stdout):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return
    for line in lines:
        print(f"  {line}", file=out)


def mem_kb(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def cmd_status(args):
    lab = Lab(args.dir)
    info = lab.info()
    if not info:
        say(f"no lab in {lab.dir}")
        return 3
    pids = lab.pids()
    procs = lab_processes(lab)
    port_of = {"keystone": "keystone", "nova-api": "nova", "placement": "placement", "glance": "glance",
               "neutron": "neutron"}
    state = "ready" if (lab.run / "ready").exists() else "FAILED" if (lab.run / "failed").exists() else (
        "starting" if "setup" in pids and alive(pids["setup"]) else "down")
    if not procs:
        state = "stopped"
    print(f"lab {lab.dir}: {state}" + (f" (ready {info.get('ready_after_s')}s after start)"
                                        if state == "ready" else ""))
    for name in ["setup"] + SERVICES:
        pid = pids.get(name)
        if pid is None:
            if name != "setup":
                print(f"  {name:15} -")
            continue
        port = info["ports"].get(port_of.get(name, ""), None)
        listening = "" if port is None else (f"  127.0.0.1:{port} " + ("listening" if port_open(port) else "closed"))
        print(f"  {name:15} pid {pid:<7} {'running' if alive(pid) else 'dead':8}{listening}")
    print(f"  rabbitmq vhost  {info['rabbit']['vhost']} on {info['rabbit']['host']}:{info['rabbit']['port']}")
    rss, pss = mem_kb(procs)
    print(f"  processes       {len(procs)}: {rss / 1024:.0f} MiB RSS summed, {pss / 1024:.0f} MiB PSS "
          "(shared pages counted once)")
    print(f"  clouds.yaml     {lab.dir / 'clouds.yaml'}")
    if (lab.run / "failed").exists():
        print("  failure: " + (lab.run / "failed").read_text().strip())
    return 0 if state == "ready" else 1


def kill_all(lab, grace=3.0):
    pids = lab.pids()
    # the setup first, so it launches nothing more; then the services, newest first
    order = (["setup"] if "setup" in pids else []) + [n for n in reversed(SERVICES) if n in pids]
    groups = [pids[n] for n in order]
    for g in groups:
        try:
            os.killpg(g, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    t = time.monotonic()
    while time.monotonic() - t < grace:
        if not lab_processes(lab):
            break
        time.sleep(0.1)
    left = lab_processes(lab)
    for g in groups:
        try:
            os.killpg(g, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t = time.monotonic()
    while time.monotonic() - t < 5 and lab_processes(lab):
        time.sleep(0.1)
    return lab_processes(lab)


def cmd_stop(args):
    lab = Lab(args.dir)
    info = lab.info()
    if not info and not lab.run.is_dir():
        say(f"no lab in {lab.dir}; nothing to stop")
        return 0
    n = len(lab_processes(lab))
    left = kill_all(lab)
    if left:
        die(f"processes of the lab still alive after SIGKILL: {left}")
    for f in list(lab.run.glob("*.pid")) + [lab.run / "ready"]:
        f.unlink(missing_ok=True)
    vhost = (info or {}).get("rabbit", {}).get("vhost")
    ctl = shutil.which("rabbitmqctl")
    if vhost and vhost != "/" and ctl:
        subprocess.call([ctl, "-q", "delete_vhost", vhost], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    say(f"stopped {n} processes of {lab.dir}; none left (state and logs kept until the next start)")
    return 0


def cmd_logs(args):
    lab = Lab(args.dir)
    if not lab.logs.is_dir():
        die(f"no logs in {lab.logs}")
    files = sorted(lab.logs.glob("*.log"))
    if not args.service:
        for f in files:
            print(f"== {f.stem} ({f.stat().st_size} bytes): {f}")
            tail(f, args.lines if args.lines is not None else 3)
        return 0
    f = lab.logs / f"{args.service}.log"
    if not f.exists():
        die(f"no log for '{args.service}'; there are: {', '.join(x.stem for x in files)}")
    if args.follow:
        os.execvp("tail", ["tail", "-n", str(args.lines or 50), "-F", str(f)])
    if args.lines is None:
        sys.stdout.write(f.read_text(errors="replace"))
    else:
        tail(f, args.lines)
    return 0


def cmd_smoke(args):
    lab = Lab(args.dir)
    if not (lab.run / "ready").exists():
        die(f"the lab in {lab.dir} is not ready; run scripts/openstack-lab start (or wait)")
    return subprocess.call([sys.executable, str(HERE / "smoke.py"), str(lab.dir / "clouds.yaml"), CLOUD])


def cmd_env(args):
    lab = Lab(args.dir)
    print(f"export OS_CLIENT_CONFIG_FILE={lab.dir / 'clouds.yaml'}")
    print(f"export OS_CLOUD={CLOUD}")
    return 0


def main():
    ap = argparse.ArgumentParser(prog="scripts/openstack-lab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name, fn, help_):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--dir", default=str(DEFAULT_DIR), help=f"the lab's state folder (default {DEFAULT_DIR})")
        p.set_defaults(fn=fn)
        return p

    p = add("start", cmd_start, "start a fresh lab and wait until it is ready")
    p.add_argument("--no-wait", action="store_true", help="return once launched; `wait` later")
    p.add_argument("--timeout", type=float, default=None)
    p = add("wait", cmd_wait, "wait until the lab is ready")
    p.add_argument("--timeout", type=float, default=None, help="seconds (default 600, UTTER_OSLAB_WAIT_TIMEOUT)")
    add("stop", cmd_stop, "stop everything the lab started")
    add("status", cmd_status, "what runs")
    p = add("logs", cmd_logs, "show logs (all, or one service)")
    p.add_argument("service", nargs="?")
    p.add_argument("-n", "--lines", type=int, default=None)
    p.add_argument("-f", "--follow", action="store_true")
    add("smoke", cmd_smoke, "server lifecycle as the provider user")
    add("env", cmd_env, "print export lines for OpenStack clients")
    add("_setup", cmd_setup, argparse.SUPPRESS)
    args = ap.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `logs | head` ends quietly
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
