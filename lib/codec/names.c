/*
 * libkvmi - names.c: names and per-id facts of messages and events
 * (which commands carry a vCPU header, event data and reply sizes).
 */
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

KVMI_EXPORT const char *kvmi_msg_name(unsigned int id)
{
	if (id < sizeof(msg_names) / sizeof(msg_names[0]) && msg_names[id])
		return msg_names[id];
	return "UNKNOWN";
}

KVMI_EXPORT const char *kvmi_event_name(unsigned int event_id)
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

KVMI_EXPORT int kvmi_event_data_size(unsigned int event_id)
{
	if (event_id >= KVMI_NUM_EVENTS)
		return -1;
	return kvmi__event_data_sizes[event_id];
}

KVMI_EXPORT int kvmi_event_reply_data_size(unsigned int event_id)
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

KVMI_EXPORT int kvmi_command_has_vcpu(unsigned int id)
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

_Static_assert(KVMI_NUM_EVENTS == 12, "names.h hard-codes KVMI_NUM_EVENTS");
_Static_assert(sizeof(union kvmi_event_data) == 24,
	       "decoder.c copies event data in 8/16/24-byte cases");
