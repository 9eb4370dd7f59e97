/*
 * libkvmi - clock.h: the library's monotonic clock and the busy-polling
 * turn every layer that waits uses (the server's loop, kvmi_dom_run, the
 * 1.x layer's kvmi_wait_event).  Internal; never exported.
 */
#ifndef KVMI_LIB_CLOCK_H
#define KVMI_LIB_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_MONOTONIC, in nanoseconds and in milliseconds */
uint64_t kvmi__now_ns(void);
uint64_t kvmi__now_ms(void);

/*
 * Busy polling: while the clock is before @until_ns (the time the last
 * bytes came plus the polling window), yield the CPU once - whatever else
 * is runnable on it goes first - and return true: poll again instead of
 * sleeping.  false once the window has passed.
 */
bool kvmi__spin_on(uint64_t until_ns);

#endif
