#!/usr/bin/env python3
# libkvmi - tests/probe/test-probe.py: kvmi-probe run as a process against
# real peers: kvmi-fakehost in each of its dialects (the --json output
# parsed: dialect, version, vCPUs, feature block, QEMU's handshake fields,
# commands and events the host allows or denies; the fakehost's report
# proves nothing but the checks was sent and nothing was left enabled), a
# wrong secret (exit 4, the message names the cookie), the secret from a
# file and from KVMI_SECRET, hosts that close early (tiny peers written
# here: after GET_VERSION, after start-up), a malformed stream, a silent
# peer, a bad handshake size, no connection within --timeout-ms, a
# connection under way when it passes, listen failures, --help and bad
# arguments.  Synchronisation: the probe's "listening" line on stderr and
# process exits; no sleeps.
#
# Usage: test-probe.py SCENARIO    (KVMI_PROBE, KVMI_FAKEHOST in the env)
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

PROBE = os.environ.get('KVMI_PROBE')
FAKEHOST = os.environ.get('KVMI_FAKEHOST')
WAIT = 60  # s: bound of any one process (not a synchronisation)

# ids in the common (kvmi-v7) numbering
GET_CPUID, READ_PHYSICAL, GET_PAGE_ACCESS = 15, 17, 20
SET_PAGE_WRITE_BITMAP = 26
CREATE_EPT_VIEW, CONTROL_CLEANUP = 43, 64
EVENT_PF, EVENT_BREAKPOINT, EVENT_CPUID = 6, 4, 13


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


class Probe:
    """kvmi-probe started on a private socket; waits for its listening
    line before returning."""

    def __init__(self, *args, env=None, path=None, listen=True):
        self.dir = tempfile.mkdtemp(prefix='kvmi-probe-test-')
        self.sock = path or os.path.join(self.dir, 'sock')
        argv = [PROBE, '--listen', self.sock] + list(args)
        e = dict(os.environ)
        e.pop('KVMI_SECRET', None)
        e.update(env or {})
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=e)
        self.first_err = ''
        if listen:
            self.first_err = self.p.stderr.readline()
            check('listening on' in self.first_err,
                  'no listening line: %r' % self.first_err)

    def finish(self):
        out, err = self.p.communicate(timeout=WAIT)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.rc, self.out, self.err = self.p.returncode, out, \
            self.first_err + err
        return self

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise Failure('probe output is not JSON (%s): %r'
                          % (e, self.out))


def fakehost(sock, *args, env=None):
    e = dict(os.environ)
    e.pop('KVMI_SECRET', None)
    e.update(env or {})
    r = subprocess.run([FAKEHOST, '--connect', sock, '--report', '-'] +
                       list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=e,
                       timeout=WAIT)
    lines = [l for l in r.stdout.splitlines() if l.startswith('{')]
    check(len(lines) == 1, 'fakehost report: %r %r' % (r.stdout, r.stderr))
    return json.loads(lines[0])


def against_fakehost(probe_args, fakehost_args, code, env=None):
    """kvmi-probe with @probe_args, kvmi-fakehost with @fakehost_args;
    the probe must exit with @code.  Returns the probe and the fakehost's
    report."""
    p = Probe(*probe_args, env=env)
    rep = fakehost(p.sock, *fakehost_args)
    p.finish()
    expect_exit(p, code)
    return p, rep


def by_common(items, common):
    found = [i for i in items if i['common_id'] == common]
    check(len(found) == 1, 'common id %d: %r' % (common, found))
    return found[0]


def expect_exit(p, code):
    check(p.rc == code, 'exit %d, expected %d\nstdout: %s\nstderr: %s'
          % (p.rc, code, p.out, p.err))


# ---- every dialect of kvmi-fakehost ----

