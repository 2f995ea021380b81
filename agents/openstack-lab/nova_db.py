"""Nova's databases in one process each (every `nova-manage` run pays ~3 s of imports).

  nova_db.py migrate CONFIG_DIR LAB_DIR   = nova-manage api_db sync; nova-manage db sync (cell1's database)
  nova_db.py cells CONFIG_DIR LAB_DIR     = nova-manage cell_v2 map_cell0; nova-manage cell_v2 create_cell --name cell1

cell0 gets its schema as a copy of cell1's migrated database (both are Nova's "main" schema), made by lab.py,
instead of a second migration run.
"""

import sys
import time

from nova import config, context, objects
from nova.cmd import manage
from nova.db import migration

mode, conf_dir, lab_dir = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.monotonic()
config.parse_args(["nova-manage", "--config-dir", conf_dir])
objects.register_all()
if mode == "migrate":
    migration.db_sync(database="api")
    migration.db_sync(database="main")
    print(f"nova databases migrated in {time.monotonic() - t0:.1f}s")
elif mode == "cells":
    cells = manage.CellV2Commands()
    rc = cells.map_cell0(database_connection=f"sqlite:///{lab_dir}/db/nova_cell0.db")
    if rc != 0:
        sys.exit(f"map_cell0 failed ({rc})")
    rc = cells.create_cell(name="cell1")  # [database] connection and transport_url from nova.conf
    if rc != 0:
        sys.exit(f"create_cell failed ({rc})")
    n = len(objects.CellMappingList.get_all(context.get_admin_context()))
    print(f"{n} cell mappings in {time.monotonic() - t0:.1f}s")
else:
    sys.exit(f"unknown mode {mode}")
