#!/usr/bin/env python3
"""libkvmi - bench/sigterm_unhook.py: kvmi-unhookd with GUESTS guests of
BPS breakpoints each, unhooked on SIGTERM (issue 15: 1,000 guests x 100
breakpoints, every guest clean, all closed within 1 s).

kvmi-unhookd (a real process) listens with a hooks file of BPS
breakpoints; one kvmi-fakehost process connects GUESTS guests (1 vCPU,
no workload addresses: the hooks are what is measured).  Once the daemon
has logged every guest hooked, it gets SIGTERM; the figure is the time
from the signal to the daemon's exit (it exits once every channel is
closed), and kvmi-fakehost's verdict per guest (clean: every byte
restored, nothing left enabled).

Prints one line: guests=N bps=N hooked=N bps_placed=N clean=N
sigterm_to_exit_ms=X daemon_rc=N

Usage: sigterm_unhook.py --build DIR [--guests N] [--bps N]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--guests', type=int, default=1000)
    ap.add_argument('--bps', type=int, default=100)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix='kvmi-sigterm-')
    sock, hooks = os.path.join(d, 'sock'), os.path.join(d, 'hooks')
    report = os.path.join(d, 'report.json')
    with open(hooks, 'w') as f:
        # spread over pages of the guest's 64 MiB, away from its code
        for i in range(a.bps):
            f.write(f'bp {0x200000 + i * 0x1040:#x}\n')
    daemon = subprocess.Popen(
        [os.path.join(a.build, 'examples', 'kvmi-unhookd'), '--listen', sock,
         '--hooks', hooks, '--max-guests', str(a.guests + 8)],
        stdout=subprocess.PIPE, text=True)
    hooked, placed = [0], [0]
    all_hooked = threading.Event()

    def read_log():
        # drain the daemon's log (its stdout) for its whole life (a full
        # pipe would stall it), counting the guests it hooked
        for line in daemon.stdout:
            if 'event=hooked' in line:
                hooked[0] += 1
                for w in line.split():
                    if w.startswith('breakpoints='):
                        placed[0] += int(w.split('=', 1)[1])
                if hooked[0] == a.guests:
                    all_hooked.set()
    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    host = subprocess.Popen(
        [os.path.join(a.build, 'tools', 'fakehost', 'kvmi-fakehost'),
         '--connect', sock, '--guests', str(a.guests), '--vcpus', '1',
         '--hot-count', '0', '--duration-ms', '600000', '--report', report,
         '--connect-timeout-ms', '30000'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not all_hooked.wait(300):
            sys.exit(f'sigterm_unhook: {hooked[0]} of {a.guests} guests '
                     f'hooked in 300 s')
        t0 = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        rc = daemon.wait(60)
        ms = (time.monotonic() - t0) * 1000
        host.wait(120)
        reader.join(10)
        with open(report) as f:
            rs = [json.loads(x) for x in f if x.strip()]
    finally:
        for p in (daemon, host):
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)
    clean = sum(r['verdict'] == 'clean' for r in rs)
    print(f'guests={a.guests} bps={a.bps} hooked={hooked[0]} '
          f'bps_placed={placed[0]} clean={clean} '
          f'sigterm_to_exit_ms={ms:.1f} daemon_rc={rc}')


if __name__ == '__main__':
    main()
