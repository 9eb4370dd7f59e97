/*
 * libkvmi - tests/install/client1.c: a tool written against the libkvmi
 * 1.x API (<libkvmi.h> only, as LibVMI and Bitdefender's examples are),
 * built by test-install.py OUTSIDE the source tree from the installed
 * libkvmi.pc and run against the installed kvmi-fakehost.  The accept
 * thread hands over each guest; the main thread enables KVMI_EVENT_UNHOOK
 * and CR3 interception on every vCPU, answers every event with
 * wait/pop/reply, and on KVMI_EVENT_UNHOOK turns the interception off and
 * closes the guest; it exits once every expected guest has gone.
 *
 * Usage: client1 SOCKET GUESTS
 * Prints "guests=N events=N unhooks=N" and exits 0 when every guest was
 * hooked, answered and closed on its UNHOOK; 1 otherwise; 2 on bad usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkvmi.h>

#define MAX_GUESTS 16

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *doms[MAX_GUESTS];
	unsigned int ndoms;
} t = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0};

/* the accept thread: keep the guest, the main thread serves it */
static int new_guest(void *dom, unsigned char (*uuid)[16], void *ctx)
{
	(void)uuid;
	(void)ctx;
	pthread_mutex_lock(&t.lock);
	if (t.ndoms == MAX_GUESTS) {
		pthread_mutex_unlock(&t.lock);
		return -1;
	}
	t.doms[t.ndoms++] = dom;
	pthread_cond_signal(&t.cond);
	pthread_mutex_unlock(&t.lock);
	return 0;
}

/* CR3 interception on every vCPU, on or off */
static int control_cr3(void *dom, int on)
{
	unsigned int n;

	if (kvmi_get_vcpu_count(dom, &n))
		return -1;
	for (unsigned int v = 0; v < n; v++)
		if (kvmi_control_events(dom, (unsigned short)v, KVMI_EVENT_CR,
					on) ||
		    kvmi_control_cr(dom, (unsigned short)v, 3, on))
			return -1;
	return 0;
}

/* the reply a 1.x tool builds itself: vCPU header, common reply, the
 * event's own part */
static int reply(void *dom, const struct kvmi_dom_event *ev)
{
	struct {
		struct kvmi_vcpu_hdr hdr;
		struct kvmi_event_reply common;
		struct kvmi_event_cr_reply cr;
	} r;
	size_t size = sizeof(r.hdr) + sizeof(r.common);

	memset(&r, 0, sizeof(r));
	r.hdr.vcpu = ev->event.common.vcpu;
	r.common.action = KVMI_EVENT_ACTION_CONTINUE;
	r.common.event = ev->event.common.event;
	if (ev->event.common.event == KVMI_EVENT_CR) {
		r.cr.new_val = ev->event.cr.new_value;
		size += sizeof(r.cr);
	}
	return kvmi_reply_event(dom, ev->seq, &r, size);
}

int main(int argc, char **argv)
{
	unsigned long guests, served = 0, events = 0, unhooks = 0;
	void *ctx;
	int failed = 0;

	if (argc != 3 || (guests = strtoul(argv[2], NULL, 10)) == 0 ||
	    guests > MAX_GUESTS) {
		fprintf(stderr, "usage: client1 SOCKET GUESTS (1..%d)\n",
			MAX_GUESTS);
		return 2;
	}
	ctx = kvmi_init_unix_socket(argv[1], new_guest, NULL, NULL);
	if (!ctx) {
		perror("client1: kvmi_init_unix_socket");
		return 1;
	}
	while (served < guests && !failed) {
		void *dom;

		pthread_mutex_lock(&t.lock);
		while (served == t.ndoms)
			pthread_cond_wait(&t.cond, &t.lock);
		dom = t.doms[served];
		pthread_mutex_unlock(&t.lock);
		if (kvmi_control_vm_events(dom, KVMI_EVENT_UNHOOK, true) ||
		    control_cr3(dom, 1)) {
			perror("client1: hooking");
			failed = 1;
			break;
		}
		/* one guest at a time: the others' vCPUs wait meanwhile */
		for (;;) {
			struct kvmi_dom_event *ev;

			if (kvmi_wait_event(dom, 5000)) {
				perror("client1: kvmi_wait_event");
				failed = 1;
				break;
			}
			if (kvmi_pop_event(dom, &ev))
				continue;
			if (ev->event.common.event == KVMI_EVENT_UNHOOK) {
				free(ev);
				if (control_cr3(dom, 0))
					failed = 1;
				unhooks++;
				break;
			}
			events++;
			if (reply(dom, ev))
				failed = 1;
			free(ev);
		}
		kvmi_domain_close(dom, true);
		served++;
	}
	kvmi_uninit(ctx);
	printf("guests=%lu events=%lu unhooks=%lu\n", served, events, unhooks);
	return failed || unhooks != guests || !events;
}
