#!/usr/bin/env python3
"""libkvmi - tests/interop/test-hookguest.py: Bitdefender libkvmi's own
example tool, examples/hookguest.c, compiled unchanged against our
<libkvmi.h> and library, run against kvmi-fakehost.  hookguest pauses the
vCPUs, enables CR/MSR/PF events, restricts pages and answers events, and
never enables UNHOOK; the fakehost asks to unhook after some events, the
safety net restores and closes, and the guest must come out clean.  The
pinned sources (../shared/interop/libkvmi-bitdefender.tar.gz) are built
in a scratch directory only; without them the test is skipped (77).

Usage: test-hookguest.py --tarball T --cc CC --extra-flags F --inc DIR
       --gen-inc DIR --libdir DIR --fakehost EXE [--dialect D]
(--dialect: the fakehost's host dialect, v6 by default, v7 or v7-2023)
"""
import argparse
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile

ap = argparse.ArgumentParser()
for opt in ('tarball', 'cc', 'extra-flags', 'inc', 'gen-inc', 'libdir',
            'fakehost'):
    ap.add_argument('--' + opt, required=True)
ap.add_argument('--dialect', default='v6')
a = ap.parse_args()

if not os.path.exists(a.tarball):
    print('SKIP: %s is not there (interop sources)' % a.tarball)
    sys.exit(77)

with tempfile.TemporaryDirectory(prefix='kvmi-interop-') as tmp:
    with tarfile.open(a.tarball) as t:
        member = next(m for m in t.getmembers()
                      if m.name.endswith('examples/hookguest.c'))
        t.extract(member, tmp, filter='data')
    src = os.path.join(tmp, member.name)
    exe = os.path.join(tmp, 'hookguest')
    cmd = (shlex.split(a.cc) + shlex.split(a.extra_flags) +
           ['-std=gnu11', '-I' + a.inc, '-I' + a.gen_inc, src, '-o', exe,
            '-L' + a.libdir, '-lkvmi', '-Wl,-rpath,' + a.libdir])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        print('compiling hookguest.c unchanged failed:\n' + r.stderr)
        sys.exit(1)
    print('hookguest.c compiled unchanged against <libkvmi.h>')

    sock = os.path.join(tmp, 'sock')
    report = os.path.join(tmp, 'report.json')
    tool = subprocess.Popen([exe, sock], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    # 777: hookguest's answer for "no SPP test"
    tool.stdin.write('777\n')
    tool.stdin.flush()
    host = subprocess.run([a.fakehost, '--connect', sock, '--report', report,
                           '--vcpus', '2', '--unhook-after-events', '200',
                           '--unhook-timeout-ms', '5000',
                           '--duration-ms', '30000',
                           '--dialect', a.dialect],
                          capture_output=True, text=True, timeout=60)
    try:
        out, _ = tool.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        tool.kill()
        out, _ = tool.communicate()
        print('hookguest did not end after the guest closed:\n' + out[-3000:])
        sys.exit(1)
    with open(report) as f:
        rep = f.read()
    print('fakehost report: ' + rep.strip())
    want = ['"unhook_sent":true', '"closed_in_time":true',
            '"verdict":"clean"']
    missing = [w for w in want if w not in rep]
    if missing or host.returncode != 0:
        print('hookguest output (tail):\n' + out[-3000:])
        print('fakehost stderr:\n' + host.stderr)
        print('missing in the report: %s; fakehost exit %d'
              % (missing, host.returncode))
        sys.exit(1)
    # hookguest's only way out is dying on kvmi_wait_event's error
    print('hookguest ended with status %d after the net closed the domain'
          % tool.returncode)
    sys.exit(0)
