#!/usr/bin/env python3
"""libkvmi - check-exports.py: the shared library exports exactly the
functions that include/kvmi/ declares with KVMI_EXPORT (version node
KVMI_0.1) and that include/libkvmi.h declares (node KVMI_1.0), all named
kvmi_*, none of the internal kvmi__* helpers, and every one of the 66
functions libkvmi 1.1 exports (LIBKVMI1-API.md sec. 3), LibVMI's 39 among
them.  Usage: check-exports.py LIB INCDIR [COMPAT_HEADER]
"""
import pathlib
import re
import subprocess
import sys

lib, incdir = sys.argv[1], pathlib.Path(sys.argv[2])
compat = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else None

# the 66 exports of libkvmi 1.1 (facts page, sec. 3)
V1 = """
kvmi_init_unix_socket kvmi_init_vsock kvmi_uninit kvmi_close kvmi_set_log_cb
kvmi_domain_close kvmi_domain_is_connected kvmi_domain_name kvmi_connection_fd
kvmi_get_starttime kvmi_get_version kvmi_get_pending_events kvmi_check_command
kvmi_check_event kvmi_spp_support kvmi_ve_support kvmi_vmfunc_support
kvmi_eptp_support kvmi_control_events kvmi_control_vm_events kvmi_control_cr
kvmi_control_msr kvmi_control_singlestep kvmi_wait_event kvmi_pop_event
kvmi_reply_event kvmi_get_vcpu_count kvmi_get_tsc_speed kvmi_get_cpuid
kvmi_get_registers kvmi_set_registers kvmi_get_xcr kvmi_get_xsave
kvmi_set_xsave kvmi_inject_exception kvmi_translate_gva kvmi_pause_all_vcpus
kvmi_read_physical kvmi_write_physical kvmi_set_page_access
kvmi_set_page_write_bitmap kvmi_get_mtrr_type kvmi_get_maximum_gfn
kvmi_get_next_available_gfn kvmi_memory_mapping kvmi_map_physical_page
kvmi_unmap_physical_page kvmi_remote_mapping_v2 kvmi_batch_alloc
kvmi_batch_commit kvmi_batch_free kvmi_queue_registers kvmi_queue_reply_event
kvmi_queue_page_access kvmi_queue_pause_vcpu kvmi_queue_spp_access
kvmi_set_ve_info_page kvmi_disable_ve kvmi_switch_ept_view kvmi_get_ept_view
kvmi_control_ept_view kvmi_create_ept_view kvmi_destroy_ept_view
kvmi_change_gfn kvmi_alloc_gfn kvmi_free_gfn
""".split()
assert len(V1) == 66
out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                     capture_output=True, text=True).stdout
exported = set()
node = {}
for line in out.splitlines():
    parts = line.split()
    if len(parts) < 3 or parts[1] == "A":
        continue
    name, _, ver = parts[2].partition("@@")
    exported.add(name.split("@")[0])
    node[name.split("@")[0]] = ver


def declared_in(paths):
    names = set()
    for h in paths:
        text = h.read_text()
        for m in re.finditer(r"KVMI_EXPORT\b[^;{]*?\b(kvmi_\w+)\s*\(", text,
                             re.S):
            names.add(m.group(1))
    return names


native = declared_in(sorted(incdir.glob("*.h")))
v1 = declared_in([compat]) if compat else set()
declared = native | v1

bad = False
for name in sorted(native & v1):
    print(f"declared by both the native headers and {compat}: {name}")
    bad = True
for name in sorted(native & exported):
    if node[name] != "KVMI_0.1":
        print(f"native {name} exported in node {node[name]!r}, not KVMI_0.1")
        bad = True
for name in sorted(v1 & exported):
    if node[name] != "KVMI_1.0":
        print(f"1.x {name} exported in node {node[name]!r}, not KVMI_1.0")
        bad = True
if compat:
    for name in V1:
        if name not in v1 or name not in exported:
            print(f"libkvmi 1.1 function missing: {name}")
            bad = True
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
print(f"{len(exported)} exported ({len(native & exported)} native in "
      f"KVMI_0.1, {len(v1 & exported)} 1.x in KVMI_1.0), "
      f"{len(declared)} declared")
sys.exit(1 if bad else 0)
