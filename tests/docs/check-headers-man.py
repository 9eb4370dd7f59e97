#!/usr/bin/env python3
# libkvmi - tests/docs/check-headers-man.py: checks that libkvmi(3)
# describes exactly the public headers: every include/kvmi/*.h (and the
# generated ones, from *.h.in) has an entry "_<kvmi/NAME.h>_" in the man
# page's HEADERS section, and no entry names a header that does not exist.
#
# Usage: check-headers-man.py INCLUDE_KVMI_DIR libkvmi.3.scd
# Exit status: 0 they agree, 1 they differ (on stderr), 2 bad usage.
import os
import re
import sys


def main(argv):
    if len(argv) != 3:
        print('usage: check-headers-man.py INCLUDE_KVMI_DIR MAN.scd',
              file=sys.stderr)
        return 2
    try:
        names = os.listdir(argv[1])
        with open(argv[2]) as f:
            man = f.read()
    except OSError as e:
        print('check-headers-man: %s' % e, file=sys.stderr)
        return 2
    headers = {n[:-3] if n.endswith('.h.in') else n for n in names
               if n.endswith('.h') or n.endswith('.h.in')}
    m = re.search(r'^# HEADERS\n(.*?)(?=^# |\Z)', man, re.S | re.M)
    if not m:
        print('%s: no "# HEADERS" section' % argv[2], file=sys.stderr)
        return 1
    lines = m.group(1).splitlines()
    described = set()
    for i, line in enumerate(lines[:-1]):
        d = re.match(r'^_<kvmi/([\w.-]+)>_\s*$', line)
        if d and lines[i + 1].startswith('\t'):
            described.add(d.group(1))
    problems = ['<kvmi/%s> is installed but not described' % h
                for h in sorted(headers - described)]
    problems += ['<kvmi/%s> is described but does not exist' % h
                 for h in sorted(described - headers)]
    for p in problems:
        print('%s: %s' % (argv[2], p), file=sys.stderr)
    if not problems:
        print('%s: all %d public headers described' % (argv[2], len(headers)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
