#!/usr/bin/env python3
# libkvmi - tests/wireshark/check-dissector.py: contrib/wireshark/kvmi.lua
# read through tshark must show, for every message of every valid capture
# in tests/data/, what kvmi-dump prints for it.
#
# For each capture that kvmi-dump decodes without error, the capture is
# converted with `kvmi-dump --pcapng` and opened with
# `tshark -2 -X lua_script:kvmi.lua -T fields`; then per packet: the
# message kind and name, seq, direction (the dissector's and the pcapng
# epb_flags'), stream offset, and every key=value field kvmi-dump prints
# (vcpu, event, gpa, size, err, action, cr, msr, ...) must equal the
# dissector's field; a key kvmi-dump prints that this test does not map
# fails it, so the two cannot drift apart silently.  The request/response
# links (kvmi.reply_to, kvmi.response_in) must be those computed from
# kvmi-dump's lines by (id, seq) for commands and seq for events, and
# kvmi.time the difference of the two packets' timestamps.
#
# Exit 77 (meson: skipped) only when tshark is not installed.
#
# usage: check-dissector.py KVMI_DUMP KVMI_LUA DATA_DIR WIRE_H
import os
import re
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal

if len(sys.argv) != 5:
    sys.exit("usage: check-dissector.py KVMI_DUMP KVMI_LUA DATA_DIR WIRE_H")
DUMP, LUA, DATA, WIRE_H = sys.argv[1:]

TSHARK = shutil.which("tshark")
if not TSHARK:
    print("SKIP: tshark is not installed (Debian package tshark; "
          "scripts/install-deps installs it)")
    sys.exit(77)

# event and action ids by name, from the wire header (kvmi-dump prints
# names, tshark the numbers behind them)
with open(WIRE_H) as f:
    wire = f.read()
EVENT_IDS = {m[0]: int(m[1]) for m in
             re.findall(r"\b(KVMI_EVENT_[A-Z_]+) = (\d+),", wire)
             if not m[0].startswith(("KVMI_EVENT_ACTION_", "KVMI_EVENT_REPLY"))}
ACTION_IDS = {m[0]: int(m[1]) for m in
              re.findall(r"\bKVMI_EVENT_ACTION_([A-Z]+) = (\d+),", wire)}
assert len(EVENT_IDS) == 12 and len(ACTION_IDS) == 3, (EVENT_IDS, ACTION_IDS)

KIND = {"event": 1, "reply": 2, "rejected": 3, "command": 4,
        "event_reply": 5}

# kvmi-dump key -> dissector field, by message kind where it differs
COMMON = {
    "vcpu": "kvmi.vcpu", "gpa": "kvmi.gpa", "size": "kvmi.phys_size",
    "err": "kvmi.err", "action": "kvmi.action", "cr": "kvmi.cr",
    "msr": "kvmi.msr", "enable": "kvmi.enable", "now": "kvmi.now",
    "version": "kvmi.version", "vcpu_count": "kvmi.vcpu_count",
    "tsc_speed": "kvmi.tsc_speed", "gfn": "kvmi.gfn",
    "mode": "kvmi.mode", "rip": "kvmi.regs.rip", "cr3": "kvmi.sregs.cr3",
    "nmsrs": "kvmi.nmsrs", "eax": "kvmi.cpuid.eax", "ebx": "kvmi.cpuid.ebx",
    "ecx": "kvmi.cpuid.ecx", "edx": "kvmi.cpuid.edx",
    "function": "kvmi.cpuid.function", "index": "kvmi.cpuid.index",
    "nr": "kvmi.exception.nr", "has_error": "kvmi.exception.has_error",
    "address": "kvmi.exception.address", "old": "kvmi.old_value",
    "new": "kvmi.new_value", "new_val": "kvmi.new_val", "gva": "kvmi.gva",
    "insn_len": "kvmi.insn_len", "descriptor": "kvmi.descriptor",
    "write": "kvmi.descriptor.write", "view": "kvmi.view",
    "count": "kvmi.count", "wait": "kvmi.wait",
    "common_size": "kvmi.event.common_size", "ctx_size": "kvmi.pf.ctx_size",
    "singlestep": "kvmi.pf.singlestep",
    "rep_complete": "kvmi.pf.rep_complete", "len": "kvmi.data_len",
    "access": "kvmi.access", "event": "kvmi.event_id",
}
BY_KIND = {
    "event": {"type": "kvmi.trap.type", "error_code": "kvmi.trap.error_code",
              "vector": "kvmi.trap.vector", "cr2": "kvmi.trap.cr2"},
    "reply": {"type": "kvmi.mtrr_type"},
    "command": {"error_code": "kvmi.exception.error_code"},
}
# printed by kvmi-dump but not one field: the first SET_PAGE_ACCESS entry
# ("first=GPA:ACCESS") and an event reply's unparsed tail length
SKIPPED = {"first", "tail"}

