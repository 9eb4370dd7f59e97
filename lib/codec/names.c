/*
 * libkvmi - names.c: names and per-id facts of messages and events
 * (which commands carry a vCPU header, event data and reply sizes), for
 * each dialect (v6 first, then kvmi-v7 and v12 from KVMI-V7.md and
 * KVMI-V12.md), and the mapping between a dialect's wire ids and the
 * common (kvmi-v7) numbering.
 */
#include <errno.h>
#include <string.h>

#include <kvmi/codec.h>

#include "names.h"

static const char *const msg_names[] = {
	[KVMI_EVENT_REPLY] = "KVMI_EVENT_REPLY",
	[KVMI_EVENT] = "KVMI_EVENT",
	[KVMI_GET_VERSION] = "KVMI_GET_VERSION",
	[KVMI_CHECK_COMMAND] = "KVMI_CHECK_COMMAND",
	[KVMI_CHECK_EVENT] = "KVMI_CHECK_EVENT",
	[KVMI_GET_GUEST_INFO] = "KVMI_GET_GUEST_INFO",
	[KVMI_GET_VCPU_INFO] = "KVMI_GET_VCPU_INFO",
	[KVMI_PAUSE_VCPU] = "KVMI_PAUSE_VCPU",
	[KVMI_CONTROL_VM_EVENTS] = "KVMI_CONTROL_VM_EVENTS",
	[KVMI_CONTROL_EVENTS] = "KVMI_CONTROL_EVENTS",
	[KVMI_CONTROL_CR] = "KVMI_CONTROL_CR",
	[KVMI_CONTROL_MSR] = "KVMI_CONTROL_MSR",
	[KVMI_CONTROL_VE] = "KVMI_CONTROL_VE",
	[KVMI_GET_REGISTERS] = "KVMI_GET_REGISTERS",
	[KVMI_SET_REGISTERS] = "KVMI_SET_REGISTERS",
	[KVMI_GET_CPUID] = "KVMI_GET_CPUID",
	[KVMI_GET_XSAVE] = "KVMI_GET_XSAVE",
	[KVMI_READ_PHYSICAL] = "KVMI_READ_PHYSICAL",
	[KVMI_WRITE_PHYSICAL] = "KVMI_WRITE_PHYSICAL",
	[KVMI_INJECT_EXCEPTION] = "KVMI_INJECT_EXCEPTION",
	[KVMI_GET_PAGE_ACCESS] = "KVMI_GET_PAGE_ACCESS",
	[KVMI_SET_PAGE_ACCESS] = "KVMI_SET_PAGE_ACCESS",
	[KVMI_GET_MAP_TOKEN] = "KVMI_GET_MAP_TOKEN",
	[KVMI_GET_MTRR_TYPE] = "KVMI_GET_MTRR_TYPE",
	[KVMI_CONTROL_SPP] = "KVMI_CONTROL_SPP",
	[KVMI_GET_PAGE_WRITE_BITMAP] = "KVMI_GET_PAGE_WRITE_BITMAP",
	[KVMI_SET_PAGE_WRITE_BITMAP] = "KVMI_SET_PAGE_WRITE_BITMAP",
	[KVMI_CONTROL_CMD_RESPONSE] = "KVMI_CONTROL_CMD_RESPONSE",
	[KVMI_EXT_SET_VE_INFO_PAGE] = "KVMI_EXT_SET_VE_INFO_PAGE",
	[KVMI_GET_MAX_GFN] = "KVMI_GET_MAX_GFN",
	[KVMI_EXT_GET_NEXT_AVAILABLE_GFN] = "KVMI_EXT_GET_NEXT_AVAILABLE_GFN",
	[KVMI_EXT_SWITCH_EPT_VIEW] = "KVMI_EXT_SWITCH_EPT_VIEW",
	[KVMI_EXT_DISABLE_VE] = "KVMI_EXT_DISABLE_VE",
	[KVMI_EXT_GET_EPT_VIEW] = "KVMI_EXT_GET_EPT_VIEW",
	[KVMI_EXT_VCPU_TRANSLATE_GVA] = "KVMI_EXT_VCPU_TRANSLATE_GVA",
	[KVMI_EXT_CONTROL_EPT_VIEW] = "KVMI_EXT_CONTROL_EPT_VIEW",
	[KVMI_EXT_VCPU_GET_XCR] = "KVMI_EXT_VCPU_GET_XCR",
	[KVMI_EXT_VCPU_SET_XSAVE] = "KVMI_EXT_VCPU_SET_XSAVE",
	[KVMI_EXT_QUERY_PHYSICAL] = "KVMI_EXT_QUERY_PHYSICAL",
	[KVMI_EXT_VCPU_ALLOC_GFN] = "KVMI_EXT_VCPU_ALLOC_GFN",
	[KVMI_EXT_VCPU_FREE_GFN] = "KVMI_EXT_VCPU_FREE_GFN",
	[KVMI_EXT_CREATE_EPT_VIEW] = "KVMI_EXT_CREATE_EPT_VIEW",
	[KVMI_EXT_DESTROY_EPT_VIEW] = "KVMI_EXT_DESTROY_EPT_VIEW",
	[KVMI_EXT_VCPU_CHANGE_GFN] = "KVMI_EXT_VCPU_CHANGE_GFN",
	[KVMI_EXT_VCPU_CONTROL_SINGLESTEP] = "KVMI_EXT_VCPU_CONTROL_SINGLESTEP",
};

