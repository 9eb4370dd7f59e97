#!/usr/bin/env python3
"""libkvmi - tests/interop/test-libvmi.py: LibVMI, built unchanged with its
KVM driver (build-libvmi.py), loads OUR libkvmi.so by dlopen; our small
LibVMI program (libvmi-tool.c) runs against kvmi-fakehost: vmi_init on KVM
with the KVMI socket init data, physical memory and vCPU registers checked
against the fakehost's seeded model, an INT3 event, a memory-access event,
single-step events, pause/resume, vmi_destroy.  The guest's verdict must be
"clean".  Run in the kvmi-v7 dialect (the host LibVMI's users run) and its
2023 revision; then again with the tool holding its INT3 and watch when the
host asks to unhook (LibVMI never enables UNHOOK): our safety net must leave
the guest clean, and with KVMI_SAFETY_NET=0 the same run must leave it
dirty (the control).  LibVMI's libvirt look-up is answered by the stand-in
libvirt.so / libvirt-qemu.so (libvirt-standin.c), put first in
LD_LIBRARY_PATH with our library.  Skipped (77) when the pinned LibVMI
sources (../shared/interop/libvmi.tar.gz) or libvirt's headers are absent.

Usage: test-libvmi.py --stamp FILE --tool-src C --cc CC --extra-flags F
       --libdir DIR --standin-dir DIR --fakehost EXE
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
for opt in ('stamp', 'tool-src', 'cc', 'extra-flags', 'libdir',
            'standin-dir', 'fakehost'):
    ap.add_argument('--' + opt, required=True)
a = ap.parse_args()

if not a.standin_dir:
    print('SKIP: libvirt headers (libvirt-dev) not installed: no stand-in')
    sys.exit(77)
with open(a.stamp) as f:
    stamp = f.read().split()
if stamp[0] == 'absent':
    print('SKIP: %s is not there (interop sources)' % stamp[1])
    sys.exit(77)
prefix = stamp[1]
print('LibVMI: %s' % ' '.join(stamp))

SEED = 7
BP_GPA = 0x10040   # executed by the vCPUs; the tool plants an INT3 here
MEM_GPA = 0x20080  # executed too, on another page: the execute watch

with tempfile.TemporaryDirectory(prefix='kvmi-libvmi-') as tmp:
    exe = os.path.join(tmp, 'libvmi-tool')
    cmd = (shlex.split(a.cc) + shlex.split(a.extra_flags) +
           ['-std=gnu11', '-Wall', '-Wextra', '-Werror',
            '-I' + os.path.join(prefix, 'include'), a.tool_src, '-o', exe,
            '-L' + os.path.join(prefix, 'lib'), '-lvmi', '-ldl',
            '-Wl,-rpath,' + os.path.join(prefix, 'lib')])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        print('compiling libvmi-tool.c against LibVMI failed:\n' + r.stderr)
        sys.exit(1)

    env = dict(os.environ)
    # the stand-in libvirt first, then our libkvmi.so: the names LibVMI
    # dlopens ("libvirt.so", "libvirt-qemu.so", "libkvmi.so")
    env['LD_LIBRARY_PATH'] = ':'.join(
        [a.standin_dir, a.libdir] +
        [p for p in env.get('LD_LIBRARY_PATH', '').split(':') if p])
    env['KVMI_STANDIN_DOMAIN'] = 'fakehost'
    # sanitizer builds: LibVMI's own leak (the domain name kvm_set_name
    # strndup()s and never frees) is not ours; every other leak counts
    supp = os.path.join(tmp, 'lsan.supp')
    with open(supp, 'w') as f:
        f.write('leak:kvm_set_name\n')
    env['LSAN_OPTIONS'] = ':'.join(
        [o for o in [env.get('LSAN_OPTIONS', ''), 'suppressions=' + supp]
         if o])

    # (name, dialect, tool extra args, fakehost extra args, environment,
    #  report fields wanted)
    unhook = ['--unhook-after-events', '300', '--unhook-timeout-ms', '5000']
    scenarios = []
    for d in ('v7', 'v7-2023'):
        scenarios.append(('%s' % d, d, [], [], {},
                          {'end': 'tool-closed', 'verdict': 'clean'}))
        # LibVMI never enables UNHOOK: the safety net restores the INT3
        # and the watch the tool still holds when the host unhooks
        scenarios.append(('%s unhook' % d, d, ['--hold'], unhook, {},
                          {'unhook_sent': True, 'closed_in_time': True,
                           'verdict': 'clean'}))
    # the control: without the net the same guest is left dirty, so the
    # clean verdicts above are the net's doing
    scenarios.append(('v7 unhook, KVMI_SAFETY_NET=0', 'v7', ['--hold'],
                      unhook, {'KVMI_SAFETY_NET': '0'},
                      {'unhook_sent': False, 'end': 'unhook-not-enabled',
                       'bytes_differing': 1, 'pages_restricted': 1}))

    failed = []
    for i, (name, dialect, targs, hargs, xenv, want) in enumerate(scenarios):
        sock = os.path.join(tmp, 'sock-%d' % i)
        report = os.path.join(tmp, 'report-%d.json' % i)
        # the fakehost connects (retrying) once the tool listens
        host = subprocess.Popen(
            [a.fakehost, '--connect', sock, '--dialect', dialect,
             '--report', report, '--vcpus', '2', '--seed', str(SEED),
             '--hot-gpa', '%#x,%#x' % (BP_GPA, MEM_GPA), '--hot-count', '0',
             '--insn', 'exec', '--connect-timeout-ms', '20000',
             '--duration-ms', '60000'] + hargs,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            tool = subprocess.run(
                [exe, sock, 'fakehost', str(SEED), hex(BP_GPA),
                 hex(MEM_GPA)] + targs, env=dict(env, **xenv),
                capture_output=True, text=True, timeout=60)
            hout, herr = host.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            host.kill()
            host.communicate()
            print('[%s] the tool or the fakehost did not end' % name)
            failed.append(name)
            continue
        print('[%s] libvmi-tool (exit %d):\n%s' % (name, tool.returncode,
                                                    tool.stdout.strip()))
        problems = []
        try:
            with open(report) as f:
                rep = json.loads(f.readline())
        except (OSError, ValueError) as e:
            rep = {}
            problems.append('no JSON report (%s)' % e)
        print('[%s] fakehost report: %s' % (name, json.dumps(rep)))
        if tool.returncode:
            problems.append('libvmi-tool exit %d' % tool.returncode)
        if 'libvirt-standin: virDomainLookupByName(fakehost)' not in \
                tool.stderr:
            problems.append('LibVMI did not look the domain up in the '
                            'stand-in libvirt')
        for k, v in want.items():
            if rep.get(k) != v:
                problems.append('report %s = %r, want %r'
                                % (k, rep.get(k), v))
        replied = rep.get('events_replied', {})
        # every event kind the tool asked for was raised and answered
        kinds = ['breakpoint', 'pf', 'pause_vcpu'] + \
            ([] if targs else ['singlestep'])
        for kind in kinds:
            if not replied.get(kind):
                problems.append('no %s event was replied' % kind)
        if rep.get('verdict') == 'clean':
            if rep.get('events_unreplied') != 0:
                problems.append('events left unreplied')
            if host.returncode:
                problems.append('fakehost exit %d' % host.returncode)
        if problems:
            print('[%s] FAILED: %s' % (name, '; '.join(problems)))
            print('[%s] tool stderr:\n%s' % (name, tool.stderr[-3000:]))
            print('[%s] fakehost stderr:\n%s' % (name, herr[-3000:]))
            failed.append(name)
    if failed:
        print('failed: %s' % ', '.join(failed))
        sys.exit(1)
    print('LibVMI on our libkvmi: clean in kvmi-v7 and v7-2023, and on '
          'unhook through the safety net (dirty without it)')
    sys.exit(0)
