#!/usr/bin/env python3
# libkvmi - tests/docs/check-help-man.py: checks that a program's --help
# and its man page source (docs/man/*.scd) say the same things: the same
# options (short and long names, grouped the same way), each with the same
# argument name, the same names in the usage lines and the synopsis, and
# the same exit statuses.  Also checks that every option the help text
# mentions anywhere is one it defines.
#
# Usage: check-help-man.py PROGRAM MAN.scd     (runs PROGRAM --help)
#        check-help-man.py --help-text FILE MAN.scd
# Exit status: 0 they agree, 1 they differ (each difference on stderr),
# 2 bad usage or unreadable input.
import re
import subprocess
import sys

OPT = r'-{1,2}[A-Za-z0-9][A-Za-z0-9-]*'

# help: an option definition line is indented and starts with the option
# names ("  -v, --verbose", "  --listen PATH"), the argument name in
# capitals, then two spaces or the end of the line before the description.
HELP_DEF = re.compile(r'^\s+(' + OPT + r'(?:, ' + OPT + r')*)'
                      r'(?: ([A-Z][A-Z0-9_]*))?(?:\s{2,}|$)')
# an option mentioned anywhere in the help text
HELP_MENTION = re.compile(r'(?<![\w-])(--[a-z0-9][a-z0-9-]*)')
# man: in OPTIONS, a definition line starts with bold option names
# ("*-v*, *--verbose*"), may go on with the argument ("_PATH_") and is
# followed by its tab-indented description.
MAN_DEF_START = re.compile(r'^\*-')
MAN_OPT = re.compile(r'\*(' + OPT + r')\*')
MAN_ARG = re.compile(r'_([A-Z][A-Z0-9_]*)_')
CAPS = re.compile(r'(?<![\w-])([A-Z][A-Z0-9_]*)(?![\w-])')


def help_options(text):
    """{frozenset(names): argument or None} of the definition lines."""
    opts = {}
    for line in text.splitlines():
        m = HELP_DEF.match(line)
        if m:
            opts[frozenset(m.group(1).split(', '))] = m.group(2)
    return opts