def dialect(d):
    uuid = '01234567-89ab-cdef-0123-456789abcdef'
    p, rep = against_fakehost(
        ['--json'], ['--dialect', d, '--vcpus', '3', '--name', 'probe-' + d,
                     '--uuid', uuid, '--start-time', '1700000000',
                     '--handshake-size', '104',
                     '--deny-command', 'KVMI_GET_CPUID',
                     '--deny-event', 'KVMI_EVENT_PF'], 0)
    j = p.json()
    check(j['result'] == 'ok' and j['exit_code'] == 0, j['result'])
    h = j['host']
    check(h['dialect'] == d, 'dialect %s' % h['dialect'])
    check(h['dialect_forced'] is False, 'forced')
    check(h['version'] == 1, 'version %r' % h['version'])
    check(h['vcpus'] == 3, 'vcpus %r' % h['vcpus'])
    hs = j['handshake']
    check(hs == {'struct_size': 104, 'uuid': uuid, 'name': 'probe-' + d,
                 'start_time': 1700000000, 'max_gpa': 64 << 20},
          'handshake %r' % hs)
    check(j['cookie'] == {'sent': 'zeros', 'secret_from': None,
                          'accepted': True}, 'cookie %r' % j['cookie'])
    check(j['peer'] and j['peer']['pid'] > 0, 'peer %r' % j['peer'])
    check(j['bytes_from_host'] > 0, 'bytes')

    # the feature block of the GET_VERSION reply
    if d == 'v6':
        check(h['version_reply_size'] == 8 and h['features'] is None,
              'v6 features %r' % h)
    elif d == 'v12':
        check(h['version_reply_size'] == 16 and h['features'] ==
              {'singlestep': True, 'max_msg_size': 8184}, 'v12 %r' % h)
    else:
        check(h['version_reply_size'] == 16 and h['features'] ==
              {'spp': False, 'vmfunc': True, 'eptp': True, 've': False,
               'singlestep': True}, 'v7 %r' % h)

    cmds, evs = j['commands'], j['events']
    for c in cmds + evs:
        check(c['result'] in ('allowed', 'denied', 'unsupported'),
              'unanswered %r' % c)
    cpuid = by_common(cmds, GET_CPUID)
    check(cpuid['result'] == 'denied' and cpuid['allowed'] is False and
          cpuid['error'] == 'EPERM', 'GET_CPUID %r' % cpuid)
    check(cpuid['name'] == ('KVMI_GET_CPUID' if d == 'v6'
                            else 'KVMI_VCPU_GET_CPUID'), cpuid['name'])
    rp = by_common(cmds, READ_PHYSICAL)
    check(rp['result'] == 'allowed' and rp['allowed'] is True, 'READ %r' % rp)
    pf = by_common(evs, EVENT_PF)
    check(pf['result'] == 'denied', 'EVENT_PF %r' % pf)
    check(by_common(evs, EVENT_BREAKPOINT)['allowed'] is True, 'BP')
    # ids that only some dialects have
    commons = {c['common_id'] for c in cmds}
    check((GET_PAGE_ACCESS in commons) == (d == 'v6'), 'GET_PAGE_ACCESS')
    check((CREATE_EPT_VIEW in commons) == (d == 'v7-2023'),
          'CREATE_EPT_VIEW')
    check((CONTROL_CLEANUP in commons) == (d == 'v12'), 'CONTROL_CLEANUP')
    check(({e['common_id'] for e in evs} >= {EVENT_CPUID}) ==
          d.startswith('v7'), 'EVENT_CPUID')
    if d == 'v7':  # the 2021 host's mask lacks SET_PAGE_WRITE_BITMAP
        check(by_common(cmds, SET_PAGE_WRITE_BITMAP)['result'] == 'denied',
              'SET_PAGE_WRITE_BITMAP')
    check(len({c['id'] for c in cmds}) == len(cmds), 'duplicate ids')

    # the host saw the start-up, our GET_VERSION and the checks, nothing
    # else, and was left as it was
    startup = 2 + (1 if d.startswith('v7') else 0)  # + kvmi-v7 probe
    check(rep['commands'] == startup + 1 + len(cmds) + len(evs),
          'host saw %d commands, probe sent %d checks'
          % (rep['commands'], len(cmds) + len(evs)))
    check(rep['end'] == 'tool-closed' and rep['verdict'] == 'clean',
          'report %r' % rep)
    left = rep['hooks_left']
    check(not left['vcpu_events'] and not left['vm_events'] and
          not left['cr_intercepts'] and not left['msr_intercepts'],
          'left enabled: %r' % left)
    print('%s: %d commands, %d events checked, clean host'
          % (d, len(cmds), len(evs)))