static const char *const event_names[KVMI_NUM_EVENTS] = {
	[KVMI_EVENT_UNHOOK] = "KVMI_EVENT_UNHOOK",
	[KVMI_EVENT_CR] = "KVMI_EVENT_CR",
	[KVMI_EVENT_MSR] = "KVMI_EVENT_MSR",
	[KVMI_EVENT_XSETBV] = "KVMI_EVENT_XSETBV",
	[KVMI_EVENT_BREAKPOINT] = "KVMI_EVENT_BREAKPOINT",
	[KVMI_EVENT_HYPERCALL] = "KVMI_EVENT_HYPERCALL",
	[KVMI_EVENT_PF] = "KVMI_EVENT_PF",
	[KVMI_EVENT_TRAP] = "KVMI_EVENT_TRAP",
	[KVMI_EVENT_DESCRIPTOR] = "KVMI_EVENT_DESCRIPTOR",
	[KVMI_EVENT_CREATE_VCPU] = "KVMI_EVENT_CREATE_VCPU",
	[KVMI_EVENT_PAUSE_VCPU] = "KVMI_EVENT_PAUSE_VCPU",
	[KVMI_EVENT_SINGLESTEP] = "KVMI_EVENT_SINGLESTEP",
};

/* v6 event-specific data sizes (sec. 5) */
const signed char kvmi__event_data_sizes[KVMI_NUM_EVENTS] = {
	[KVMI_EVENT_UNHOOK] = 0,
	[KVMI_EVENT_CR] = sizeof(struct kvmi_event_cr),
	[KVMI_EVENT_MSR] = sizeof(struct kvmi_event_msr),
	[KVMI_EVENT_XSETBV] = 0,
	[KVMI_EVENT_BREAKPOINT] = sizeof(struct kvmi_event_breakpoint),
	[KVMI_EVENT_HYPERCALL] = 0,
	[KVMI_EVENT_PF] = sizeof(struct kvmi_event_pf),
	[KVMI_EVENT_TRAP] = sizeof(struct kvmi_event_trap),
	[KVMI_EVENT_DESCRIPTOR] = sizeof(struct kvmi_event_descriptor),
	[KVMI_EVENT_CREATE_VCPU] = 0,
	[KVMI_EVENT_PAUSE_VCPU] = 0,
	[KVMI_EVENT_SINGLESTEP] = 0,
};

static const char *v6_msg_name(unsigned int id)
{
	if (id < sizeof(msg_names) / sizeof(msg_names[0]) && msg_names[id])
		return msg_names[id];
	return "UNKNOWN";
}

static const char *v6_event_name(unsigned int event_id)
{
	if (event_id < KVMI_NUM_EVENTS)
		return event_names[event_id];
	return "UNKNOWN";
}

