#!/usr/bin/env python3
# libkvmi - tests/service/test-service.py: kvmi-unhookd as a service, run
# as a real process against kvmi-fakehost: the --config file honoured and
# overridden by flags, bad config lines reported with FILE:LINE and exit
# status 2, the --metrics-file parsed as Prometheus text with its counters
# compared to kvmi-fakehost's report, READY=1 / STOPPING=1 on a
# NOTIFY_SOCKET the test binds (READY only once the socket listens), and
# SIGHUP reloading the hooks file for the guests that connect afterwards
# (a bad file keeping the old hooks).  The systemd unit is checked with
# systemd-analyze when there is one.
#
# Usage: test-service.py CASE [UNHOOKD]   (CASE: config, bad-config,
#        metrics, notify, reload, unit UNIT_FILE)
# KVMI_UNHOOKD and KVMI_FAKEHOST name the programs (UNHOOKD overrides the
# first).  Synchronisation is on the notify socket, process exit and the
# metrics file's replacement, never on a fixed sleep.
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

UNHOOKD = os.environ.get('KVMI_UNHOOKD')
FAKEHOST = os.environ.get('KVMI_FAKEHOST')
WAIT = 120  # seconds: generous for the sanitizer and valgrind runs
DEMO_BPS = ['0x3010', '0x3200', '0x5008', '0x6100', '0x9040']
HOT = ','.join(DEMO_BPS + ['0x7010'])


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


class Daemon:
    """kvmi-unhookd in the background, its stdout/stderr in files, its
    notifications on a datagram socket of ours."""

    def __init__(self, tmp, args, name='d'):
        self.tmp = tmp
        self.out = os.path.join(tmp, name + '.out')
        self.err = os.path.join(tmp, name + '.err')
        self.nsock_path = os.path.join(tmp, name + '.notify')
        self.nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.nsock.bind(self.nsock_path)
        env = dict(os.environ, NOTIFY_SOCKET=self.nsock_path)
        env.pop('KVMI_SECRET', None)
        with open(self.out, 'w') as o, open(self.err, 'w') as e:
            self.p = subprocess.Popen([UNHOOKD] + args, stdout=o, stderr=e,
                                      env=env)

    def notification(self):
        """The next datagram, or Fail when none comes (or it exits)."""
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            check(left > 0, 'no notification within %d s' % WAIT)
            self.nsock.settimeout(min(left, 1.0))
            try:
                return self.nsock.recv(4096).decode()
            except socket.timeout:
                if self.p.poll() is not None:
                    raise Fail('kvmi-unhookd exited %d before notifying: %s'
                               % (self.p.returncode, self.stderr()))

    def expect(self, state):
        got = self.notification()
        check(got == state, 'notification %r, expected %r' % (got, state))

    def stop(self):
        """SIGTERM; STOPPING=1 then exit 0; its log."""
        self.p.send_signal(signal.SIGTERM)
        self.expect('STOPPING=1')
        rc = self.p.wait(WAIT)
        check(rc == 0, 'kvmi-unhookd exited %d: %s' % (rc, self.stderr()))
        self.nsock.close()
        return self.stdout()

    def stdout(self):
        with open(self.out) as f:
            return f.read()

    def stderr(self):
        with open(self.err) as f:
            return f.read()


def fakehost(sock, report, *args):
    """kvmi-fakehost against @sock; its report's guests (JSON lines)."""
    r = subprocess.run([FAKEHOST, '--connect', sock, '--report', report]
                       + list(args), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=WAIT,
                       env={k: v for k, v in os.environ.items()
                            if k != 'KVMI_SECRET'})
    with open(report) as f:
        guests = [json.loads(line) for line in f if line.strip()]
    return r.returncode, guests


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def listening_line(log):
    m = re.search(r'^.*event=listening .*$', log, re.M)
    check(m, 'no event=listening line in: %s' % log)
    return m.group(0)


# ---- config ----

