/*
 * libkvmi - clock.c: the monotonic clock and the busy-polling turn
 * (clock.h).
 */
#include <sched.h>
#include <time.h>

#include "clock.h"

uint64_t kvmi__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t kvmi__now_ms(void)
{
	return kvmi__now_ns() / 1000000u;
}

bool kvmi__spin_on(uint64_t until_ns)
{
	if (kvmi__now_ns() >= until_ns)
		return false;
	sched_yield();
	return true;
}