def forced_dialect():
    """--dialect tells the probe the dialect (no detection)."""
    p, _ = against_fakehost(['--json', '--dialect', 'v12'],
                            ['--dialect', 'v12'], 0)
    h = p.json()['host']
    check(h['dialect'] == 'v12' and h['dialect_forced'] is True, repr(h))


def text_output():
    """Without --json: sections a person reads, the outcome last; a
    hostile guest name is quoted."""
    p, _ = against_fakehost([], ['--dialect', 'v7', '--name', 'a b\x1b[2J',
                                 '--deny-command', 'KVMI_GET_CPUID'], 0)
    lines = p.out.splitlines()
    for head in ('Connection', 'QEMU handshake', 'Cookie', 'Host',
                 'Commands (CHECK_COMMAND)', 'Events (CHECK_EVENT)'):
        check(head in lines, 'no section %r in %r' % (head, p.out))
    check(lines[-1].startswith('Result: ok (exit 0): probe complete'),
          lines[-1])
    check(any('KVMI_VCPU_GET_CPUID' in l and 'denied (EPERM)' in l
              for l in lines), 'GET_CPUID line')
    check(any('features' in l and 'vmfunc=1' in l for l in lines),
          'features line')
    check('\x1b' not in p.out and r'"a b\x1b[2J"' in p.out,
          'name not quoted: %r' % p.out)


def json_escape():
    """A name with quotes, a control byte and UTF-8 stays valid JSON."""
    name = 'vm "q" \\ \x01 é'
    p, _ = against_fakehost(['--json'], ['--name', name], 0)
    got = p.json()['handshake']['name']
    check(got.encode('latin-1') == name.encode('utf-8'), repr(got))


# ---- the cookie ----

def wrong_secret():
    p, rep = against_fakehost(['--json', '--secret', 'not-the-one'],
                              ['--secret', 'the-secret'], 4)
    j = p.json()
    check(j['result'] == 'handshake-failed', j['result'])
    check(j['cookie'] == {'sent': 'sha1-of-secret', 'secret_from': '--secret',
                          'accepted': False}, repr(j['cookie']))
    check('cookie' in j['cause'] and '--secret' in j['cause'], j['cause'])
    check('after our handshake reply' in j['summary'], j['summary'])
    check(j['bytes_from_host'] == 0 and j['host'] is None, repr(j))
    check(j['handshake']['name'] == 'fakehost', 'handshake')
    check(rep['handshake_ok'] is False, 'fakehost accepted the cookie')
    # without any secret: the cause says zero bytes were sent
    p, _ = against_fakehost([], ['--secret', 'the-secret'], 4)
    check('Likely cause: the cookie most likely did not match: no secret '
          'was given, so we sent 20 zero bytes' in p.out, p.out)


def secret_sources():
    d = tempfile.mkdtemp(prefix='kvmi-probe-secret-')
    path = os.path.join(d, 'secret')
    with open(path, 'w') as f:
        f.write('s3cret\n')
    for args, env, source in ((['--secret-file', path], None,
                               '--secret-file'),
                              ([], {'KVMI_SECRET': 's3cret'},
                               'KVMI_SECRET')):
        p, _ = against_fakehost(['--json'] + args, ['--secret-file', path],
                                0, env=env)
        c = p.json()['cookie']
        check(c == {'sent': 'sha1-of-secret', 'secret_from': source,
                    'accepted': True}, repr(c))
    os.unlink(path)
    os.rmdir(d)


# ---- hosts that end early, written here ----

