#!/usr/bin/env python3
# libkvmi - tests/install/test-install.py: proves `meson install` gives a
# usable tree.  Installs the build into a scratch DESTDIR inside the build
# directory, checks the installed files (kvmi-unhookd's systemd unit and
# config among them) and libkvmi.pc (its prefix, libdir,
# includedir and requirements are those of the configured prefix), then in
# a temporary directory outside the source and build trees compiles
# client.c (native API) and client1.c (1.x API, <libkvmi.h>) with
# `pkg-config --cflags --libs libkvmi` from that .pc with its
# prefix rewritten to the DESTDIR's (see relocated_pc), checks that they and the
# installed kvmi-fakehost load the installed libkvmi.so, and runs each
# against kvmi-fakehost: every guest must come out "clean".
#
# Run by meson (suite install) with the paths and options of this build;
# see tests/install/meson.build.  Exit status 0 pass, 1 fail.
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

GUESTS = 2
SECRET = 'install-test'
GPA = '0x3010'


class Fail(Exception):
    pass


def run(cmd, env=None, timeout=120, what=None):
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Fail('%s failed (exit %d):\n%s' % (what or ' '.join(cmd),
                                                 r.returncode, r.stdout))
    return r.stdout


def inside(path, root):
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root + os.sep)


def check_files(a, root):
    """The installed tree has the library, headers, .pc, programs, pages."""
    libdir = root + os.path.join(a.prefix, a.libdir)
    want = [os.path.join(libdir, 'libkvmi.so'),
            os.path.join(libdir, 'libkvmi.so.1'),
            os.path.join(libdir, 'pkgconfig', 'libkvmi.pc'),
            root + os.path.join(a.prefix, a.includedir, 'libkvmi.h')]
    want += [root + os.path.join(a.prefix, a.bindir, p)
             for p in ('kvmi-fakehost', 'kvmi-dump', 'kvmi-unhookd',
                       'kvmi-probe')]
    for page in a.man_pages.split():
        section = page.rsplit('.', 1)[1]
        want.append(root + os.path.join(a.prefix, a.mandir, 'man' + section,
                                        page))
    # kvmi-unhookd's systemd unit (naming the installed program) and its
    # config file
    service = [root + f for f in a.service_files.split()]
    want += service
    missing = [w for w in want if not os.path.exists(w)]
    if missing:
        raise Fail('not installed: %s' % ', '.join(missing))
    for f in service:
        if f.endswith('.service'):
            with open(f) as u:
                exe = os.path.join(a.prefix, a.bindir, 'kvmi-unhookd')
                if 'ExecStart=%s --config ' % exe not in u.read():
                    raise Fail('%s does not run %s' % (f, exe))
    src = {n[:-3] if n.endswith('.h.in') else n
           for n in os.listdir(a.headers) if re.search(r'\.h(\.in)?$', n)}
    inst = set(os.listdir(root + os.path.join(a.prefix, a.includedir, 'kvmi')))
    if src != inst:
        raise Fail('installed headers %s, public headers %s'
                   % (sorted(inst), sorted(src)))
    print('installed: library, %d headers, libkvmi.pc, 4 programs, %d man '
          'pages, %d service files' % (len(inst), len(a.man_pages.split()),
                                       len(service)))
    return libdir


def check_pc(a, libdir):
    """The installed .pc names the configured prefix, not the DESTDIR or
    the build tree, and libuv as a public requirement."""
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, 'pkgconfig'))
    env.pop('PKG_CONFIG_SYSROOT_DIR', None)
    want = {'prefix': a.prefix,
            'libdir': os.path.join(a.prefix, a.libdir),
            'includedir': os.path.join(a.prefix, a.includedir)}
    for var, value in want.items():
        got = run([a.pkg_config, '--variable=' + var, 'libkvmi'],
                  env=env).strip()
        if got != value:
            raise Fail('libkvmi.pc: %s=%s, expected %s' % (var, got, value))
    req = run([a.pkg_config, '--print-requires', 'libkvmi'], env=env).split()
    priv = run([a.pkg_config, '--print-requires-private', 'libkvmi'],
               env=env).split()
    if 'libuv' not in req or 'nettle' not in priv or 'nettle' in req:
        raise Fail('libkvmi.pc: Requires %s, Requires.private %s (want '
                   'libuv public, nettle private)' % (req, priv))
    ver = run([a.pkg_config, '--modversion', 'libkvmi'], env=env).strip()
    if ver != a.version:
        raise Fail('libkvmi.pc: version %s, project %s' % (ver, a.version))
    print('libkvmi.pc: prefix=%s libdir=%s includedir=%s Requires: %s '
          'Requires.private: %s' % (want['prefix'], want['libdir'],
                                    want['includedir'], ' '.join(req),
                                    ' '.join(priv)))