FIELDS = sorted(set(COMMON.values()) |
                {v for d in BY_KIND.values() for v in d.values()} |
                {"frame.number", "frame.packet_flags_direction",
                 "frame.time_relative", "kvmi.time", "kvmi.dir",
                 "kvmi.offset", "kvmi.kind", "kvmi.name", "kvmi.id",
                 "kvmi.seq", "kvmi.cmd_id", "kvmi.reply_to",
                 "kvmi.response_in"})


def num(s):
    return int(s, 0)


def parse_line(line):
    """kvmi-dump's text line -> dict of what it says."""
    tok = line.split()
    m = {"offset": int(tok[0][1:]), "dir": 0 if tok[1] == "H>T" else 1,
         "fields": {}, "line": line}
    rest = tok[2:]
    if rest[0] == "reply":
        m["kind"], m["name"], rest = "reply", rest[1], rest[2:]
    elif rest[0] == "KVMI_EVENT_REPLY(rejected)":
        m["kind"], m["name"], rest = "rejected", "KVMI_EVENT_REPLY", rest[1:]
    else:
        m["name"], rest = rest[0], rest[1:]
        m["kind"] = {"KVMI_EVENT": "event",
                     "KVMI_EVENT_REPLY": "event_reply"}.get(m["name"],
                                                            "command")
    for t in rest:
        if "=" in t:
            k, v = t.split("=", 1)
            m["fields"][k] = re.sub(r"\(.*\)$", "", v)
        elif t in EVENT_IDS:
            m["fields"]["event"] = str(EVENT_IDS[t])
        elif t != "unknown_id":
            raise ValueError("unexpected token %r in %r" % (t, line))
    m["seq"] = int(m["fields"].pop("seq"))
    if "action" in m["fields"]:
        m["fields"]["action"] = str(ACTION_IDS[m["fields"]["action"]])
    return m


def expected_links(msgs):
    """frame numbers of reply_to / response_in, matched as a reader of
    kvmi-dump's lines would: (id, seq) for commands, seq for events, and
    a rejected event reply puts its event back to wait."""
    pending, reply_to, response_in = {}, {}, {}

    def answer(frame, key):
        req = pending.pop(key, None)
        if req:
            reply_to[frame], response_in[req] = req, frame
        return req

    for i, m in enumerate(msgs, 1):
        k, s = m["kind"], m["seq"]
        if k == "command":
            pending[("c", m["name"], s)] = i
        elif k == "reply":
            answer(i, ("c", m["name"], s))
        elif k == "event":
            pending[("e", s)] = i
        elif k == "event_reply":
            answer(i, ("e", s))
            pending[("r", s)] = i
        else:
            er = answer(i, ("r", s))
            if er and er in reply_to:
                pending[("e", s)] = reply_to[er]
    return reply_to, response_in