def qemu_handshake(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    name = b'tiny'.ljust(64, b'\0')
    s.sendall(struct.pack('<I16sIq', 96, b'\x11' * 16, 0, 1700000000) + name)
    return s


def recv_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise Failure('probe closed after %d of %d bytes' % (len(b), n))
        b += c
    return b


def read_msg(s):
    mid, size, seq = struct.unpack('<HHI', recv_exact(s, 8))
    return mid, seq, recv_exact(s, size)


def reply(s, mid, seq, data):
    s.sendall(struct.pack('<HHIiI', mid, 8 + len(data), seq, 0, 0) + data)


def v6_startup(s, answer_guest_info):
    check(len(recv_exact(s, 24)) == 24, 'cookie reply')
    mid, seq, _ = read_msg(s)
    check(mid == 2, 'first command %d, not GET_VERSION' % mid)
    reply(s, mid, seq, struct.pack('<II', 1, 0))
    mid, seq, _ = read_msg(s)
    check(mid == 5, 'second command %d, not GET_GUEST_INFO' % mid)
    if answer_guest_info:
        reply(s, mid, seq, struct.pack('<IIII', 1, 0, 0, 0))


def closes_after_version():
    """The host answers GET_VERSION, then closes: exit 5, the cookie was
    accepted (the host spoke)."""
    p = Probe('--json')
    s = qemu_handshake(p.sock)
    v6_startup(s, answer_guest_info=False)
    s.close()
    p.finish()
    expect_exit(p, 5)
    j = p.json()
    check(j['result'] == 'host-closed-early', j['result'])
    check(j['bytes_from_host'] == 24, 'bytes %r' % j['bytes_from_host'])
    check(j['cookie']['accepted'] is True, repr(j['cookie']))
    check('start-up' in j['summary'] and j['host'] is None, j['summary'])
    check(j['error'] == 'ECONNRESET', j['error'])


def closes_after_ready():
    """The host finishes start-up, then closes at the first check:
    exit 5, the unanswered checks are marked."""
    p = Probe('--json')
    s = qemu_handshake(p.sock)
    v6_startup(s, answer_guest_info=True)
    read_msg(s)  # the first of the probe's own commands
    s.close()
    p.finish()
    expect_exit(p, 5)
    j = p.json()
    check(j['result'] == 'host-closed-early', j['result'])
    check(j['host'] and j['host']['vcpus'] == 1 and
          j['host']['dialect'] == 'v6', repr(j['host']))
    check(j['commands'] and all(c['result'] == 'no-answer'
                                for c in j['commands']), 'checks')
    check('unanswered' in j['summary'], j['summary'])


def malformed_stream():
    """The host sends garbage: exit 6, the detail quotes the decoder;
    -v puts the library's lines on stderr, stdout stays one JSON
    object."""
    p, _ = against_fakehost(['--json', '-v'], ['--misbehave', 'garbage'], 6)
    j = p.json()
    check(j['result'] == 'host-error', j['result'])
    check('malformed message' in j['detail'], j['detail'])
    check('kvmi-probe: libkvmi error: guest=fakehost malformed message'
          in p.err, p.err)


def silent_host():
    """The host never answers GET_VERSION: exit 6 at the handshake
    timeout, the cause says a refusing QEMU would have closed."""
    p, _ = against_fakehost(['--json', '--handshake-timeout-ms', '300'],
                            ['--misbehave', 'no-replies'], 6)
    j = p.json()
    check(j['error'] == 'ETIMEDOUT' and j['cookie']['accepted'] is None,
          repr(j))
    check('within 300 ms' in j['summary'], j['summary'])


def idle_peer():
    """A peer that connects and sends nothing: exit 4 at the handshake
    timeout."""
    p, _ = against_fakehost(['--json', '--handshake-timeout-ms', '300'],
                            ['--misbehave', 'idle'], 4)
    j = p.json()
    check(j['handshake'] is None and 'no complete QEMU handshake'
          in j['summary'], j['summary'])


def bad_handshake_size():
    p, _ = against_fakehost(['--json'], ['--handshake-size', '8'], 4)
    j = p.json()
    check('struct_size' in j['summary'] and 'struct_size 8' in j['detail'],
          repr(j))
    check(j['error'] == 'KVMI_E_HANDSHAKE_SIZE', j['error'])


# ---- before any connection ----

def no_connection():
    p = Probe('--json', '--timeout-ms', '200')
    p.finish()
    expect_exit(p, 3)
    j = p.json()
    check(j['result'] == 'no-connection' and '200 ms' in j['summary'],
          repr(j))
    check(not os.path.exists(p.sock), 'socket left behind')


def interrupted():
    """SIGINT or SIGTERM while nothing connected: exit 3, the socket
    removed."""
    for sig, name in ((signal.SIGINT, 'SIGINT'), (signal.SIGTERM, 'SIGTERM')):
        p = Probe('--json')
        p.p.send_signal(sig)
        p.finish()
        expect_exit(p, 3)
        check(p.json()['summary'] == 'interrupted (%s) before anything '
              'connected' % name, p.out)
        check(not os.path.exists(p.sock), 'socket left behind')


def connection_under_way():
    """--timeout-ms passes while a peer is connected but silent: the
    probe follows it to its end (exit 4), not "nothing connected"."""
    p = Probe('--json', '--timeout-ms', '2000',
              '--handshake-timeout-ms', '2500')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(p.sock)
    p.finish()
    s.close()
    expect_exit(p, 4)
    check('no complete QEMU handshake within 2500 ms'
          in p.json()['summary'], p.out)


def listen_failed():
    d = tempfile.mkdtemp(prefix='kvmi-probe-listen-')
    path = os.path.join(d, 'file')
    with open(path, 'w') as f:
        f.write('not a socket\n')
    p = Probe('--json', path=path, listen=False).finish()
    expect_exit(p, 2)
    j = p.json()
    check(j['result'] == 'listen-failed' and 'EEXIST' in j['summary'] and
          'not a socket' in j['cause'], repr(j))
    with open(path) as f:
        check(f.read() == 'not a socket\n', 'the file was touched')
    p = Probe(path=os.path.join(d, 'no', 'such', 'dir'),
              listen=False).finish()
    expect_exit(p, 2)
    check('Result: listen-failed (exit 2): cannot listen' in p.out, p.out)
    os.unlink(path)
    os.rmdir(d)


# ---- the command line ----

def command_line():
    r = subprocess.run([PROBE, '--help'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=WAIT)
    check(r.returncode == 0 and r.stdout.startswith('usage: kvmi-probe')
          and 'Exit status:' in r.stdout, 'help: %r' % r.stdout)
    bad = [(['--bogus'], 'unknown option --bogus'),
           ([], '--listen PATH or --vsock PORT is required'),
           (['--vsock', '0'], '--vsock: not a port'),
           (['--listen', 's', '--timeout-ms', 'soon'], '--timeout-ms:'),
           (['--listen', 's', '--handshake-timeout-ms', '0'],
            '--handshake-timeout-ms:'),
           (['--listen', 's', '--dialect', 'v9'], '--dialect: not one of'),
           (['--listen', 's', 'extra'], "unexpected argument 'extra'"),
           (['--listen'], '--listen needs an argument'),
           (['--listen', 's', '--secret', 'a', '--secret-file', 'f'],
            '--secret')]
    for args, msg in bad:
        r = subprocess.run([PROBE] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=WAIT)
        check(r.returncode == 1 and msg in r.stderr and not r.stdout,
              '%r: exit %d, %r' % (args, r.returncode, r.stderr))


SCENARIOS = {
    'dialect-v6': lambda: dialect('v6'),
    'dialect-v7': lambda: dialect('v7'),
    'dialect-v7-2023': lambda: dialect('v7-2023'),
    'dialect-v12': lambda: dialect('v12'),
    'forced-dialect': forced_dialect,
    'text-output': text_output,
    'json-escape': json_escape,
    'wrong-secret': wrong_secret,
    'secret-sources': secret_sources,
    'closes-after-version': closes_after_version,
    'closes-after-ready': closes_after_ready,
    'malformed-stream': malformed_stream,
    'silent-host': silent_host,
    'idle-peer': idle_peer,
    'bad-handshake-size': bad_handshake_size,
    'no-connection': no_connection,
    'interrupted': interrupted,
    'connection-under-way': connection_under_way,
    'listen-failed': listen_failed,
    'command-line': command_line,
}


def main(argv):
    if len(argv) != 2 or argv[1] not in SCENARIOS or not PROBE or \
            not FAKEHOST:
        print('usage: KVMI_PROBE=... KVMI_FAKEHOST=... test-probe.py '
              'SCENARIO\nscenarios: ' + ' '.join(SCENARIOS),
              file=sys.stderr)
        return 2
    try:
        SCENARIOS[argv[1]]()
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        print('FAIL %s: %s' % (argv[1], e), file=sys.stderr)
        return 1
    print('ok %s' % argv[1])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
