#!/usr/bin/env python3
"""libkvmi - tests/e2e/test-threaded.py: kvmi-threaded-example (a thread,
a server and a poll loop per guest, examples/threaded/) against
kvmi-fakehost in real processes.

  unhook   - three guests; each host asks for the unhook after 200
             events: every breakpoint placed (synchronously, in its own
             thread), hit, restored; every guest clean; exit 0.
  sigterm  - two guests that never ask; SIGTERM once both have their
             breakpoints: the tool unhooks both itself, exits 0, both
             guests clean.
  args     - --help, a missing --socket, a bad --bp, a bad --guests.

Usage: test-threaded.py TOOL FAKEHOST CASE
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print(f'FAIL: {msg}')
    sys.exit(1)


def read_lines_until(proc, want, timeout_s):
    """stdout lines of @proc until @want(lines) holds (or it ends)"""
    lines, buf = [], b''
    end = time.monotonic() + timeout_s
    while not want(lines):
        left = end - time.monotonic()
        if left <= 0:
            fail(f'timed out waiting; output so far: {lines}')
        r, _, _ = select.select([proc.stdout], [], [], left)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            lines.append(line.decode())
    return lines


def reports(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_case(tool, fakehost, case):
    d = tempfile.mkdtemp(prefix='kvmi-threaded-')
    sock, rep = os.path.join(d, 'sock'), os.path.join(d, 'report.json')
    guests = 3 if case == 'unhook' else 2
    targs = [tool, '--socket', sock, '--bp', '0x10000', '--bp', '0x11000']
    if case == 'unhook':
        targs += ['--guests', str(guests)]
    fargs = [fakehost, '--connect', sock, '--report', rep,
             '--guests', str(guests), '--vcpus', '2',
             '--hot-gpa', '0x10000,0x11000', '--hot-count', '0']
    fargs += (['--unhook-after-events', '200'] if case == 'unhook'
              else ['--duration-ms', '30000'])
    t = subprocess.Popen(targs, stdout=subprocess.PIPE)
    # kvmi-fakehost retries its connection until the tool listens
    f = subprocess.Popen(fargs, stdout=subprocess.DEVNULL)
    if case == 'sigterm':
        read_lines_until(
            t, lambda ls: sum('2 of 2 breakpoints placed' in x
                              for x in ls) == guests, 30)
        t.send_signal(signal.SIGTERM)
    out, _ = t.communicate(timeout=60)
    fst = f.wait(timeout=60)
    if t.returncode != 0:
        fail(f'{case}: the tool exited {t.returncode}: {out.decode()}')
    if fst != 0:
        fail(f'{case}: kvmi-fakehost exited {fst}')
    rs = reports(rep)
    if len(rs) != guests:
        fail(f'{case}: {len(rs)} reports for {guests} guests')
    for r in rs:
        if r['verdict'] != 'clean' or r['end'] != 'tool-closed':
            fail(f'{case}: guest {r["name"]}: {r["verdict"]}, {r["end"]}')
        if r.get('guest_integrity_errors', 0) or r.get('bytes_differing', 0):
            fail(f'{case}: guest {r["name"]} not restored: {r}')
    print(f'{case}: {guests} guests, each unhooked clean '
          f'({"the host asked" if case == "unhook" else "on SIGTERM"})')


def run_args(tool):
    def rc(args):
        p = subprocess.run([tool] + args, capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr
    code, text = rc(['--help'])
    if code != 0 or '--socket PATH' not in text:
        fail(f'--help: {code} {text}')
    for args, word in ((['--bp', '1'], '--socket is required'),
                       (['--socket', '/tmp/x', '--bp', 'zz'], "'zz'"),
                       (['--socket', '/tmp/x', '--guests', '0'], "'0'"),
                       (['--socket', '/tmp/x', 'extra'], "'extra'")):
        code, text = rc(args)
        if code != 2 or word not in text:
            fail(f'{args}: exit {code}, {text!r}')
    print('args: --help, missing --socket, bad --bp/--guests, extra words')


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    tool, fakehost, case = sys.argv[1:]
    if case == 'args':
        run_args(tool)
    else:
        run_case(tool, fakehost, case)


if __name__ == '__main__':
    main()
