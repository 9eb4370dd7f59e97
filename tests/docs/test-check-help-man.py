#!/usr/bin/env python3
# libkvmi - tests/docs/test-check-help-man.py: proves check-help-man.py
# catches drift.  Takes a program's real --help and man page source, checks
# they agree, then changes one side at a time - an option added to --help
# only, an option definition removed from the man page only, an argument
# renamed, an exit status added - and requires every change to be reported.
#
# Usage: test-check-help-man.py PROGRAM MAN.scd
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
checker = __import__('check-help-man')


def options_span(man):
    """(first, end) line indices of the man page's OPTIONS section."""
    lines = man.splitlines()
    first = lines.index('# OPTIONS')
    end = next((i for i in range(first + 1, len(lines))
                if lines[i].startswith('# ')), len(lines))
    return first, end


def option_lines(man):
    """Indices (in the whole page) of the OPTIONS definition lines."""
    first, end = options_span(man)
    section = '\n'.join(man.splitlines()[first:end])
    return [first + i for i in checker.man_definition_lines(section)]


def drop_first_man_option(man):
    """The man page without its first option definition (the *--x* line and
    its indented description)."""
    lines = man.splitlines()
    i = option_lines(man)[0]
    j = i + 1
    while j < len(lines) and lines[j].startswith('\t'):
        j += 1
    return '\n'.join(lines[:i] + lines[j:]), lines[i]


def add_help_option(help_text):
    """--help with one more option defined after the first definition."""
    lines = help_text.splitlines()
    for i, line in enumerate(lines):
        if checker.HELP_DEF.match(line):
            lines.insert(i + 1, '  --drift-check N   an option only --help has')
            return '\n'.join(lines)
    raise AssertionError('no option definition in --help')


def rename_man_argument(man):
    """The man page with the first option argument (_X_) renamed, or None
    when no option takes an argument."""
    lines = man.splitlines()
    for i in option_lines(man):
        if checker.MAN_ARG.search(lines[i]):
            lines[i] = checker.MAN_ARG.sub('_XYZZY_', lines[i], count=1)
            return '\n'.join(lines)
    return None


def rename_synopsis_argument(man):
    """The man page with the last argument of the synopsis renamed."""
    lines = man.splitlines()
    first = lines.index('# SYNOPSIS')
    for i in range(first + 1, len(lines)):
        if lines[i].startswith('# '):
            break
        found = checker.MAN_ARG.findall(lines[i])
        if found:
            lines[i] = lines[i].replace('_%s_' % found[-1], '_XYZZY_')
            return '\n'.join(lines)
    raise AssertionError('no argument in the synopsis')


def add_man_exit_status(man):
    return man.replace('# EXIT STATUS\n',
                       '# EXIT STATUS\n\n*77*\n\tOnly the man page says so.\n',
                       1)


def main(argv):
    exe, man_path = argv[1], argv[2]
    help_text = checker.program_help(exe)
    with open(man_path) as f:
        man = f.read()
    failures = 0

    base = checker.check(help_text, man)
    if base:
        print('the real --help and man page differ: %s' % base)
        return 1

    dropped, line = drop_first_man_option(man)
    cases = [
        ('option only in --help', add_help_option(help_text), man,
         r'--drift-check is in --help but not in the man page'),
        ('option removed from the man page (%s)' % line, help_text, dropped,
         r'option -{1,2}[\w-]+ is in --help but not in the man page'),
        ('option only in the man page', help_text,
         man.replace('# OPTIONS\n', '# OPTIONS\n\n*--man-only*\n\tx.\n', 1),
         r'--man-only is in the man page but not in --help'),
        ('synopsis argument renamed in the man page', help_text,
         rename_synopsis_argument(man), r'synopsis has argument XYZZY'),
        ('exit status only in the man page', help_text,
         add_man_exit_status(man), r'exit status 77 is in the man page'),
        ('--help mentions an undefined option',
         help_text + '\nSee also --nowhere.\n', man,
         r'--help mentions --nowhere'),
    ]
    renamed = rename_man_argument(man)
    if renamed is not None:
        cases.append(('option argument renamed in the man page', help_text,
                      renamed, r'argument \w+ in --help, XYZZY'))
    for name, h, m, want in cases:
        problems = checker.check(h, m)
        hit = [p for p in problems if re.search(want, p)]
        print('%-60s %s' % (name, 'caught' if hit else 'MISSED'))
        if not hit:
            print('  expected /%s/, got %s' % (want, problems))
            failures += 1
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