def usage_lines(text):
    """The usage lines: the first line starting with 'usage:' and the
    indented lines right after it that start with the program again."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if re.match(r'(?i)usage:', line):
            out.append(line.split(':', 1)[1])
            for nxt in lines[i + 1:]:
                if not re.match(r'^\s+\S*kvmi', nxt):
                    break
                out.append(nxt)
            break
    return out


def exit_codes(text, label_re):
    """Exit codes listed after an 'exit status:' label, up to a blank line:
    '0 every guest clean, 1 some guest not clean, 2 bad arguments.'"""
    m = re.search(label_re + r'(.*?)(?:\n\s*\n|\Z)', text, re.S | re.I)
    if not m:
        return set()
    body = ' ' + ' '.join(m.group(1).split())
    return set(re.findall(r'(?:^ |, )(\d+) ', body))


def man_sections(text):
    """{top-level heading: body} of an scdoc source ('# NAME' headings;
    '## sub' headings stay inside their section)."""
    sections, name = {}, None
    for line in text.splitlines():
        m = re.match(r'^# (.+)$', line)
        if m:
            name = m.group(1).strip()
            sections[name] = []
        elif name is not None:
            sections[name].append(line)
    return {k: '\n'.join(v) for k, v in sections.items()}


def man_definition_lines(section):
    """The indices of a section's definition lines: a line starting with
    bold option names, followed by its tab-indented description."""
    lines = section.splitlines()
    return [i for i, line in enumerate(lines[:-1])
            if MAN_DEF_START.match(line) and lines[i + 1].startswith('\t')]


def man_options(section):
    opts = {}
    lines = section.splitlines()
    for i in man_definition_lines(section):
        line = lines[i]
        names = MAN_OPT.findall(line)
        rest = line[line.rfind('*') + 1:] if names else ''
        arg = MAN_ARG.search(rest)
        if names:
            opts[frozenset(names)] = arg.group(1) if arg else None
    return opts


def show(names):
    return ', '.join(sorted(names, key=lambda n: (n.startswith('--'), n)))


def check(help_text, man_text):
    """A list of differences (empty when help and man page agree)."""
    problems = []
    hopts = help_options(help_text)
    if not hopts:
        problems.append('help: no option definition lines found')
    sections = man_sections(man_text)
    for need in ('NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'EXIT STATUS'):
        if need not in sections:
            problems.append('man: no "# %s" section' % need)
    mopts = man_options(sections.get('OPTIONS', ''))

    # options: same names, grouped alike, same argument
    hnames = {n: g for g in hopts for n in g}
    mnames = {n: g for g in mopts for n in g}
    for n in sorted(set(hnames) - set(mnames)):
        problems.append('option %s is in --help but not in the man page' % n)
    for n in sorted(set(mnames) - set(hnames)):
        problems.append('option %s is in the man page but not in --help' % n)
    for g, arg in hopts.items():
        if g in mopts:
            if mopts[g] != arg:
                problems.append('option %s: argument %s in --help, %s in '
                                'the man page' % (show(g), arg, mopts[g]))
        elif all(n in mnames for n in g):
            problems.append('option %s: grouped as %s in the man page'
                            % (show(g), show(mnames[next(iter(g))])))

    # every option the help mentions is one it defines
    for n in sorted(set(HELP_MENTION.findall(help_text)) - set(hnames)):
        problems.append('--help mentions %s but does not define it' % n)

    # usage lines and synopsis: the same options and argument names
    usage = ' '.join(usage_lines(help_text))
    if not usage:
        problems.append('help: no usage line')
    synopsis = sections.get('SYNOPSIS', '')
    u_opts = set(re.findall(r'(?<![\w-])(' + OPT + ')', usage))
    s_opts = set(MAN_OPT.findall(synopsis))
    u_args = set(CAPS.findall(usage))
    s_args = set(MAN_ARG.findall(synopsis))
    for n in sorted(u_opts - s_opts):
        problems.append('usage names %s, the synopsis does not' % n)
    for n in sorted(s_opts - u_opts):
        problems.append('the synopsis names %s, the usage does not' % n)
    for a in sorted(u_args - s_args):
        problems.append('usage has argument %s, the synopsis does not' % a)
    for a in sorted(s_args - u_args):
        problems.append('the synopsis has argument %s, the usage does not'
                        % a)

    # exit statuses
    h_codes = exit_codes(help_text, r'exit status:')
    m_codes = set(re.findall(r'^\*(\d+)\*\s*$',
                             sections.get('EXIT STATUS', ''), re.M))
    if not h_codes:
        problems.append('help: no "Exit status:" codes found')
    for c in sorted(h_codes - m_codes):
        problems.append('exit status %s is in --help but not in the man '
                        'page' % c)
    for c in sorted(m_codes - h_codes):
        problems.append('exit status %s is in the man page but not in '
                        '--help' % c)
    return problems


def program_help(exe):
    r = subprocess.run([exe, '--help'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0:
        raise OSError('%s --help exited %d: %s' % (exe, r.returncode,
                                                   r.stderr.strip()))
    return r.stdout


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == '--help-text':
            with open(argv[2]) as f:
                help_text = f.read()
            man_path = argv[3]
        elif len(argv) == 3:
            help_text = program_help(argv[1])
            man_path = argv[2]
        else:
            print('usage: check-help-man.py PROGRAM MAN.scd | '
                  '--help-text FILE MAN.scd', file=sys.stderr)
            return 2
        with open(man_path) as f:
            man_text = f.read()
    except (OSError, subprocess.SubprocessError) as e:
        print('check-help-man: %s' % e, file=sys.stderr)
        return 2
    problems = check(help_text, man_text)
    for p in problems:
        print('%s: %s' % (man_path, p), file=sys.stderr)
    if not problems:
        print('%s: %d options, usage and exit statuses agree with --help'
              % (man_path, len(help_options(help_text))))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
