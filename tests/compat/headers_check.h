/*
 * libkvmi - tests/compat/headers_check.h: the body of the two header
 * tests: values and layouts of <libkvmi.h> names (facts page sec. 2 and
 * the protocol reference sec. 4.2/5/11), checked at run time so a wrong
 * value fails the test with the name that was wrong.
 */
#include <stddef.h>
#include <stdio.h>

static int failures;

#define CHECK(expr, want)                                                      \
	do {                                                                   \
		long long got_ = (long long)(expr);                            \
		if (got_ != (long long)(want)) {                               \
			fprintf(stderr, "%s = %lld, expected %lld\n", #expr,   \
				got_, (long long)(want));                      \
			failures++;                                            \
		}                                                              \
	} while (0)

int main(void)
{
	struct kvmi_dom_event ev;
	kvmi_log_level lvl = KVMI_LOG_LEVEL_ERROR;
	kvmi_timeout_t t = KVMI_WAIT;

	CHECK(sizeof(ev), 8768);
	CHECK(offsetof(struct kvmi_dom_event, event.common.arch.view), 18);
	CHECK(offsetof(struct kvmi_dom_event, event.page_fault.access), 568);
	CHECK(offsetof(struct kvmi_dom_event, event.ss.failed), 552);
	CHECK(offsetof(struct kvmi_dom_event, event.cpuid.index), 556);
	CHECK(offsetof(struct kvmi_dom_event, event.trap.cr2), 560);
	CHECK(offsetof(struct kvmi_dom_event, seq), 8760);
	CHECK(sizeof(ev.buf), 8184);
	CHECK(lvl, 3);
	CHECK(KVMI_LOG_LEVEL_DEBUG, 0);
	CHECK(t, 150);
	CHECK(KVMI_NOWAIT, 0);
	CHECK(KVMI_NUM_EVENTS, 14);
	CHECK(KVMI_EVENT_CPUID, 13);
	CHECK(KVMI_EVENT_SINGLESTEP, 11);
	CHECK(KVMI_PAGE_ACCESS_SVE, 8);
	CHECK(KVMI_GET_NEXT_AVAILABLE_GFN, 31);
	CHECK(KVMI_VCPU_CONTROL_SINGLESTEP, 63);
	CHECK(KVMI_VCPU_CHANGE_GFN, 60);
	CHECK(KVMI_DESTROY_EPT_VIEW, 44);
	CHECK(KVM_NUM_MESSAGES, 64);
	CHECK(sizeof(struct kvmi_features), 8);
	CHECK(sizeof(struct kvmi_qemu2introspector), 96);
	CHECK(sizeof(struct kvmi_introspector2qemu), 24);
	CHECK(sizeof(struct kvmi_vcpu_hdr) + sizeof(struct kvmi_event_reply) +
		  sizeof(struct kvmi_event_pf_reply),
	      288);
	return failures ? 1 : 0;
}
