/*
 * libkvmi - tests/compat/test_headers_b.c: the native headers first, then
 * <libkvmi.h>, in one file; the same checks as test_headers_a.c.
 */
#include <kvmi/codec.h>
#include <kvmi/kvmi.h>
#include <kvmi/session.h>

#include <libkvmi.h>

#include "headers_check.h"