KVMI_EXPORT const char *kvmi_action_name(unsigned int action)
{
	switch (action) {
	case KVMI_EVENT_ACTION_CONTINUE:
		return "CONTINUE";
	case KVMI_EVENT_ACTION_RETRY:
		return "RETRY";
	case KVMI_EVENT_ACTION_CRASH:
		return "CRASH";
	default:
		return "UNKNOWN";
	}
}

static int v6_event_data_size(unsigned int event_id)
{
	if (event_id >= KVMI_NUM_EVENTS)
		return -1;
	return kvmi__event_data_sizes[event_id];
}

static int v6_event_reply_data_size(unsigned int event_id)
{
	switch (event_id) {
	case KVMI_EVENT_CR:
		return sizeof(struct kvmi_event_cr_reply);
	case KVMI_EVENT_MSR:
		return sizeof(struct kvmi_event_msr_reply);
	case KVMI_EVENT_PF:
		return sizeof(struct kvmi_event_pf_reply);
	default:
		return event_id < KVMI_NUM_EVENTS ? 0 : -1;
	}
}

static int v6_command_has_vcpu(unsigned int id)
{
	switch (id) {
	case KVMI_GET_VCPU_INFO:
	case KVMI_PAUSE_VCPU:
	case KVMI_CONTROL_EVENTS:
	case KVMI_CONTROL_CR:
	case KVMI_CONTROL_MSR:
	case KVMI_GET_REGISTERS:
	case KVMI_SET_REGISTERS:
	case KVMI_GET_CPUID:
	case KVMI_GET_XSAVE:
	case KVMI_INJECT_EXCEPTION:
	case KVMI_GET_MTRR_TYPE:
		return 1;
	case KVMI_GET_VERSION:
	case KVMI_CHECK_COMMAND:
	case KVMI_CHECK_EVENT:
	case KVMI_GET_GUEST_INFO:
	case KVMI_CONTROL_VM_EVENTS:
	case KVMI_CONTROL_VE:
	case KVMI_READ_PHYSICAL:
	case KVMI_WRITE_PHYSICAL:
	case KVMI_GET_PAGE_ACCESS:
	case KVMI_SET_PAGE_ACCESS:
	case KVMI_GET_MAP_TOKEN:
	case KVMI_CONTROL_SPP:
	case KVMI_GET_PAGE_WRITE_BITMAP:
	case KVMI_SET_PAGE_WRITE_BITMAP:
	case KVMI_CONTROL_CMD_RESPONSE:
	case KVMI_GET_MAX_GFN:
		return 0;
	default:
		return -1;
	}
}

int kvmi__is_reply_id(unsigned int id)
{
	if (id >= KVMI_GET_VERSION && id < KVMI_NEXT_AVAILABLE_COMMAND)
		return 1;
	return kvmi__is_ext_id(id);
}

int kvmi__is_ext_id(unsigned int id)
{
	switch (id) {
	case KVMI_EXT_SET_VE_INFO_PAGE:
	case KVMI_EXT_GET_NEXT_AVAILABLE_GFN:
	case KVMI_EXT_SWITCH_EPT_VIEW:
	case KVMI_EXT_DISABLE_VE:
	case KVMI_EXT_GET_EPT_VIEW:
	case KVMI_EXT_VCPU_TRANSLATE_GVA:
	case KVMI_EXT_CONTROL_EPT_VIEW:
	case KVMI_EXT_VCPU_GET_XCR:
	case KVMI_EXT_VCPU_SET_XSAVE:
	case KVMI_EXT_QUERY_PHYSICAL:
	case KVMI_EXT_VCPU_ALLOC_GFN:
	case KVMI_EXT_VCPU_FREE_GFN:
	case KVMI_EXT_CREATE_EPT_VIEW:
	case KVMI_EXT_DESTROY_EPT_VIEW:
	case KVMI_EXT_VCPU_CHANGE_GFN:
	case KVMI_EXT_VCPU_CONTROL_SINGLESTEP:
		return 1;
	default:
		return 0;
	}
}

