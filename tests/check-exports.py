#!/usr/bin/env python3
"""libkvmi - check-exports.py: the shared library exports exactly the
functions that include/kvmi/ declares with KVMI_EXPORT, all named kvmi_*,
and none of the internal kvmi__* helpers.  Usage: check-exports.py LIB INCDIR
"""
import pathlib
import re
import subprocess
import sys

lib, incdir = sys.argv[1], pathlib.Path(sys.argv[2])
out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                     capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3 or parts[1] == "A":
        continue
    exported.add(parts[2].split("@")[0])

declared = set()
for h in sorted(incdir.glob("*.h")):
    text = h.read_text()
    for m in re.finditer(r"KVMI_EXPORT\b[^;{]*?\b(kvmi_\w+)\s*\(", text, re.S):
        declared.add(m.group(1))

bad = False
for name in sorted(exported - declared):
    print(f"exported but not declared with KVMI_EXPORT: {name}")
    bad = True
for name in sorted(declared - exported):
    print(f"declared with KVMI_EXPORT but not exported: {name}")
    bad = True
for name in sorted(exported):
    if not name.startswith("kvmi_") or name.startswith("kvmi__"):
        print(f"exported name outside the public namespace: {name}")
        bad = True
print(f"{len(exported)} exported, {len(declared)} declared")
sys.exit(1 if bad else 0)