def check_capture(path, tmp, env):
    failures = []
    name = os.path.basename(path)
    text = subprocess.run([DUMP, path], capture_output=True, text=True)
    if text.returncode != 0:
        return None  # not a valid capture: not this test's business
    lines = text.stdout.splitlines()
    # the dissector speaks the v6 dialect; kvmi-dump names any other
    if any(l.startswith("# dialect") and not l.startswith("# dialect v6")
           for l in lines):
        return None
    msgs = [parse_line(l) for l in lines if not l.startswith("#")]
    out = os.path.join(tmp, name + ".pcapng")
    conv = subprocess.run([DUMP, "--pcapng", out, path], capture_output=True,
                          text=True)
    if conv.returncode != 0:
        return ["%s: kvmi-dump --pcapng failed (%d): %s"
                % (name, conv.returncode, conv.stderr.strip())]
    cmd = [TSHARK, "-2", "-n", "-X", "lua_script:" + LUA, "-r", out,
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    ts = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if ts.returncode != 0 or "Lua" in ts.stderr:
        return ["%s: tshark failed (%d): %s"
                % (name, ts.returncode, ts.stderr.strip())]
    rows = [dict(zip(FIELDS, l.split("\t"))) for l in ts.stdout.splitlines()]
    if len(rows) != len(msgs):
        return ["%s: %d packets, kvmi-dump printed %d lines"
                % (name, len(rows), len(msgs))]
    reply_to, response_in = expected_links(msgs)

    def first(row, field):
        return row[field].split("|")[0]

    for i, (m, row) in enumerate(zip(msgs, rows), 1):
        where = "%s packet %d (%s)" % (name, i, m["line"])

        def expect(what, got, want):
            if got != want:
                failures.append("%s: %s is %r, kvmi-dump says %r"
                                % (where, what, got, want))

        expect("kvmi.kind", first(row, "kvmi.kind"), str(KIND[m["kind"]]))
        expect("kvmi.name", first(row, "kvmi.name"), m["name"])
        expect("kvmi.seq", first(row, "kvmi.seq"), str(m["seq"]))
        expect("kvmi.dir", first(row, "kvmi.dir"), str(m["dir"]))
        expect("epb_flags direction",
               num(first(row, "frame.packet_flags_direction")),
               1 if m["dir"] == 0 else 2)
        expect("kvmi.offset", first(row, "kvmi.offset"), str(m["offset"]))
        expect("kvmi.reply_to", first(row, "kvmi.reply_to"),
               str(reply_to.get(i, "")))
        expect("kvmi.response_in", first(row, "kvmi.response_in"),
               str(response_in.get(i, "")))
        want_time = ""
        if i in reply_to:
            want_time = str(Decimal(row["frame.time_relative"]) -
                            Decimal(rows[reply_to[i] - 1]
                                    ["frame.time_relative"]))
        expect("kvmi.time", first(row, "kvmi.time"), want_time)
        for k, v in m["fields"].items():
            if k in SKIPPED:
                continue
            if k == "id":
                field = {"KVMI_CHECK_EVENT": "kvmi.event_id",
                         "KVMI_CHECK_COMMAND": "kvmi.cmd_id"}.get(
                             m["name"], "kvmi.id")
            else:
                field = BY_KIND.get(m["kind"], {}).get(k, COMMON.get(k))
            if not field:
                failures.append("%s: key %r has no dissector field in "
                                "this test" % (where, k))
                continue
            got = row[field]
            if not got:
                failures.append("%s: %s missing (kvmi-dump: %s=%s)"
                                % (where, field, k, v))
                continue
            if k == "access" and m["kind"] == "reply":
                # GET_PAGE_ACCESS: the first 8 values, then ",..."
                want = [num(x) for x in v.split(",") if x != "..."]
                have = [num(x) for x in got.split("|")][:len(want)]
            else:
                want, have = num(v), num(got.split("|")[0])
            expect(field, have, want)
    return failures


def main():
    with tempfile.TemporaryDirectory(prefix="kvmi-wireshark-") as tmp:
        # a fresh profile: no user preference may change the dissection
        env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=tmp)
        failures, checked = [], []
        for f in sorted(os.listdir(DATA)):
            if not f.endswith(".kvmicap"):
                continue
            r = check_capture(os.path.join(DATA, f), tmp, env)
            if r is None:
                continue
            checked.append(f)
            failures += r
    for f in failures:
        print("FAIL:", f)
    print("checked %d captures: %s" % (len(checked), ", ".join(checked)))
    if len(checked) < 4:
        print("FAIL: expected at least the 4 valid captures of tests/data")
        return 1
    return 1 if failures else 0


sys.exit(main())
