/*
 * libkvmi - tests/compat/test_headers_a.c: <libkvmi.h> first, then the
 * native headers, in one file (the header promises they coexist); checks
 * the 1.x names resolve to the values of the facts page.
 */
#include <libkvmi.h>

#include <kvmi/codec.h>
#include <kvmi/kvmi.h>
#include <kvmi/session.h>

#include "headers_check.h"