def relocated_pc(a, root, libdir, tmp):
    """A copy of the installed libkvmi.pc in @tmp with prefix= rewritten to
    the DESTDIR's prefix: the .pc as it would read installed there.
    (PKG_CONFIG_SYSROOT_DIR would also prefix libuv's and nettle's -I and
    -L paths with the DESTDIR, pointing them at directories that do not
    exist; --define-variable=prefix would change theirs too.)"""
    with open(os.path.join(libdir, 'pkgconfig', 'libkvmi.pc')) as f:
        text = f.read()
    new, n = re.subn(r'^prefix=.*$', 'prefix=' + root + a.prefix, text,
                     count=1, flags=re.M)
    if n != 1:
        raise Fail('libkvmi.pc has no prefix= line')
    pcdir = os.path.join(tmp, 'pkgconfig')
    os.mkdir(pcdir)
    with open(os.path.join(pcdir, 'libkvmi.pc'), 'w') as f:
        f.write(new)
    return pcdir


def flags(a, root, libdir, pcdir):
    """pkg-config's flags from the relocated .pc: libdir and includedir
    follow the prefix, ours point into the DESTDIR, every -I and -L
    exists, nothing points at the source or build tree."""
    env = dict(os.environ, PKG_CONFIG_PATH=pcdir)
    env.pop('PKG_CONFIG_SYSROOT_DIR', None)
    inc = root + os.path.join(a.prefix, a.includedir)
    for var, value in (('libdir', libdir), ('includedir', inc)):
        got = run([a.pkg_config, '--variable=' + var, 'libkvmi'],
                  env=env).strip()
        if got != value:
            raise Fail('libkvmi.pc: %s does not follow prefix (%s, expected '
                       '%s)' % (var, got, value))
    out = shlex.split(run([a.pkg_config, '--cflags', '--libs', 'libkvmi'],
                          env=env))
    paths = [f[2:] for f in out if f[:2] in ('-I', '-L')]
    bad = [p for p in paths if not os.path.isdir(p) or
           (inside(p, a.source_root) and not inside(p, root))]
    if bad or '-lkvmi' not in out or '-luv' not in out:
        raise Fail('pkg-config flags %s (missing or in-tree paths: %s)'
                   % (out, bad))
    if '-I' + inc not in out or '-L' + libdir not in out:
        raise Fail('pkg-config flags %s lack -I%s or -L%s' % (out, inc,
                                                            libdir))
    print('pkg-config --cflags --libs libkvmi: %s' % ' '.join(out))
    return out


def loads_installed(path, env, libdir):
    """ldd: libkvmi.so.1 of @path resolves into the installed libdir."""
    out = run(['ldd', path], env=env)
    m = re.search(r'libkvmi\.so\.1 => (\S+)', out)
    if not m or not inside(m.group(1), libdir):
        raise Fail('%s loads libkvmi from %s, not from %s:\n%s'
                   % (path, m.group(1) if m else 'nowhere', libdir, out))


