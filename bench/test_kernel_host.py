#!/usr/bin/env python3
# libkvmi - bench/test_kernel_host.py: the benchmark host model and its
# tools do what bench/README.md says (meson suite 'bench'; no timing is
# judged here).
#
#  1. bench-floor-tool (both reply modes), bench-events --socket (on the
#     server's loop and with --own-loop on kvmi_dom_run) and
#     bench-events-libkvmi1-ours (the 1.x API tool against our 1.x layer,
#     with each host dialect) answer every event of bench-kernel-host
#     with 1 and 4 vCPUs: both sides exit
#     0, the tool times exactly --events events, the host answered at
#     least warm-up + events and reports its latency percentiles.
#  2. A scripted tool (raw socket, here) checks the host's side of the
#     wire: QEMU's 96-byte struct, the GET_VERSION reply of each dialect
#     (8 bytes for v6, 16 for v7), the unknown-command error of each
#     (-95 / -1000), the 576-byte CR event with CR3 old != new; and that
#     an event reply with the wrong seq makes the host fail, naming it.
#  3. Many guests: bench-kernel-host --guests 3 against bench-floor-tool
#     --guests 3 and bench-events: every guest has events answered, the
#     new fields parse; with --slow-guests 1 --slow-ms 100 and
#     bench-events --command-every 5, the host counts the command replies
#     it delayed, the tool saw one take at least 100 ms, and the slow
#     guest's latencies are kept apart; wrong --guests / --slow-guests /
#     --slow-ms / --command-every values are usage errors naming the
#     argument.
#
# Usage: test_kernel_host.py HOST FLOOR_TOOL EVENTS LIBKVMI1_EVENTS
import os
import socket
import struct
import subprocess
import sys
import tempfile

HOST, FLOOR, EVENTS, LIBKVMI1 = sys.argv[1:5]
TIMEOUT = 60


def kv(line):
    return dict(x.split('=', 1) for x in line.split() if '=' in x)


def run_pair(tool, vcpus, extra_host=()):
    tr, hr = both(tool, ['--vcpus', str(vcpus), *extra_host])
    assert tr['events'] == '3000', tr
    assert float(tr['events_per_s']) > 0 and float(tr['cpu_ns_per_event']) > 0
    assert int(hr['answered']) >= 3100, hr
    assert hr['vcpus'] == str(vcpus)
    assert 0 < float(hr['lat_p50_ns']) <= float(hr['lat_p99_ns']) <= \
        float(hr['lat_p999_ns']), hr