def case_config(tmp):
    sock = os.path.join(tmp, 'sock')
    me = str(os.getuid())
    conf = write(os.path.join(tmp, 'unhookd.conf'),
                 '# a comment\n\n'
                 'listen = %s\n'
                 '  max-guests=2   # trailing comment\n'
                 'deadline-ms = 4000\n'
                 'allow-uid = %d\n'
                 'allow-uid = %d\n'
                 'verbose = false\n' % (sock, os.getuid() + 1,
                                        os.getuid() + 2))
    report = os.path.join(tmp, 'report')
    host = ['--guests', '3', '--vcpus', '1', '--duration-ms', '1500']

    # the file alone: its uid allow-list refuses us
    d = Daemon(tmp, ['--config', conf], 'file')
    d.expect('READY=1')
    rc, guests = fakehost(sock, report, '--guests', '1', '--vcpus', '1')
    log = d.stop()
    line = listening_line(log)
    check('max_guests=2' in line and 'deadline_ms=4000' in line and
          'allow_uids=2' in line, 'config not honoured: ' + line)
    check(rc != 0 and not guests[0]['handshake_ok'],
          'a uid outside the file\'s allow-list connected')
    check('level=debug' not in log, 'verbose = false turned debug on')

    # flags win: --max-guests 3, and --allow-uid replaces the file's list
    os.unlink(report)
    d = Daemon(tmp, ['--config', conf, '--max-guests', '3',
                     '--allow-uid', me], 'flags')
    d.expect('READY=1')
    rc, guests = fakehost(sock, report, *host)
    log = d.stop()
    line = listening_line(log)
    check('max_guests=3' in line and 'deadline_ms=4000' in line and
          'allow_uids=1' in line, 'flags did not win over the file: ' + line)
    # (not clean: the host ends them while hooked)
    check(len(guests) == 3 and all(g['handshake_ok'] for g in guests),
          'fakehost: %s' % guests)
    check(log.count('event=guest-connected') == 3 and
          'event=guest-refused' not in log, 'three guests not all taken')

    # the file's limit without the flag: the third guest is refused
    os.unlink(report)
    d = Daemon(tmp, ['--config', conf, '--allow-uid', me], 'limit')
    d.expect('READY=1')
    fakehost(sock, report, *host)
    log = d.stop()
    check(log.count('event=guest-connected') == 2 and
          log.count('reason=max-guests max_guests=2') == 1,
          'max-guests = 2 from the file not applied')
    print('config: file honoured (max-guests, deadline-ms, allow-uid), '
          'flags override it, lists replaced')


