#!/usr/bin/env python3
# libkvmi - tests/docs/check-example.py: compiles and links a documented
# code example verbatim.  Takes the first fenced code block after an exact
# heading line of a Markdown or scdoc file (up to the next heading of the
# same or a higher level), writes it unchanged as a translation unit in a
# temporary directory outside the tree and builds it with
# `pkg-config --cflags --libs libkvmi`, pkg-config pointed at this build
# tree's meson-uninstalled/ directory.  Fails when the block is missing or
# does not compile and link.
#
# Usage: check-example.py --file README.md --heading '## Using the library'
#          --uninstalled BUILD/meson-uninstalled --pkg-config PKG_CONFIG
#          --cc 'CC ...' [--extra-flags FLAGS]
# Exit status: 0 built, 1 not found or does not build, 2 bad usage.
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile


def extract(text, heading):
    """The first fenced block under @heading, or None."""
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        return None
    level = len(heading) - len(heading.lstrip('#'))
    block = None
    for line in lines[start + 1:]:
        h = re.match(r'^(#+) ', line)
        if block is None and h and len(h.group(1)) <= level:
            return None
        if block is None:
            if line.startswith('```'):
                block = []
        elif line.startswith('```'):
            return '\n'.join(block) + '\n'
        else:
            block.append(line)
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--file', required=True)
    p.add_argument('--heading', required=True)
    p.add_argument('--uninstalled', required=True)
    p.add_argument('--pkg-config', required=True)
    p.add_argument('--cc', required=True)
    p.add_argument('--extra-flags', default='')
    a = p.parse_args()
    with open(a.file) as f:
        code = extract(f.read(), a.heading)
    if code is None:
        print('check-example: %s: no code block under "%s"'
              % (a.file, a.heading), file=sys.stderr)
        return 1
    env = dict(os.environ, PKG_CONFIG_PATH=a.uninstalled)
    env.pop('PKG_CONFIG_SYSROOT_DIR', None)
    r = subprocess.run([a.pkg_config, '--cflags', '--libs', 'libkvmi'],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        print('check-example: pkg-config with PKG_CONFIG_PATH=%s: %s'
              % (a.uninstalled, r.stderr.strip()), file=sys.stderr)
        return 1
    pc_flags = shlex.split(r.stdout)
    tmp = tempfile.mkdtemp(prefix='libkvmi-example-')
    try:
        src = os.path.join(tmp, 'example.c')
        with open(src, 'w') as f:
            f.write(code)
        cmd = (shlex.split(a.cc) + shlex.split(a.extra_flags) +
               ['-Wall', '-Werror', src, '-o', os.path.join(tmp, 'example')]
               + pc_flags)
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            print('check-example: the example under "%s" in %s does not '
                  'build:\n$ %s\n%s' % (a.heading, a.file, ' '.join(cmd),
                                        r.stdout), file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%s, "%s": %d lines compiled and linked verbatim with %s'
          % (a.file, a.heading, code.count('\n'), ' '.join(pc_flags)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