def both(tool, host_args, events=3000):
    """run @tool (@events events after 100) against the host with
    @host_args; both must exit 0; their last lines as dicts"""
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, 'sock')
        t = subprocess.Popen(tool + ['--socket', sock, '--events',
                                     str(events), '--warmup', '100'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        h = subprocess.run([HOST, '--connect', sock, '--warmup', '100',
                            *host_args],
                           capture_output=True, text=True, timeout=TIMEOUT)
        tout, terr = t.communicate(timeout=TIMEOUT)
    assert t.returncode == 0, (tool, terr)
    assert h.returncode == 0, (tool, h.stderr)
    return kv(tout.splitlines()[-1]), kv(h.stdout.splitlines()[-1])


def multi(tool, guests, tool_guests, host_extra=(), events=3000):
    tr, hr = both(tool, ['--guests', str(guests), *host_extra], events)
    assert tr['events'] == str(events), tr
    assert tr.get('guests') == tool_guests, tr
    assert hr['guests'] == str(guests), hr
    # every guest had events answered; the host counted them all
    assert int(hr['answered_min']) >= 1, hr
    assert int(hr['answered']) >= events + 100, hr
    assert int(hr['samples']) > 0
    assert 0 < float(hr['lat_p50_ns']) <= float(hr['lat_p99_ns']) <= \
        float(hr['lat_p999_ns']), hr
    return tr, hr


def usage_error(argv, name):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 2, (argv, r.returncode, r.stderr)
    assert name in r.stderr.splitlines()[0], (argv, r.stderr)


def recv_all(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        assert x, 'the host closed early'
        b += x
    return b


def recv_msg(c):
    mid, size, seq = struct.unpack('<HHI', recv_all(c, 8))
    return mid, seq, recv_all(c, size)


def command(c, mid, seq, body=b''):
    c.sendall(struct.pack('<HHI', mid, len(body), seq) + body)
    rid, rseq, data = recv_msg(c)
    assert (rid, rseq) == (mid, seq), (rid, rseq, mid, seq)
    err, = struct.unpack('<i', data[:4])
    return err, data[8:]


def scripted(dialect):
    with tempfile.TemporaryDirectory() as d:
        sock = os.path.join(d, 'sock')
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(sock)
        ls.listen(1)
        h = subprocess.Popen([HOST, '--connect', sock, '--vcpus', '1',
                              '--dialect', dialect], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        ls.settimeout(TIMEOUT)
        c, _ = ls.accept()
        c.settimeout(TIMEOUT)
        size, = struct.unpack('<I', recv_all(c, 4))
        assert size == 96, size
        assert recv_all(c, 92)[28:45] == b'bench-kernel-host'
        c.sendall(struct.pack('<I', 24) + bytes(20))
        err, data = command(c, 2, 1)  # GET_VERSION
        assert err == 0 and len(data) == (16 if dialect == 'v7' else 8)
        assert struct.unpack('<I', data[:4])[0] == 1
        err, _ = command(c, 12, 2)  # no such command in either dialect
        assert err == (-1000 if dialect == 'v7' else -95), err
        err, data = command(c, 5, 3)  # GET_GUEST_INFO
        assert err == 0 and struct.unpack('<I', data[:4])[0] == 1
        vcpu0 = struct.pack('<HHI', 0, 0, 0)
        # CONTROL_EVENTS(CR, on), then CONTROL_CR(3, on) on vCPU 0
        assert command(c, 9, 4, vcpu0 + struct.pack('<HBBI', 1, 1, 0, 0))[0] == 0
        assert command(c, 10, 5, vcpu0 + struct.pack('<BBHI', 1, 0, 0, 3))[0] == 0
        mid, seq, ev = recv_msg(c)
        assert mid == 1 and len(ev) == 568, (mid, len(ev))
        esize, vcpu, eid = struct.unpack('<HHB', ev[:5])
        assert (esize, vcpu, eid) == (544, 0, 1)
        cr, old, new = struct.unpack('<H6xQQ', ev[544:568])
        assert cr == 3 and old != new
        reply = vcpu0 + struct.pack('<BBHI', 0, 1, 0, 0) + struct.pack('<Q', new)
        c.sendall(struct.pack('<HHI', 0, len(reply), seq + 1) + reply)
        out, err = h.communicate(timeout=TIMEOUT)
        c.close()
        ls.close()
    assert h.returncode == 1, (h.returncode, out, err)
    assert 'seq' in err, err


for v in (1, 4):
    run_pair([FLOOR, '--reply', 'each'], v)
    run_pair([FLOOR, '--reply', 'gather', '--epoll'], v, ['--dialect', 'v7'])
    run_pair([EVENTS], v)
    run_pair([EVENTS, '--own-loop'], v)
    for dialect in ('v6', 'v7'):
        run_pair([LIBKVMI1], v, ['--dialect', dialect])
scripted('v6')
scripted('v7')

# many guests on one tool
multi([FLOOR, '--reply', 'each', '--guests', '3'], 3, '3')
multi([EVENTS], 3, '3')
tr, hr = multi([EVENTS], 1, None)  # one guest, the new fields on request
assert 'slow_guests' not in hr
# a slow host among them: its command replies are late, by its own count
# and as the tool saw them (the run lasts several delays); its latencies
# are kept apart
tr, hr = multi([EVENTS, '--command-every', '5'], 3, '3',
               ['--slow-guests', '1', '--slow-ms', '100'], events=20000)
assert hr['slow_guests'] == '1' and hr['slow_ms'] == '100', hr
assert int(hr['slow_replies_delayed']) >= 1, hr
assert int(hr['slow_answered']) >= 1, hr
assert int(hr['samples']) + int(hr['slow_samples']) <= int(hr['answered'])
assert float(tr['command_max_ms']) >= 100, tr
assert int(tr['commands_answered']) >= 1 and tr['command_errors'] == '0', tr
# the own loop: asynchronous commands answered there too
tr, hr = multi([EVENTS, '--own-loop', '--command-every', '5'], 1, None)
assert tr['driver'] == 'own-loop', tr
assert int(tr['commands_answered']) >= 1 and tr['command_errors'] == '0', tr
# without one, the host delays nothing and says nothing of slow guests
tr, hr = multi([EVENTS, '--command-every', '5'], 3, '3')
assert 'slow_replies_delayed' not in hr and int(tr['commands']) >= 1, hr

usage_error([HOST, '--connect', '/nonexistent', '--guests', '0'],
            '--guests')
usage_error([HOST, '--connect', '/nonexistent', '--guests', '3',
             '--slow-guests', '4', '--slow-ms', '10'], '--slow-guests')
usage_error([HOST, '--connect', '/nonexistent', '--slow-guests', '1'],
            '--slow-ms')
usage_error([FLOOR, '--socket', '/nonexistent', '--guests', '0'],
            '--guests')
usage_error([EVENTS, '--socket', '/nonexistent', '--command-every', '0'],
            '--command-every')
usage_error([EVENTS, '--own-loop'], '--own-loop')  # needs --socket
print('kernel-host: ok')