def case_bad_config(tmp):
    sock = os.path.join(tmp, 'sock')
    good = 'listen = %s\n# comment\n' % sock
    cases = [
        ('unknown key', good + 'max-guest = 3\n', 3, "unknown key 'max-guest'"),
        ('bad number', good + 'deadline-ms = 5000\nmax-guests = lots\n', 4,
         "max-guests 'lots': bad value"),
        ('out of range', good + 'vsock = 0\n', 3, "vsock '0': bad value"),
        ('no =', good + 'listen /tmp/x\n', 3, "expected 'key = value'"),
        ('bad bool', good + 'verbose = yes please\n', 3,
         "verbose 'yes please': bad value (true or false)"),
        ('empty value', good + 'hooks =\n', 3, 'hooks: empty value'),
        ('help is no key', good + 'help = true\n', 3, "unknown key 'help'"),
        ('config is no key', good + 'config = /x\n', 3,
         "unknown key 'config'"),
    ]
    for name, text, line, msg in cases:
        conf = write(os.path.join(tmp, 'bad.conf'), text)
        r = subprocess.run([UNHOOKD, '--config', conf], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=WAIT)
        want = '%s:%d: %s' % (conf, line, msg)
        check(r.returncode == 2, '%s: exit %d, expected 2' % (name,
                                                             r.returncode))
        check(want in r.stderr, '%s: stderr %r lacks %r' % (name, r.stderr,
                                                           want))
        check(not os.path.exists(sock), '%s: it listened anyway' % name)
    r = subprocess.run([UNHOOKD, '--config', os.path.join(tmp, 'missing')],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=WAIT)
    check(r.returncode == 2 and 'missing: No such file' in r.stderr,
          'missing config: %d %r' % (r.returncode, r.stderr))
    # a bad value on the command line is still an error over a good file
    conf = write(os.path.join(tmp, 'good.conf'), good)
    r = subprocess.run([UNHOOKD, '--config', conf, '--max-guests', '0'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=WAIT)
    check(r.returncode == 2 and "--max-guests '0': bad value" in r.stderr,
          'bad flag over a good file: %d %r' % (r.returncode, r.stderr))
    # a metrics file that cannot be written at the start: exit 1, named
    bad = os.path.join(tmp, 'no-such-dir', 'm.prom')
    r = subprocess.run([UNHOOKD, '--config', conf, '--metrics-file', bad],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=WAIT)
    check(r.returncode == 1 and '--metrics-file %s: No such file' % bad
          in r.stderr, 'unwritable metrics file: %d %r' % (r.returncode,
                                                           r.stderr))
    check(not os.path.exists(sock), 'the socket stayed after the failure')
    print('bad-config: %d bad files, each exit 2 naming FILE:LINE; an '
          'unwritable metrics file exit 1' % len(cases))


# ---- metrics ----

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?)\})?'
                    r' (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """{family: {'type', 'help', 'samples': [(name, {labels}, value)]}};
    Fail on anything outside the text exposition format."""
    fams, cur = {}, None
    check(text.endswith('\n'), 'metrics: no final newline')
    for n, line in enumerate(text.split('\n')[:-1], 1):
        where = 'metrics line %d %r' % (n, line)
        if line.startswith('#'):
            m = re.match(r'^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$',
                         line)
            check(m, where + ': a comment that is not HELP or TYPE')
            kind, name, rest = m.groups()
            f = fams.setdefault(name, {'samples': []})
            check(kind.lower() not in f, where + ': second ' + kind)
            if kind == 'TYPE':
                check(rest in ('counter', 'gauge', 'histogram', 'summary',
                               'untyped'), where + ': bad type')
                check(not f['samples'], where + ': TYPE after samples')
            f[kind.lower()] = rest
            cur = name
            continue
        m = SAMPLE.match(line)
        check(m, where + ': not "name{labels} value"')
        name, labels, value = m.groups()
        try:
            v = float(value)
        except ValueError:
            raise Fail(where + ': value is not a number')
        fam = cur
        check(fam is not None and (name == fam or (
            fams[fam].get('type') == 'histogram' and
            name in (fam + '_bucket', fam + '_sum', fam + '_count'))),
            where + ': sample outside its family')
        fams[fam]['samples'].append(
            (name, dict(LABEL.findall(labels or '')), v))
    for name, f in fams.items():
        check('help' in f and 'type' in f, name + ': HELP or TYPE missing')
        if f['type'] == 'counter':
            check(name.endswith('_total'), name + ': counter not *_total')
            check(all(v >= 0 for _, _, v in f['samples']),
                  name + ': negative counter')
        if f['type'] == 'histogram':
            buckets = [(s[1]['le'], s[2]) for s in f['samples']
                       if s[0] == name + '_bucket']
            count = [s[2] for s in f['samples'] if s[0] == name + '_count']
            check(buckets and buckets[-1][0] == '+Inf',
                  name + ': buckets do not end in +Inf')
            les = [float(le) for le, _ in buckets]
            check(les == sorted(les), name + ': le not increasing')
            vals = [v for _, v in buckets]
            check(vals == sorted(vals), name + ': buckets not cumulative')
            check(len(count) == 1 and count[0] == vals[-1],
                  name + ': +Inf bucket != _count')
            check(len([s for s in f['samples'] if s[0] == name + '_sum'])
                  == 1, name + ': no _sum')
    return fams


def value(fams, name, **labels):
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    fam = fams.get(name) or (fams.get(base) if base != name else None)
    check(fam, 'metrics: no family ' + name)
    for n, lab, v in fam['samples']:
        if n == name and lab == labels:
            return v
    return 0.0


def case_metrics(tmp):
    sock = os.path.join(tmp, 'sock')
    mfile = os.path.join(tmp, 'kvmi.prom')
    report = os.path.join(tmp, 'report')
    # five breakpoints and a page where the model's vCPUs execute, and
    # one breakpoint outside guest memory (its placement fails)
    hooks = write(os.path.join(tmp, 'hooks'),
                  ''.join('bp %s\n' % a for a in DEMO_BPS) +
                  'page 0x7000 rx\nbp 0x7fff0000000\n')
    nguests, vcpus, per_vcpu = 3, 2, 100
    d = Daemon(tmp, ['--listen', sock, '--hooks', hooks,
                     '--metrics-file', mfile, '--metrics-interval', '1'])
    d.expect('READY=1')
    # written before the readiness: there at once, and parsable
    with open(mfile) as f:
        first = parse_prometheus(f.read())
    check(value(first, 'kvmi_unhookd_guests_connected') == 0,
          'guests connected at the start')
    ino = os.stat(mfile).st_ino
    rc, guests = fakehost(sock, report, '--guests', str(nguests), '--vcpus',
                          str(vcpus), '--hot-gpa', HOT, '--hot-count', '0',
                          '--events-per-vcpu', str(per_vcpu),
                          '--duration-ms', '3000')
    check(len(guests) == nguests and all(g['handshake_ok'] for g in guests),
          'fakehost guests: %s' % guests)
    # rewritten every second (a new file renamed in: a new inode)
    deadline = time.monotonic() + WAIT
    while os.stat(mfile).st_ino == ino:
        check(time.monotonic() < deadline, 'metrics file never rewritten')
        time.sleep(0.05)  # polling the file, not a synchronisation
    log = d.stop()
    # the last write happened at exit: every guest gone
    with open(mfile) as f:
        fams = parse_prometheus(f.read())
    check(not os.path.exists(mfile + '.tmp'), 'PATH.tmp left behind')

    sent, replied, unreplied = {}, 0, 0
    for g in guests:
        for k, v in g['events_sent'].items():
            sent[k] = sent.get(k, 0) + v
        replied += sum(g['events_replied'].values())
        unreplied += g['events_unreplied']
    check(unreplied == 0, 'the model left events unreplied: %d' % unreplied)
    check(sum(sent.values()) == nguests * vcpus * per_vcpu,
          'fakehost sent %d events' % sum(sent.values()))
    for k, v in sent.items():
        got = value(fams, 'kvmi_unhookd_events_total', type=k)
        check(got == v, 'events_total{type="%s"} %g, fakehost sent %d'
              % (k, got, v))
    check(sent.get('breakpoint', 0) > 0 and sent.get('pf', 0) > 0,
          'no breakpoint or no PF events: %s' % sent)
    check(value(fams, 'kvmi_unhookd_replies_total') == replied,
          'replies %g, fakehost got %d' % (
              value(fams, 'kvmi_unhookd_replies_total'), replied))
    # per guest: enable UNHOOK, 6 breakpoints, restrict + enable PF
    check(value(fams, 'kvmi_unhookd_commands_total') == nguests * 9,
          'commands %g' % value(fams, 'kvmi_unhookd_commands_total'))
    check(value(fams, 'kvmi_unhookd_command_errors_total') == nguests,
          'command errors %g' %
          value(fams, 'kvmi_unhookd_command_errors_total'))
    check(log.count('event=hook-skipped') == nguests,
          'hook-skipped lines: %d' % log.count('event=hook-skipped'))
    check(value(fams, 'kvmi_unhookd_guests_connected') == 0,
          'guests still connected at exit')
    check(value(fams, 'kvmi_unhookd_disconnects_total', reason='ECONNRESET')
          == nguests, 'disconnects: %s' %
          fams['kvmi_unhookd_disconnects_total']['samples'])
    # at least QEMU's 96-byte handshake and an 8-byte header per message
    bin_ = value(fams, 'kvmi_unhookd_bytes_received_total')
    bout = value(fams, 'kvmi_unhookd_bytes_sent_total')
    check(bin_ >= nguests * 96 + sum(sent.values()) * 8,
          'bytes received %g' % bin_)
    check(bout >= replied * 8 + nguests * 9 * 8, 'bytes sent %g' % bout)

    # an unhook asked by QEMU, and a host breaking the protocol
    os.unlink(report)
    d = Daemon(tmp, ['--listen', sock, '--hooks', hooks,
                     '--metrics-file', mfile], 'unhook')
    d.expect('READY=1')
    rc, guests = fakehost(sock, report, '--guests', '2', '--vcpus', '2',
                          '--hot-gpa', HOT, '--hot-count', '0',
                          '--unhook-after-events', '50',
                          '--unhook-timeout-ms', '30000')
    check(rc == 0 and all(g['verdict'] == 'clean' for g in guests),
          'unhook run not clean: %s' % [g.get('verdict') for g in guests])
    os.unlink(report)
    fakehost(sock, report, '--guests', '1', '--vcpus', '1', '--hot-gpa', HOT,
             '--hot-count', '0', '--misbehave', 'unknown-id',
             '--misbehave-after', '5', '--duration-ms', '20000')
    d.stop()
    with open(mfile) as f:
        fams = parse_prometheus(f.read())
    check(value(fams, 'kvmi_unhookd_events_total', type='unhook') == 2,
          'unhook events %g' % value(fams, 'kvmi_unhookd_events_total',
                                     type='unhook'))
    check(value(fams, 'kvmi_unhookd_unhooks_total', result='ok') == 2,
          'unhooks: %s' % fams['kvmi_unhookd_unhooks_total']['samples'])
    check(value(fams, 'kvmi_unhookd_unhook_duration_seconds_count') == 2,
          'histogram count')
    check(value(fams, 'kvmi_unhookd_unhook_duration_seconds_sum') > 0,
          'histogram sum')
    check(value(fams, 'kvmi_unhookd_unhook_duration_seconds_bucket',
                le='30') == 2, 'both unhooks under 30 s')
    check(value(fams, 'kvmi_unhookd_protocol_errors_total',
                code='KVMI_E_UNKNOWN_MSG') == 1,
          'protocol errors: %s' %
          fams['kvmi_unhookd_protocol_errors_total']['samples'])
    print('metrics: %d families parse; events %s, %d replies, %d commands '
          '(%d failed) match; unhook histogram and protocol error counted'
          % (len(fams), sent, replied, nguests * 9, nguests))


# ---- readiness ----

def case_notify(tmp):
    sock = os.path.join(tmp, 'sock')
    mfile = os.path.join(tmp, 'metrics')
    # the daemon writes its first metrics after it listens and before it
    # is ready.  With PATH.tmp a FIFO whose buffer we filled, it stops in
    # that write until we drain it, so the order is seen without a race:
    # once the socket is there, no READY=1 may have come yet
    os.mkfifo(mfile + '.tmp')
    rw = os.open(mfile + '.tmp', os.O_RDWR | os.O_NONBLOCK)
    junk = 0
    try:
        while True:
            junk += os.write(rw, b'#' * 4096)
    except BlockingIOError:
        pass
    rd = os.open(mfile + '.tmp', os.O_RDONLY | os.O_NONBLOCK)
    d = Daemon(tmp, ['--listen', sock, '--metrics-file', mfile])
    deadline = time.monotonic() + WAIT
    while not os.path.exists(sock):  # waiting on the file itself
        check(time.monotonic() < deadline and d.p.poll() is None,
              'the socket never appeared')
        time.sleep(0.01)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(sock)
    c.close()
    try:
        early = d.nsock.recv(4096, socket.MSG_DONTWAIT).decode()
    except BlockingIOError:
        early = None
    check(early is None, 'notification %r before it was ready' % early)
    # let it go: our junk, then its metrics up to its close
    os.close(rw)
    os.set_blocking(rd, True)
    data = b''
    while True:
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(rd)
    check(len(data) > junk and data[:junk] == b'#' * junk,
          'FIFO: %d bytes' % len(data))
    parse_prometheus(data[junk:].decode())
    check(d.notification() == 'READY=1', 'no READY=1 after the listen')
    check('event=listening' in d.stdout(), 'READY=1 before event=listening')
    d.p.send_signal(signal.SIGHUP)  # no hooks file: nothing to reload
    d.expect('RELOADING=1')
    d.expect('READY=1')
    log = d.stop()
    check('event=reload hooks=demo-defaults result=unchanged' in log,
          'SIGHUP without --hooks: ' + log)
    print('notify (%s): READY=1 once the socket listens, STOPPING=1 at '
          'SIGTERM, RELOADING=1 and READY=1 around SIGHUP'
          % os.path.basename(UNHOOKD))


# ---- reload ----

def hooked(log, guest):
    m = re.search(r'event=hooked guest=%s breakpoints=(\d+) pages=(\d+)'
                  % re.escape(guest), log)
    check(m, 'no event=hooked line for %s' % guest)
    return int(m.group(1)), int(m.group(2))


def case_reload(tmp):
    sock = os.path.join(tmp, 'sock')
    report = os.path.join(tmp, 'report')
    hooks = write(os.path.join(tmp, 'hooks'), 'bp 0x3010\n')
    host = ['--guests', '1', '--vcpus', '1', '--hot-count', '0',
            '--duration-ms', '1500']
    d = Daemon(tmp, ['--listen', sock, '--hooks', hooks])
    d.expect('READY=1')
    fakehost(sock, report, '--name', 'before', *host)
    write(hooks, 'bp 0x3010\nbp 0x3200\n# more\npage 0x7000 rx\n')
    d.p.send_signal(signal.SIGHUP)
    d.expect('RELOADING=1')
    d.expect('READY=1')
    fakehost(sock, report, '--name', 'after', *host)
    write(hooks, 'bp 0x3010\nbp nowhere\n')
    d.p.send_signal(signal.SIGHUP)
    d.expect('RELOADING=1')
    d.expect('READY=1')
    fakehost(sock, report, '--name', 'kept', *host)
    log = d.stop()
    check(hooked(log, 'before') == (1, 0), 'before: %s' %
          (hooked(log, 'before'),))
    check(hooked(log, 'after') == (2, 1), 'after the reload: %s' %
          (hooked(log, 'after'),))
    check(hooked(log, 'kept') == (2, 1), 'after the bad reload: %s' %
          (hooked(log, 'kept'),))
    check(re.search(r'event=reload file=\S+ hooks=3 result=ok', log),
          'no reload ok line')
    check(re.search(r'level=error event=hooks-error msg=".*hooks:2: '
                    r'expected \'bp GPA\'', log), 'bad file not logged')
    check(re.search(r'level=error event=reload file=\S+ hooks=3 '
                    r'result=kept-old', log), 'no kept-old line')
    print('reload: 1 bp, then 2 bps + 1 page after SIGHUP, kept after a '
          'bad file')


# ---- the unit ----

def case_unit(tmp, unit):
    sa = shutil.which('systemd-analyze')
    if not sa:
        print('unit: systemd-analyze not found: skipped')
        return 77
    with open(unit) as f:
        text = f.read()
    for need in ('Type=notify', 'RuntimeDirectory=kvmi-unhookd',
                 'Restart=on-failure', 'NoNewPrivileges=yes',
                 'ProtectSystem=strict', 'PrivateDevices=yes',
                 'RestrictAddressFamilies=AF_UNIX AF_VSOCK',
                 'MemoryDenyWriteExecute=yes',
                 'SystemCallFilter=@system-service',
                 'CapabilityBoundingSet=\n'):
        check(need in text, 'unit lacks ' + need.strip())
    # verify wants the ExecStart program to exist: point it at this build
    m = re.search(r'^ExecStart=(\S+)', text, re.M)
    check(m, 'unit has no ExecStart')
    local = os.path.join(tmp, 'kvmi-unhookd.service')
    write(local, text.replace(m.group(1), UNHOOKD, 1))
    r = subprocess.run([sa, 'verify', '--man=no', local],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=WAIT)
    check(r.returncode == 0 and not r.stdout.strip(),
          'systemd-analyze verify: %s' % r.stdout)
    r = subprocess.run([sa, 'security', '--offline=true', local],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=WAIT)
    m = re.search(r'Overall exposure level for \S+: ([0-9.]+)', r.stdout)
    if m:
        check(float(m.group(1)) <= 2.0, 'exposure %s > 2.0' % m.group(1))
    print('unit: systemd-analyze verify clean; exposure %s'
          % (m.group(1) if m else 'not reported'))
    return 0


def main(argv):
    global UNHOOKD
    if len(argv) < 2:
        print(__doc__ or 'usage: test-service.py CASE [UNHOOKD]',
              file=sys.stderr)
        return 2
    case = argv[1]
    if case != 'unit' and len(argv) > 2:
        UNHOOKD = argv[2]
    if not UNHOOKD or not FAKEHOST:
        print('KVMI_UNHOOKD and KVMI_FAKEHOST must be set', file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix='kvmi-service-')
    try:
        if case == 'unit':
            return case_unit(tmp, argv[2])
        {'config': case_config, 'bad-config': case_bad_config,
         'metrics': case_metrics, 'notify': case_notify,
         'reload': case_reload}[case](tmp)
        return 0
    except Fail as e:
        print('FAIL: %s' % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