size_t kvmi__reply_min_data(unsigned int id)
{
	switch (id) {
	case KVMI_GET_VERSION:
		return sizeof(struct kvmi_get_version_reply);
	case KVMI_GET_GUEST_INFO:
		return sizeof(struct kvmi_get_guest_info_reply);
	case KVMI_GET_VCPU_INFO:
		return sizeof(struct kvmi_get_vcpu_info_reply);
	case KVMI_GET_REGISTERS:
		return sizeof(struct kvmi_get_registers_reply);
	case KVMI_GET_CPUID:
		return sizeof(struct kvmi_get_cpuid_reply);
	case KVMI_GET_MAP_TOKEN:
		return sizeof(struct kvmi_get_map_token_reply);
	case KVMI_GET_MTRR_TYPE:
		return sizeof(struct kvmi_get_mtrr_type_reply);
	case KVMI_GET_MAX_GFN:
		return sizeof(struct kvmi_get_max_gfn_reply);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* kvmi-v7 and v12                                                     */
/* ------------------------------------------------------------------ */

/* Per-dialect facts; ids beyond the tables are unknown. */
struct msg_fact {
	const char *name;
	signed char vcpu;     /* 1: starts with kvmi_vcpu_hdr */
	unsigned char min;    /* reply data a success carries at least */
	unsigned char common; /* the common (kvmi-v7) id, or COMMON_* */
	unsigned char v7_2023; /* exists only from v7-2023 on */
};

#define V7_ONLY_2023 1

static const struct msg_fact v7_msgs[KVMI_V7_NUM_MESSAGES] = {
	[0] = {"KVMI_EVENT_REPLY", 1, 0, 0, 0},
	[1] = {"KVMI_EVENT", 0, 0, 1, 0},
	[2] = {"KVMI_GET_VERSION", 0, 16, 2, 0},
	[3] = {"KVMI_VM_CHECK_COMMAND", 0, 0, 3, 0},
	[4] = {"KVMI_VM_CHECK_EVENT", 0, 0, 4, 0},
	[5] = {"KVMI_VM_GET_INFO", 0, 16, 5, 0},
	[6] = {"KVMI_VCPU_GET_INFO", 1, 8, 6, 0},
	[7] = {"KVMI_VCPU_PAUSE", 1, 0, 7, 0},
	[8] = {"KVMI_VM_CONTROL_EVENTS", 0, 0, 8, 0},
	[9] = {"KVMI_VCPU_CONTROL_EVENTS", 1, 0, 9, 0},
	[10] = {"KVMI_VCPU_CONTROL_CR", 1, 0, 10, 0},
	[11] = {"KVMI_VCPU_CONTROL_MSR", 1, 0, 11, 0},
	[13] = {"KVMI_VCPU_GET_REGISTERS", 1, 0 /* checked apart */, 13, 0},
	[14] = {"KVMI_VCPU_SET_REGISTERS", 1, 0, 14, 0},
	[15] = {"KVMI_VCPU_GET_CPUID", 1, 16, 15, 0},
	[16] = {"KVMI_VCPU_GET_XSAVE", 1, 0, 16, 0},
	[17] = {"KVMI_VM_READ_PHYSICAL", 0, 0, 17, 0},
	[18] = {"KVMI_VM_WRITE_PHYSICAL", 0, 0, 18, 0},
	[19] = {"KVMI_VCPU_INJECT_EXCEPTION", 1, 0, 19, 0},
	[21] = {"KVMI_VM_SET_PAGE_ACCESS", 0, 0, 21, 0},
	[22] = {"KVMI_VM_GET_MAP_TOKEN", 0, 32, 22, 0},
	[23] = {"KVMI_VCPU_GET_MTRR_TYPE", 1, 8, 23, 0},
	[24] = {"KVMI_VM_CONTROL_SPP", 0, 0, 24, 0},
	[26] = {"KVMI_VM_SET_PAGE_WRITE_BITMAP", 0, 0, 26, 0},
	[27] = {"KVMI_VM_CONTROL_CMD_RESPONSE", 0, 0, 27, 0},
	[28] = {"KVMI_VCPU_SET_VE_INFO", 1, 0, 28, 0},
	[29] = {"KVMI_VM_GET_MAX_GFN", 0, 8, 29, 0},
	[30] = {"KVMI_VM_SET_PAGE_SVE", 0, 0, 30, 0},
	[31] = {"KVMI_VM_GET_NEXT_AVAILABLE_GFN", 0, 8, 31, V7_ONLY_2023},
	[32] = {"KVMI_VCPU_SET_EPT_VIEW", 1, 0, 32, 0},
	[33] = {"KVMI_VCPU_DISABLE_VE", 1, 0, 33, 0},
	[34] = {"KVMI_VCPU_GET_EPT_VIEW", 1, 8, 34, 0},
	[35] = {"KVMI_VCPU_TRANSLATE_GVA", 1, 8, 35, 0},
	[36] = {"KVMI_VCPU_CONTROL_EPT_VIEW", 1, 0, 36, 0},
	[37] = {"KVMI_VCPU_GET_XCR", 1, 8, 37, 0},
	[38] = {"KVMI_VCPU_SET_XSAVE", 1, 0, 38, 0},
	[39] = {"KVMI_VM_QUERY_PHYSICAL", 0, 16, 39, V7_ONLY_2023},
	[41] = {"KVMI_VCPU_ALLOC_GFN", 1, 0, 41, V7_ONLY_2023},
	[42] = {"KVMI_VCPU_FREE_GFN", 1, 0, 42, V7_ONLY_2023},
	[43] = {"KVMI_VM_CREATE_EPT_VIEW", 0, 8, 43, V7_ONLY_2023},
	[44] = {"KVMI_VM_DESTROY_EPT_VIEW", 0, 0, 44, V7_ONLY_2023},
	[60] = {"KVMI_VCPU_CHANGE_GFN", 1, 0, 60, 0},
	[63] = {"KVMI_VCPU_CONTROL_SINGLESTEP", 1, 0, 63, 0},
};

static const struct msg_fact v12_msgs[KVMI_V12_NUM_MESSAGES] = {
	[0] = {"KVMI_VM_EVENT", 0, 0, 1, 0},
	[1] = {"KVMI_VCPU_EVENT", 1, 0, 0 /* the T->H event reply */, 0},
	[2] = {"KVMI_GET_VERSION", 0, 16, 2, 0},
	[3] = {"KVMI_VCPU_GET_INFO", 1, 8, 6, 0},
	[4] = {"KVMI_VM_CHECK_COMMAND", 0, 0, 3, 0},
	[5] = {"KVMI_VCPU_CONTROL_EVENTS", 1, 0, 9, 0},
	[6] = {"KVMI_VM_CHECK_EVENT", 0, 0, 4, 0},
	[7] = {"KVMI_VCPU_GET_REGISTERS", 1, 0, 13, 0},
	[8] = {"KVMI_VM_GET_INFO", 0, 16, 5, 0},
	[9] = {"KVMI_VCPU_SET_REGISTERS", 1, 0, 14, 0},
	[10] = {"KVMI_VM_CONTROL_EVENTS", 0, 0, 8, 0},
	[11] = {"KVMI_VCPU_GET_CPUID", 1, 16, 15, 0},
	[12] = {"KVMI_VM_READ_PHYSICAL", 0, 0, 17, 0},
	[13] = {"KVMI_VCPU_CONTROL_CR", 1, 0, 10, 0},
	[14] = {"KVMI_VM_WRITE_PHYSICAL", 0, 0, 18, 0},
	[15] = {"KVMI_VCPU_INJECT_EXCEPTION", 1, 0, 19, 0},
	[16] = {"KVMI_VM_PAUSE_VCPU", 0, 0, 7, 0},
	[17] = {"KVMI_VCPU_GET_XCR", 1, 8, 37, 0},
	[18] = {"KVMI_VM_CONTROL_CLEANUP", 0, 0, KVMI_COMMON_VM_CONTROL_CLEANUP,
		0},
	[19] = {"KVMI_VCPU_GET_XSAVE", 1, 0, 16, 0},
	[20] = {"KVMI_VM_SET_PAGE_ACCESS", 0, 0, 21, 0},
	[21] = {"KVMI_VCPU_SET_XSAVE", 1, 0, 38, 0},
	[23] = {"KVMI_VCPU_GET_MTRR_TYPE", 1, 8, 23, 0},
	[25] = {"KVMI_VCPU_CONTROL_MSR", 1, 0, 11, 0},
	[27] = {"KVMI_VCPU_CONTROL_SINGLESTEP", 1, 0, 63, 0},
	[29] = {"KVMI_VCPU_TRANSLATE_GVA", 1, 8, 35, 0},
};

struct event_fact {
	const char *name;
	signed char data;  /* event-specific bytes, -1 unknown */
	short reply;	   /* event-specific reply bytes, -1 never replied */
	unsigned char common;
};

static const struct event_fact v7_events[KVMI_V7_NUM_EVENTS] = {
	[0] = {"KVMI_EVENT_UNHOOK", 0, -1, 0},
	[1] = {"KVMI_EVENT_CR", 24, 8, 1},
	[2] = {"KVMI_EVENT_MSR", 24, 8, 2},
	[3] = {"KVMI_EVENT_XSETBV", 0, 0, 3},
	[4] = {"KVMI_EVENT_BREAKPOINT", 16, 0, 4},
	[5] = {"KVMI_EVENT_HYPERCALL", 0, 0, 5},
	[6] = {"KVMI_EVENT_PF", 24, 272, 6},
	[7] = {"KVMI_EVENT_TRAP", 16, 0, 7},
	[8] = {"KVMI_EVENT_DESCRIPTOR", 8, 0, 8},
	[9] = {"KVMI_EVENT_CREATE_VCPU", 0, 0, 9},
	[10] = {"KVMI_EVENT_PAUSE_VCPU", 0, 0, 10},
	[11] = {"KVMI_EVENT_SINGLESTEP", 8, 0, 11},
	[12] = {"KVMI_EVENT_CMD_ERROR", 16, -1, 12},
	[13] = {"KVMI_EVENT_CPUID", 16, 0, 13},
};

static const struct event_fact v12_events[KVMI_V12_NUM_EVENTS] = {
	[0] = {"KVMI_VM_EVENT_UNHOOK", 0, -1, 0},
	[1] = {"KVMI_VCPU_EVENT_PAUSE", 0, 0, 10},
	[2] = {NULL, -1, -1, 0},
	[3] = {"KVMI_VCPU_EVENT_HYPERCALL", 0, 0, 5},
	[4] = {NULL, -1, -1, 0},
	[5] = {"KVMI_VCPU_EVENT_BREAKPOINT", 16, 0, 4},
	[6] = {NULL, -1, -1, 0},
	[7] = {"KVMI_VCPU_EVENT_CR", 24, 8, 1},
	[8] = {NULL, -1, -1, 0},
	[9] = {"KVMI_VCPU_EVENT_TRAP", 16, 0, 7},
	[10] = {NULL, -1, -1, 0},
	[11] = {"KVMI_VCPU_EVENT_XSETBV", 0, 0, 3},
	[12] = {NULL, -1, -1, 0},
	[13] = {"KVMI_VCPU_EVENT_DESCRIPTOR", 8, 0, 8},
	[14] = {NULL, -1, -1, 0},
	[15] = {"KVMI_VCPU_EVENT_MSR", 24, 8, 2},
	[16] = {NULL, -1, -1, 0},
	[17] = {"KVMI_VCPU_EVENT_PF", 24, 0, 6},
	[18] = {NULL, -1, -1, 0},
	[19] = {"KVMI_VCPU_EVENT_SINGLESTEP", 8, 0, 11},
};

static int dialect_ok(enum kvmi_dialect d)
{
	return (unsigned)d < KVMI_NUM_DIALECTS;
}

static int is_v7(enum kvmi_dialect d)
{
	return d == KVMI_DIALECT_V7 || d == KVMI_DIALECT_V7_2023;
}

/* the message fact of @id in @d (v7 or v12), NULL when unknown */
static const struct msg_fact *msg_fact(enum kvmi_dialect d, unsigned id)
{
	const struct msg_fact *f = NULL;

	if (is_v7(d) && id < KVMI_V7_NUM_MESSAGES)
		f = &v7_msgs[id];
	else if (d == KVMI_DIALECT_V12 && id < KVMI_V12_NUM_MESSAGES)
		f = &v12_msgs[id];
	if (!f || !f->name)
		return NULL;
	if (f->v7_2023 && d == KVMI_DIALECT_V7)
		return NULL;
	return f;
}

static const struct event_fact *event_fact(enum kvmi_dialect d, unsigned id)
{
	const struct event_fact *f = NULL;

	if (is_v7(d) && id < KVMI_V7_NUM_EVENTS)
		f = &v7_events[id];
	else if (d == KVMI_DIALECT_V12 && id < KVMI_V12_NUM_EVENTS)
		f = &v12_events[id];
	return f && f->name ? f : NULL;
}

KVMI_EXPORT const char *kvmi_dialect_name(enum kvmi_dialect d)
{
	static const char *const names[KVMI_NUM_DIALECTS] = {"v6", "v7",
							     "v7-2023", "v12"};

	return dialect_ok(d) ? names[d] : "UNKNOWN";
}

KVMI_EXPORT int kvmi_dialect_parse(const char *s, enum kvmi_dialect *out)
{
	if (!s || !out)
		return -EINVAL;
	for (unsigned d = 0; d < KVMI_NUM_DIALECTS; d++)
		if (!strcmp(s, kvmi_dialect_name((enum kvmi_dialect)d))) {
			*out = (enum kvmi_dialect)d;
			return 0;
		}
	return -EINVAL;
}

KVMI_EXPORT int kvmi_dialect_from_version_reply(const void *data, size_t len,
						enum kvmi_dialect *out)
{
	__u32 w[2];

	if (!data || !out || len < sizeof(w))
		return -EINVAL;
	memcpy(w, data, sizeof(w));
	if (w[0] != KVMI_VERSION)
		return -EINVAL;
	if (len == sizeof(struct kvmi_get_version_reply) && w[1] == 0)
		*out = KVMI_DIALECT_V6;
	else if (len == sizeof(struct kvmi_v7_get_version_reply) && w[1] == 0)
		*out = KVMI_DIALECT_V7;
	else if (len == sizeof(struct kvmi_v12_get_version_reply) &&
		 w[1] == KVMI_MSG_SIZE_VALUE)
		*out = KVMI_DIALECT_V12;
	else
		return -EINVAL;
	return 0;
}

KVMI_EXPORT const char *kvmi_msg_name_d(enum kvmi_dialect d, unsigned int id)
{
	const struct msg_fact *f;

	if (d == KVMI_DIALECT_V6)
		return v6_msg_name(id);
	f = msg_fact(d, id);
	return f ? f->name : "UNKNOWN";
}

KVMI_EXPORT const char *kvmi_event_name_d(enum kvmi_dialect d,
					  unsigned int event_id)
{
	const struct event_fact *f;

	if (d == KVMI_DIALECT_V6)
		return v6_event_name(event_id);
	f = event_fact(d, event_id);
	return f ? f->name : "UNKNOWN";
}

KVMI_EXPORT int kvmi_event_data_size_d(enum kvmi_dialect d,
				       unsigned int event_id)
{
	const struct event_fact *f;

	if (d == KVMI_DIALECT_V6)
		return v6_event_data_size(event_id);
	f = event_fact(d, event_id);
	return f ? f->data : -1;
}

KVMI_EXPORT int kvmi_event_reply_data_size_d(enum kvmi_dialect d,
					     unsigned int event_id)
{
	const struct event_fact *f;

	if (d == KVMI_DIALECT_V6)
		return v6_event_reply_data_size(event_id);
	f = event_fact(d, event_id);
	if (!f)
		return -1;
	return f->reply < 0 ? 0 : f->reply;
}

KVMI_EXPORT int kvmi_event_replied_d(enum kvmi_dialect d,
				     unsigned int event_id)
{
	const struct event_fact *f;

	if (d == KVMI_DIALECT_V6)
		return event_id < KVMI_NUM_EVENTS ? event_id != KVMI_EVENT_UNHOOK
						  : -1;
	f = event_fact(d, event_id);
	return f ? f->reply >= 0 : -1;
}

KVMI_EXPORT int kvmi_command_has_vcpu_d(enum kvmi_dialect d, unsigned int id)
{
	const struct msg_fact *f;

	if (d == KVMI_DIALECT_V6)
		return v6_command_has_vcpu(id);
	f = msg_fact(d, id);
	if (!f || f->common == KVMI_EVENT ||
	    f->common == KVMI_EVENT_REPLY)
		return -1;
	return f->vcpu;
}

KVMI_EXPORT int kvmi_dialect_msg_to_wire(enum kvmi_dialect d,
					 unsigned int common_id)
{
	if (!dialect_ok(d))
		return -1;
	if (d == KVMI_DIALECT_V6) {
		if (common_id <= KVMI_EVENT ||
		    (common_id < KVMI_NEXT_AVAILABLE_COMMAND &&
		     v6_command_has_vcpu(common_id) >= 0))
			return (int)common_id;
		return -1;
	}
	if (is_v7(d))
		return msg_fact(d, common_id) ? (int)common_id : -1;
	for (unsigned i = 0; i < KVMI_V12_NUM_MESSAGES; i++)
		if (v12_msgs[i].name && v12_msgs[i].common == common_id)
			return (int)i;
	return -1;
}

KVMI_EXPORT int kvmi_dialect_msg_from_wire(enum kvmi_dialect d,
					   unsigned int wire_id)
{
	const struct msg_fact *f;

	if (d == KVMI_DIALECT_V6)
		return kvmi_dialect_msg_to_wire(d, wire_id);
	f = msg_fact(d, wire_id);
	return f ? f->common : -1;
}

KVMI_EXPORT int kvmi_dialect_event_to_wire(enum kvmi_dialect d,
					   unsigned int common_id)
{
	if (d == KVMI_DIALECT_V6)
		return common_id < KVMI_NUM_EVENTS ? (int)common_id : -1;
	if (is_v7(d))
		return common_id < KVMI_V7_NUM_EVENTS ? (int)common_id : -1;
	if (d != KVMI_DIALECT_V12)
		return -1;
	for (unsigned i = 0; i < KVMI_V12_NUM_EVENTS; i++)
		if (v12_events[i].name && v12_events[i].common == common_id)
			return (int)i;
	return -1;
}

KVMI_EXPORT int kvmi_dialect_event_from_wire(enum kvmi_dialect d,
					     unsigned int wire_id)
{
	const struct event_fact *f;

	if (d == KVMI_DIALECT_V6)
		return kvmi_dialect_event_to_wire(d, wire_id);
	f = event_fact(d, wire_id);
	return f ? f->common : -1;
}

int kvmi__is_reply_id_d(enum kvmi_dialect d, unsigned int id)
{
	const struct msg_fact *f;

	if (d == KVMI_DIALECT_V6)
		return kvmi__is_reply_id(id);
	f = msg_fact(d, id);
	return f && f->common != KVMI_EVENT && f->common != KVMI_EVENT_REPLY;
}

size_t kvmi__reply_min_data_d(enum kvmi_dialect d, unsigned int id)
{
	const struct msg_fact *f;

	if (d == KVMI_DIALECT_V6)
		return kvmi__reply_min_data(id);
	f = msg_fact(d, id);
	if (f && f->common == KVMI_GET_REGISTERS)
		return sizeof(struct kvmi_get_registers_reply);
	return f ? f->min : 0;
}

/* ---- the v6 entry points ---- */

KVMI_EXPORT const char *kvmi_msg_name(unsigned int id)
{
	return v6_msg_name(id);
}

KVMI_EXPORT const char *kvmi_event_name(unsigned int event_id)
{
	return v6_event_name(event_id);
}

KVMI_EXPORT int kvmi_event_data_size(unsigned int event_id)
{
	return v6_event_data_size(event_id);
}

KVMI_EXPORT int kvmi_event_reply_data_size(unsigned int event_id)
{
	return v6_event_reply_data_size(event_id);
}

KVMI_EXPORT int kvmi_command_has_vcpu(unsigned int id)
{
	return v6_command_has_vcpu(id);
}

_Static_assert(KVMI_NUM_EVENTS == 12, "names.h hard-codes KVMI_NUM_EVENTS");
_Static_assert(sizeof(union kvmi_event_data) == 24,
	       "decoder.c copies event data in 8/16/24-byte cases");