def run_pair(a, tmp, client, fakehost, env, native=True):
    """The client listens, the installed fakehost connects (retrying until
    it listens); both must finish and every guest be clean.  The native
    client checks the cookie (SECRET); the 1.x one sends none, and the
    host, like QEMU without a key, takes any."""
    sock = os.path.join(tmp, 'sock')
    report = os.path.join(tmp, 'report.json')
    for old in (sock, report):
        if os.path.exists(old):
            os.unlink(old)
    argv = [client, sock, str(GUESTS)] + ([SECRET, GPA] if native else [])
    cl = subprocess.Popen(argv, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    try:
        fh = subprocess.run([fakehost, '--connect', sock, '--guests',
                             str(GUESTS), '--vcpus', '2', '--hot-gpa', GPA,
                             '--unhook-after-events', '300'] +
                            (['--secret', SECRET] if native else []) +
                            ['--report', report],
                            env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=90)
        cl_out, _ = cl.communicate(timeout=30)
    finally:
        if cl.poll() is None:
            cl.kill()
            cl.wait()
    if not os.path.exists(report):
        raise Fail('kvmi-fakehost wrote no report (exit %d):\n%s'
                   % (fh.returncode, fh.stdout))
    with open(report) as f:
        guests = [json.loads(line) for line in f if line.strip()]
    verdicts = [g.get('verdict') for g in guests]
    if fh.returncode != 0 or len(guests) != GUESTS or \
            any(v != 'clean' for v in verdicts):
        raise Fail('kvmi-fakehost exit %d, verdicts %s:\n%s'
                   % (fh.returncode, verdicts, fh.stdout))
    if cl.returncode != 0:
        raise Fail('client exit %d:\n%s' % (cl.returncode, cl_out))
    print('%s: %s' % (os.path.basename(client), cl_out.strip()))
    print('kvmi-fakehost (installed): %d guests, verdicts %s, events %s'
          % (len(guests), verdicts, [g.get('events_total') for g in guests]))


def main():
    p = argparse.ArgumentParser()
    for opt in ('meson', 'build-root', 'source-root', 'pkg-config', 'cc',
                'client', 'client1', 'headers', 'prefix', 'libdir', 'includedir',
                'bindir', 'mandir', 'version'):
        p.add_argument('--' + opt, required=True)
    p.add_argument('--man-pages', default='')
    p.add_argument('--service-files', default='')
    p.add_argument('--extra-flags', default='')
    a = p.parse_args()

    root = os.path.join(a.build_root, 'install-test', 'destdir')
    shutil.rmtree(os.path.dirname(root), ignore_errors=True)
    run([a.meson, 'install', '-C', a.build_root, '--no-rebuild', '--quiet',
         '--destdir', root], what='meson install --destdir ' + root)
    libdir = check_files(a, root)
    check_pc(a, libdir)

    tmp = tempfile.mkdtemp(prefix='libkvmi-install-')
    try:
        if inside(tmp, a.source_root) or inside(tmp, a.build_root):
            raise Fail('temporary directory %s is inside the tree' % tmp)
        pc_flags = flags(a, root, libdir, relocated_pc(a, root, libdir, tmp))
        exes = []
        for c in (a.client, a.client1):
            name = os.path.basename(c)
            src = os.path.join(tmp, name)
            shutil.copy(c, src)
            exes.append(os.path.join(tmp, name[:-2]))
            # strict C11 plus the POSIX level <uv.h> needs (libkvmi(3))
            run(shlex.split(a.cc) + shlex.split(a.extra_flags) +
                ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-Wall',
                 '-Wextra', '-Werror', src, '-o', exes[-1]] + pc_flags +
                ['-pthread'], what='compiling ' + name)
        exe, exe1 = exes
        env = dict(os.environ, LD_LIBRARY_PATH=libdir)
        fakehost = root + os.path.join(a.prefix, a.bindir, 'kvmi-fakehost')
        for prog in (exe, exe1, fakehost):
            loads_installed(prog, env, libdir)
        print('client.c (native API) and client1.c (1.x API) built in %s; '
              'they and kvmi-fakehost load %s/libkvmi.so.1' % (tmp, libdir))
        run_pair(a, tmp, exe, fakehost, env)
        run_pair(a, tmp, exe1, fakehost, env, native=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (Fail, subprocess.TimeoutExpired, OSError) as e:
        print('test-install: %s' % e, file=sys.stderr)
        sys.exit(1)
