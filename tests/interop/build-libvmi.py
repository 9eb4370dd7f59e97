#!/usr/bin/env python3
"""libkvmi - tests/interop/build-libvmi.py: build LibVMI unchanged from the
pinned ../shared/interop/libvmi.tar.gz, once per build directory, for the
LibVMI interop test (test-libvmi.py).  Only what the KVM driver needs is
built (no Xen, Bareflank, file driver, vmifs, config file, examples, static
library); LibVMI finds our <libkvmi.h> through our uninstalled libkvmi.pc.
The result is installed under OUT/prefix and OUT/stamp records the time
taken.  Meson runs this as a custom target, so it runs again only when the
tarball or <libkvmi.h> change.  Without the tarball the stamp says
"absent" and the test skips.

Usage: build-libvmi.py --tarball T --out DIR --pkgconfig DIR --stamp FILE
"""
import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time

ap = argparse.ArgumentParser()
for opt in ('tarball', 'out', 'pkgconfig', 'stamp'):
    ap.add_argument('--' + opt, required=True)
a = ap.parse_args()

if not os.path.exists(a.tarball):
    with open(a.stamp, 'w') as f:
        f.write('absent %s\n' % a.tarball)
    sys.exit(0)

for tool in ('cmake', 'ninja'):
    if not shutil.which(tool):
        sys.exit('build-libvmi: %s is not installed (scripts/install-deps)'
                 % tool)

t0 = time.monotonic()
src_root = os.path.join(a.out, 'src')
build = os.path.join(a.out, 'build')
prefix = os.path.join(a.out, 'prefix')
for d in (src_root, build, prefix):
    shutil.rmtree(d, ignore_errors=True)
os.makedirs(src_root)
os.makedirs(build)
with tarfile.open(a.tarball) as t:
    t.extractall(src_root, filter='data')
tops = os.listdir(src_root)
if len(tops) != 1:
    sys.exit('build-libvmi: %s does not hold one top directory' % a.tarball)
src = os.path.join(src_root, tops[0])

env = dict(os.environ, PKG_CONFIG_PATH=a.pkgconfig)
log = os.path.join(a.out, 'build.log')
steps = [
    ['cmake', '-S', src, '-B', build, '-G', 'Ninja',
     '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_INSTALL_PREFIX=' + prefix,
     '-DCMAKE_INSTALL_LIBDIR=lib',
     '-DENABLE_KVM=ON', '-DENABLE_KVM_LEGACY=OFF', '-DENABLE_XEN=OFF',
     '-DENABLE_BAREFLANK=OFF', '-DENABLE_FILE=OFF', '-DENABLE_VMIFS=OFF',
     '-DENABLE_CONFIGFILE=OFF', '-DENABLE_STATIC=OFF',
     '-DENABLE_TESTING=OFF', '-DBUILD_EXAMPLES=OFF'],
    ['ninja', '-C', build],
    ['ninja', '-C', build, 'install'],
]
with open(log, 'w') as lf:
    for cmd in steps:
        lf.write('$ %s\n' % ' '.join(cmd))
        lf.flush()
        r = subprocess.run(cmd, env=env, stdout=lf, stderr=subprocess.STDOUT)
        if r.returncode:
            lf.close()
            with open(log) as f:
                sys.stderr.write(f.read()[-6000:])
            sys.exit('build-libvmi: "%s" failed (log: %s)' % (cmd[0], log))

# the KVM driver must really be in: LibVMI silently drops it when libkvmi
# or libvirt's headers are not found
with open(os.path.join(build, 'config.h')) as f:
    if '#define ENABLE_KVM\n' not in f.read():
        sys.exit('build-libvmi: LibVMI was configured without its KVM '
                 'driver (see %s)' % log)

secs = time.monotonic() - t0
with open(a.stamp, 'w') as f:
    f.write('built %s in %.1f s\n' % (prefix, secs))
print('build-libvmi: LibVMI built unchanged in %.1f s -> %s' % (secs, prefix))
