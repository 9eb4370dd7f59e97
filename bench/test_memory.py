#!/usr/bin/env python3
# libkvmi - bench/test_memory.py: the memory benchmarks do what
# bench/README.md says (meson suite 'bench'; the figures are not judged,
# only that they are measured and every held event is answered).
#
#  1. bench-memory (native API): idle guests, then --queued: every vCPU's
#     event held, then answered; one line with the counts.
#  2. bench-memory-libkvmi1 (our 1.x layer) against kvmi-fakehost: idle
#     guests, then --queued: one event per vCPU in the library's queue,
#     popped and answered, and the second event of each vCPU answered
#     too; the host's report shows every event of every guest replied
#     (two per vCPU).
#  3. bench-memory-libkvmi1 --fakehost: the tool starts its hosts in
#     waves (a warm-up wave, then the counted guests; the last wave the
#     remainder) and counts only the guests after the warm-up.
#  4. Failures are reported: a host that denies CONTROL_CR makes the 1.x
#     tool exit 1 naming it; bad arguments give the usage and exit 2.
#
# Usage: test_memory.py BENCH_MEMORY BENCH_MEMORY_LIBKVMI1 FAKEHOST HEAP
#   HEAP: 'heap', or 'no-heap' under a sanitizer (its malloc is not
#   glibc's: mallinfo2 reads 0, so the heap figures are not checked)
import json
import os
import subprocess
import sys
import tempfile

MEMORY, MEMORY1, FAKEHOST, HEAP = sys.argv[1:5]
TIMEOUT = 60


def kv(line):
    return dict(x.split('=', 1) for x in line.split() if '=' in x)


def native(*args):
    r = subprocess.run([MEMORY, '--fakehost', FAKEHOST, *args],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, (args, r.stderr)
    return kv(r.stdout.splitlines()[-1])


def libkvmi1(tool_args, host_args):
    """the 1.x tool and kvmi-fakehost; (tool exit, stdout, stderr, the
    host's report lines as dicts)"""
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, 'sock')
        rep = os.path.join(d, 'report')
        t = subprocess.Popen([MEMORY1, '--socket', sock, *tool_args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        subprocess.run([FAKEHOST, '--connect', sock, '--report', rep,
                        '--hot-count', '0', *host_args],
                       capture_output=True, text=True, timeout=TIMEOUT)
        tout, terr = t.communicate(timeout=TIMEOUT)
        with open(rep) as f:
            report = [json.loads(x) for x in f if x.strip()]
    return t.returncode, tout, terr, report


def check_idle(r, guests):
    assert r['guests'] == str(guests), r
    assert HEAP == 'no-heap' or float(r['heap_per_guest']) > 0, r
    assert int(r['rss_idle_kib']) >= int(r['rss_base_kib']), r


def check_queued(r, events):
    assert r['queued'] == str(events) and r['answered'] == str(events), r
    assert HEAP == 'no-heap' or float(r['heap_per_queued_event']) > 0, r
    assert int(r['rss_queued_kib']) >= int(r['rss_idle_kib']), r


def main():
    # 1. native API
    check_idle(native('--guests', '8'), 8)
    r = native('--guests', '3', '--vcpus', '16', '--queued')
    check_idle(r, 3)
    check_queued(r, 48)

    # 2. our 1.x layer
    rc, out, err, rep = libkvmi1(['--guests', '4'],
                                 ['--guests', '4', '--vcpus', '1'])
    assert rc == 0, err
    check_idle(kv(out.splitlines()[-1]), 4)
    assert len(rep) == 4, rep
    rc, out, err, rep = libkvmi1(['--guests', '3', '--queued'],
                                 ['--guests', '3', '--vcpus', '16',
                                  '--insn', 'cr3', '--events-per-vcpu', '2'])
    assert rc == 0, err
    check_queued(kv(out.splitlines()[-1]), 48)
    assert len(rep) == 3, rep
    for g in rep:
        assert g['events_total'] == 32 and g['events_unreplied'] == 0, g

    # 3. our 1.x layer, the hosts started by the tool in waves: warm-up
    #    2, then 2 + 2 + 1
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([MEMORY1, '--socket', os.path.join(d, 'sock'),
                            '--guests', '5', '--wave', '2', '--fakehost',
                            FAKEHOST], capture_output=True, text=True,
                           timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    check_idle(kv(r.stdout.splitlines()[-1]), 5)

    # 4. failures
    rc, out, err, _ = libkvmi1(['--guests', '1', '--queued'],
                               ['--vcpus', '2', '--insn', 'cr3',
                                '--deny-command', 'KVMI_CONTROL_CR'])
    assert rc == 1 and 'enabling CR3 events on vCPU 0' in err, (rc, err)
    for exe in (MEMORY, MEMORY1):
        r = subprocess.run([exe, '--guests', '0'], capture_output=True,
                           text=True, timeout=TIMEOUT)
        assert r.returncode == 2 and 'usage:' in r.stderr, (exe, r.stderr)
    for bad in (['--wave', '0', '--fakehost', FAKEHOST],
                ['--wave', '65', '--fakehost', FAKEHOST],
                ['--queued', '--fakehost', FAKEHOST]):
        r = subprocess.run([MEMORY1, '--socket', '/nonexistent/s', *bad],
                           capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 2 and 'usage:' in r.stderr, (bad, r.stderr)
    # a host that cannot be started: said, exit 1
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([MEMORY1, '--socket', os.path.join(d, 'sock'),
                            '--fakehost', os.path.join(d, 'missing')],
                           capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 1 and 'cannot start' in r.stderr, r.stderr
    print('ok')


if __name__ == '__main__':
    main()
