/*
 * libkvmi - codec.h: the I/O-less message decoder and encoders.
 *
 * Layer 2 of the library.  Knows nothing of sockets or sessions: the
 * decoder is fed arbitrary byte chunks (one byte at a time works) and
 * yields whole, validated messages; the encoders build any command, event
 * reply, event or command reply into a caller buffer with every padding
 * byte zeroed.  Both directions are covered so the same code serves the
 * library (host -> tool), the simulated host (tool -> host) and the stream
 * tools.
 *
 * Thread rules: a decoder is not thread-safe; use one per connection and
 * direction from one thread at a time.  Encoders are pure functions,
 * callable from any thread.
 *
 * Dialects: the decoder and the v6 encoders speak v6 (KVMI-PROTOCOL.md)
 * unless told otherwise.  kvmi_decoder_set_dialect() switches a decoder
 * to kvmi-v7 (2021 or 2023) or v12 - typically right after the
 * GET_VERSION reply, which decodes the same in every dialect - and the
 * *_d encoders take the dialect of each message.  Ids in a struct
 * kvmi_msg are always the dialect's wire ids; kvmi_dialect_msg_from_wire()
 * and kvmi_dialect_event_from_wire() map them to the common numbering
 * (kvmi-v7's, which extends v6's).
 *
 * Allocation: kvmi_decoder_new() allocates the decoder and its reassembly
 * buffer (sized to the configured maximum, 8 + 8192 bytes by default)
 * lazily, the first time a message does not lie whole in one fed chunk.
 * Nothing else allocates.
 */
#ifndef KVMI_CODEC_H
#define KVMI_CODEC_H

#include <kvmi/common.h>
#include <kvmi/error.h>
#include <kvmi/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Which side produced the bytes a decoder is fed. */
enum kvmi_direction {
	KVMI_DIR_HOST_TO_TOOL = 0, /* events, command replies (what a tool reads) */
	KVMI_DIR_TOOL_TO_HOST = 1, /* commands, event replies (what a host reads) */
};

/* What a decoded message is. */
enum kvmi_msg_kind {
	KVMI_MSG_EVENT = 1,		/* H->T id KVMI_EVENT */
	KVMI_MSG_REPLY = 2,		/* H->T reply to a command (id = command id) */
	KVMI_MSG_EVENT_REPLY_ERROR = 3, /* H->T id KVMI_EVENT_REPLY: the host
					   rejected an event reply (seq = the
					   event's) */
	KVMI_MSG_COMMAND = 4,		/* T->H command */
	KVMI_MSG_EVENT_REPLY = 5,	/* T->H KVMI_EVENT_REPLY */
};

/* Event-specific data, normalized (zero-filled where the host sent less).
 * The v7_* members are the kvmi-v7 layouts (v12 uses them too, and its CR
 * event reads correctly as cr: its cr byte is followed by padding). */
union kvmi_event_data {
	struct kvmi_event_cr cr;
	struct kvmi_event_msr msr;
	struct kvmi_event_breakpoint breakpoint;
	struct kvmi_event_pf pf;
	struct kvmi_event_trap trap;
	struct kvmi_event_descriptor descriptor;
	struct kvmi_v7_event_trap v7_trap;
	struct kvmi_v7_event_singlestep v7_singlestep;
	struct kvmi_v7_event_cpuid v7_cpuid;
	struct kvmi_v7_event_cmd_error v7_cmd_error;
	__u8 raw[24];
};

/*
 * A decoded message.  Filled by kvmi_decoder_feed(); every pointer in it is
 * borrowed: valid until the next call on the same decoder, and - when
 * payload (or an event's common struct) points into the caller's chunk
 * (zero-copy case) - only while that chunk is valid.  Pointers into the
 * payload are NOT aligned: copy before casting to a wire struct.  The
 * event pointers are aligned.
 */
struct kvmi_msg {
	enum kvmi_msg_kind kind;
	struct kvmi_msg_hdr hdr; /* as received */
	uint64_t offset;	 /* stream offset of the header's first byte */
	const __u8 *payload;	 /* hdr.size bytes */

	union {
		/* KVMI_MSG_EVENT (v12: message 0 or 1) */
		struct {
			/* common struct: min(host size, 544) bytes copied,
			 * the rest zero-filled; ->size keeps the host's value.
			 * v7: arch.view in arch.padding[1..2] (use
			 * kvmi_v7_event_view()).  v12: ->event holds the id of
			 * the kvmi_v12_event_hdr; a VM event (UNHOOK) has an
			 * all-zero common struct (size 0) */
			const struct kvmi_event *common;
			/* event-specific data (normalized, zero-filled) */
			const union kvmi_event_data *data;
			__u16 data_size; /* sizeof the specific struct for
					    this event id (0 for none) */
		} event;

		/* KVMI_MSG_REPLY and KVMI_MSG_EVENT_REPLY_ERROR */
		struct {
			__s32 host_err; /* as sent: 0 or -KVM_E* */
			int err;	/* kvmi_host_error_to_errno(host_err) */
			const __u8 *data; /* after the error code; NULL when
					     data_len is 0 (always on error) */
			size_t data_len;
		} reply;

		/* KVMI_MSG_COMMAND */
		struct {
			int known;	/* id is a command of the decoder's
					   dialect (v6: a core v6 command) */
			int has_vcpu;	/* the command starts with kvmi_vcpu_hdr */
			struct kvmi_vcpu_hdr vcpu; /* valid when has_vcpu */
			const __u8 *body; /* after the vcpu header (if any) */
			size_t body_len;
		} command;

		/* KVMI_MSG_EVENT_REPLY */
		struct {
			struct kvmi_vcpu_hdr vcpu;
			struct kvmi_event_reply common;
			const __u8 *tail; /* event-specific reply bytes */
			size_t tail_len;
		} event_reply;
	} u;
};

struct kvmi_decoder;

/*
 * kvmi_decoder_new - a decoder for bytes flowing in @dir.
 * The maximum payload defaults to KVMI_HOST_MSG_SIZE_VALUE (8192) for
 * host->tool and KVMI_MSG_SIZE_VALUE (8184) for tool->host.
 * Returns NULL when out of memory.  Free with kvmi_decoder_free().
 */
KVMI_EXPORT struct kvmi_decoder *kvmi_decoder_new(enum kvmi_direction dir);

/*
 * kvmi_decoder_set_dialect - decode by the rules of @dialect from the next
 * message on (ids, event and reply sizes; a new decoder speaks
 * KVMI_DIALECT_V6).  Only between messages, like
 * kvmi_decoder_set_max_size(): a decoder that just returned a message is
 * between messages.  Returns 0, -EINVAL (NULL or unknown dialect) or
 * -EBUSY (a message is partly buffered).  Not reset by
 * kvmi_decoder_reset().
 *
 * Per dialect, host->tool: v6 as before; kvmi-v7 adds events 12
 * (CMD_ERROR) and 13 (CPUID), the 16-byte TRAP and 8-byte SINGLESTEP data,
 * the 16-byte GET_VERSION reply and the replies of its new commands
 * (v7-2021 refuses a successful reply to a v7-2023-only id), and takes an
 * 8-byte message 1 with a negative first word as the error reply to a
 * tool that sent id 1; v12 takes
 * message 0 as a VM event (or, when 8 bytes with a negative first word,
 * as the error reply to a tool that sent id 0), message 1 as a vCPU event
 * (or, when 8 bytes long, as the host refusing an event reply:
 * KVMI_MSG_EVENT_REPLY_ERROR) and its own reply ids.  kvmi-v7 and v12 hosts answer unknown ids with
 * an error, so an error reply to any id decodes there.  Tool->host: the
 * event reply is message 0 (v12: 1), and commands are the dialect's.
 */
KVMI_EXPORT int kvmi_decoder_set_dialect(struct kvmi_decoder *d,
					 enum kvmi_dialect dialect);

/* kvmi_decoder_dialect - the dialect @d decodes (v6 for NULL). */
KVMI_EXPORT enum kvmi_dialect
kvmi_decoder_dialect(const struct kvmi_decoder *d);

/* kvmi_decoder_free - release @d (NULL is accepted). */
KVMI_EXPORT void kvmi_decoder_free(struct kvmi_decoder *d);

/*
 * kvmi_decoder_set_max_size - change the largest accepted payload
 * (1..65535).  Only between messages.  Returns 0, -EINVAL (bad value) or
 * -EBUSY (a message is partly buffered).
 */
KVMI_EXPORT int kvmi_decoder_set_max_size(struct kvmi_decoder *d,
					  size_t max_payload);

/*
 * kvmi_decoder_feed - feed @len bytes at @data.
 *
 * Consumes bytes until one whole message is decoded or the input is used
 * up.  Returns the number of bytes consumed (>= 0) and sets *@msg to the
 * decoded message, or to NULL when every byte was consumed without
 * completing one (partial bytes are kept).  Call again with the remaining
 * bytes after a message.  @msg is owned by the decoder (see struct
 * kvmi_msg for lifetimes).
 *
 * On a malformed message returns a negative KVMI_E_* code, sets *@msg to
 * NULL, and the decoder becomes failed: every later call returns
 * KVMI_E_DECODER_FAILED until kvmi_decoder_reset().  kvmi_decoder_error()
 * names what was wrong and where.  -EINVAL for NULL arguments.
 * -ENOMEM when the reassembly buffer (allocated once, on the first message
 * split across chunks) cannot be allocated: nothing consumed, not sticky;
 * feed the same bytes again later.
 */
KVMI_EXPORT ssize_t kvmi_decoder_feed(struct kvmi_decoder *d, const void *data,
				      size_t len, const struct kvmi_msg **msg);

/*
 * kvmi_decoder_finish - the stream ended.  Returns 0 when it ended on a
 * message boundary, KVMI_E_TRUNC_HEADER / KVMI_E_TRUNC_BODY when a message
 * was cut short (the decoder becomes failed), or the sticky error.
 */
KVMI_EXPORT int kvmi_decoder_finish(struct kvmi_decoder *d);

/* kvmi_decoder_reset - forget buffered bytes and any sticky error;
 * the stream offset restarts at 0. */
KVMI_EXPORT void kvmi_decoder_reset(struct kvmi_decoder *d);

/*
 * kvmi_decoder_error - details of the sticky error: a static-lifetime-per-
 * decoder text such as "message size 9000 exceeds the maximum 8184" (valid
 * until the next reset/free), or NULL when none.  When @offset is not NULL
 * it receives the stream offset of the offending byte (the start of the
 * offending message's header, or of the field that was wrong).
 */
KVMI_EXPORT const char *kvmi_decoder_error(const struct kvmi_decoder *d,
					   uint64_t *offset);

/* kvmi_decoder_offset - bytes consumed since creation or reset. */
KVMI_EXPORT uint64_t kvmi_decoder_offset(const struct kvmi_decoder *d);

/* kvmi_decoder_buffered - bytes of a partial message currently held. */
KVMI_EXPORT size_t kvmi_decoder_buffered(const struct kvmi_decoder *d);

/* ------------------------------------------------------------------ */
/* Names (for logs and the stream tools).  Static strings, never NULL. */
/* ------------------------------------------------------------------ */

/* "KVMI_GET_VERSION", ...; "KVMI_EXT_*" for extension ids; "UNKNOWN". */
KVMI_EXPORT const char *kvmi_msg_name(unsigned int id);
/* "KVMI_EVENT_BREAKPOINT", ...; "UNKNOWN" */
KVMI_EXPORT const char *kvmi_event_name(unsigned int event_id);
/* "CONTINUE", "RETRY", "CRASH"; "UNKNOWN" */
KVMI_EXPORT const char *kvmi_action_name(unsigned int action);

/*
 * kvmi_event_data_size - bytes of event-specific data the v6 protocol
 * defines for @event_id (e.g. 16 for BREAKPOINT, 0 for UNHOOK), or -1 for
 * an unknown id.
 */
KVMI_EXPORT int kvmi_event_data_size(unsigned int event_id);

/*
 * kvmi_event_reply_data_size - bytes of the event-specific reply struct
 * for @event_id (8 for CR and MSR, 272 for PF, 0 otherwise), -1 unknown.
 */
KVMI_EXPORT int kvmi_event_reply_data_size(unsigned int event_id);

/* kvmi_command_has_vcpu - 1 when command @id starts with kvmi_vcpu_hdr
 * (including PAUSE_VCPU), 0 when not, -1 for an unknown id. */
KVMI_EXPORT int kvmi_command_has_vcpu(unsigned int id);

/* ---- the same per dialect (static strings / facts, thread-safe) ---- */

/* "v6", "v7", "v7-2023", "v12"; "UNKNOWN" */
KVMI_EXPORT const char *kvmi_dialect_name(enum kvmi_dialect d);
/* kvmi_dialect_parse - the dialect named @s (as kvmi_dialect_name says
 * it) into *@out; 0 or -EINVAL */
KVMI_EXPORT int kvmi_dialect_parse(const char *s, enum kvmi_dialect *out);

/*
 * kvmi_dialect_from_version_reply - tell the dialect from the data of a
 * successful GET_VERSION reply (@len bytes after the error code;
 * KVMI-V7.md sec. 14): 8 bytes with 0 at offset 4 = v6, 16 bytes with 0
 * there = kvmi-v7 (KVMI_DIALECT_V7: the generation needs CHECK_COMMAND
 * probes, see KVMI-V7.md sec. 14), 16 bytes with 8184 there = v12.
 * 0, or -EINVAL for anything else (other postings, not a version 1).
 */
KVMI_EXPORT int kvmi_dialect_from_version_reply(const void *data, size_t len,
						enum kvmi_dialect *out);

/* Message / event names in @d: the kernel names of that dialect (kvmi-v7
 * and v12 use e.g. "KVMI_VCPU_GET_REGISTERS"); "UNKNOWN". */
KVMI_EXPORT const char *kvmi_msg_name_d(enum kvmi_dialect d, unsigned int id);
KVMI_EXPORT const char *kvmi_event_name_d(enum kvmi_dialect d,
					  unsigned int event_id);
/* event-specific data bytes of @event_id in @d, -1 unknown */
KVMI_EXPORT int kvmi_event_data_size_d(enum kvmi_dialect d,
				       unsigned int event_id);
/* event-specific reply bytes (0 also for events never replied), -1 unknown */
KVMI_EXPORT int kvmi_event_reply_data_size_d(enum kvmi_dialect d,
					     unsigned int event_id);
/* 1 when the tool must reply to @event_id (0 for UNHOOK and kvmi-v7's
 * CMD_ERROR), -1 unknown */
KVMI_EXPORT int kvmi_event_replied_d(enum kvmi_dialect d,
				     unsigned int event_id);
/* 1 when command @id of @d starts with kvmi_vcpu_hdr (kvmi-v7 PAUSE
 * included, v12 VM_PAUSE_VCPU not), 0 when not, -1 not a command */
KVMI_EXPORT int kvmi_command_has_vcpu_d(enum kvmi_dialect d, unsigned int id);

/*
 * Common numbering: kvmi-v7's message and event ids (a superset of v6's
 * except v6's CONTROL_VE, GET_PAGE_ACCESS and GET_PAGE_WRITE_BITMAP, which
 * keep their v6 numbers) name the same operation in every dialect;
 * v12's VM_CONTROL_CLEANUP, which no other dialect has, is
 * KVMI_COMMON_VM_CONTROL_CLEANUP.  KVMI_EVENT_REPLY (0) and KVMI_EVENT (1)
 * stand for the event reply and event messages.  These map both ways;
 * -1 when the dialect has no such message or event.
 */
#define KVMI_COMMON_VM_CONTROL_CLEANUP 64
KVMI_EXPORT int kvmi_dialect_msg_to_wire(enum kvmi_dialect d,
					 unsigned int common_id);
KVMI_EXPORT int kvmi_dialect_msg_from_wire(enum kvmi_dialect d,
					   unsigned int wire_id);
KVMI_EXPORT int kvmi_dialect_event_to_wire(enum kvmi_dialect d,
					   unsigned int common_id);
KVMI_EXPORT int kvmi_dialect_event_from_wire(enum kvmi_dialect d,
					     unsigned int wire_id);

/* ------------------------------------------------------------------ */
/* Sequence numbers                                                    */
/* ------------------------------------------------------------------ */

/*
 * Per-connection command sequence counter.  A plain value type: embed one
 * per connection; never share one between connections.  It wraps from
 * 0xffffffff to 0; matching replies is done by (id, seq) equality, so the
 * wrap is harmless as long as fewer than 2^32 commands are outstanding.
 */
struct kvmi_seq {
	uint32_t next;
};

/* kvmi_seq_init - start counting at @first. */
KVMI_EXPORT void kvmi_seq_init(struct kvmi_seq *s, uint32_t first);
/* kvmi_seq_next - the next sequence number (post-increment, wrapping). */
KVMI_EXPORT uint32_t kvmi_seq_next(struct kvmi_seq *s);

/* ------------------------------------------------------------------ */
/* Encoders                                                            */
/* ------------------------------------------------------------------ */
/*
 * Every encoder writes one whole message (header included) into @buf of
 * @cap bytes, with all padding zeroed, and returns its length in bytes, or
 * a negative error with nothing meaningful written:
 *   KVMI_E_NOSPACE  @cap too small (KVMI_ENCODE_MAX always suffices);
 *   -EINVAL          NULL pointer where data is required, a value the
 *                    protocol forbids (unknown event id for
 *                    CONTROL_EVENTS, cr not 0/3/4, msr outside the two
 *                    ranges, access bits beyond RWX, ctx_size > 256, ...);
 *   KVMI_E_PAGE_CROSS size 0, > 4096, or [gpa, gpa+size) crossing a page;
 *   KVMI_E_TOO_MANY  a count beyond one message (511 page-access entries,
 *                    1022 gpas, 482 MSRs).
 * @seq is the message's sequence number (from a struct kvmi_seq for
 * commands; the event's seq for event replies).
 */
#define KVMI_ENCODE_MAX (8 + 8192)

KVMI_EXPORT int kvmi_encode_get_version(void *buf, size_t cap, uint32_t seq);
KVMI_EXPORT int kvmi_encode_check_command(void *buf, size_t cap, uint32_t seq,
					  uint16_t id);
KVMI_EXPORT int kvmi_encode_check_event(void *buf, size_t cap, uint32_t seq,
					uint16_t event_id);
KVMI_EXPORT int kvmi_encode_get_guest_info(void *buf, size_t cap,
					   uint32_t seq);
KVMI_EXPORT int kvmi_encode_get_vcpu_info(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu);
KVMI_EXPORT int kvmi_encode_pause_vcpu(void *buf, size_t cap, uint32_t seq,
				       uint16_t vcpu, int wait);
/* @event_id: KVMI_EVENT_UNHOOK or KVMI_EVENT_CREATE_VCPU, else -EINVAL */
KVMI_EXPORT int kvmi_encode_control_vm_events(void *buf, size_t cap,
					      uint32_t seq, uint16_t event_id,
					      int enable);
/* @event_id: a vCPU event (CR..SINGLESTEP except CREATE_VCPU), else -EINVAL */
KVMI_EXPORT int kvmi_encode_control_events(void *buf, size_t cap, uint32_t seq,
					   uint16_t vcpu, uint16_t event_id,
					   int enable);
KVMI_EXPORT int kvmi_encode_control_cr(void *buf, size_t cap, uint32_t seq,
				       uint16_t vcpu, uint32_t cr, int enable);
KVMI_EXPORT int kvmi_encode_control_msr(void *buf, size_t cap, uint32_t seq,
					uint16_t vcpu, uint32_t msr,
					int enable);
/* @msrs may be NULL when @nmsrs is 0 */
KVMI_EXPORT int kvmi_encode_get_registers(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu, const uint32_t *msrs,
					  size_t nmsrs);
KVMI_EXPORT int kvmi_encode_set_registers(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu,
					  const struct kvm_regs *regs);
KVMI_EXPORT int kvmi_encode_get_cpuid(void *buf, size_t cap, uint32_t seq,
				      uint16_t vcpu, uint32_t function,
				      uint32_t index);
KVMI_EXPORT int kvmi_encode_get_xsave(void *buf, size_t cap, uint32_t seq,
				      uint16_t vcpu);
KVMI_EXPORT int kvmi_encode_read_physical(void *buf, size_t cap, uint32_t seq,
					  uint64_t gpa, size_t size);
KVMI_EXPORT int kvmi_encode_write_physical(void *buf, size_t cap, uint32_t seq,
					   uint64_t gpa, const void *data,
					   size_t size);
KVMI_EXPORT int kvmi_encode_inject_exception(void *buf, size_t cap,
					     uint32_t seq, uint16_t vcpu,
					     uint8_t nr, int has_error,
					     uint32_t error_code,
					     uint64_t address);
KVMI_EXPORT int kvmi_encode_get_page_access(void *buf, size_t cap,
					    uint32_t seq, uint16_t view,
					    const uint64_t *gpas, size_t count);
/* entries: gpa + access; padding of the caller's entries is ignored and
 * sent as zero */
KVMI_EXPORT int
kvmi_encode_set_page_access(void *buf, size_t cap, uint32_t seq, uint16_t view,
			    const struct kvmi_page_access_entry *entries,
			    size_t count);
KVMI_EXPORT int kvmi_encode_get_map_token(void *buf, size_t cap, uint32_t seq);
KVMI_EXPORT int kvmi_encode_get_mtrr_type(void *buf, size_t cap, uint32_t seq,
					  uint16_t vcpu, uint64_t gpa);
KVMI_EXPORT int kvmi_encode_control_spp(void *buf, size_t cap, uint32_t seq,
					int enable);
KVMI_EXPORT int kvmi_encode_get_page_write_bitmap(void *buf, size_t cap,
						  uint32_t seq, uint16_t view,
						  const uint64_t *gpas,
						  size_t count);
KVMI_EXPORT int kvmi_encode_set_page_write_bitmap(
	void *buf, size_t cap, uint32_t seq, uint16_t view,
	const struct kvmi_page_write_bitmap_entry *entries, size_t count);
KVMI_EXPORT int kvmi_encode_control_cmd_response(void *buf, size_t cap,
						 uint32_t seq, int enable,
						 int now);
KVMI_EXPORT int kvmi_encode_get_max_gfn(void *buf, size_t cap, uint32_t seq);

/*
 * kvmi_encode_command_raw - any command id with a caller-built body
 * (after the vcpu header when @has_vcpu).  For extension ids and for tests
 * that need malformed input; no validation beyond the size limit (8184).
 */
KVMI_EXPORT int kvmi_encode_command_raw(void *buf, size_t cap, uint16_t id,
					uint32_t seq, int has_vcpu,
					uint16_t vcpu, const void *body,
					size_t body_len);

/*
 * Event replies.  @seq is the event's seq, @vcpu its vCPU, @event_id its
 * id (echoed).  @action must be one the event accepts (CONTINUE/CRASH for
 * all; RETRY for BREAKPOINT, PF, DESCRIPTOR), else -EINVAL; UNHOOK is
 * never replied to (-EINVAL).  CR and MSR replies must use
 * kvmi_encode_event_reply_cr/_msr (the host would zero the register
 * otherwise), PF replies kvmi_encode_event_reply_pf: the generic encoder
 * refuses those ids with -EINVAL.
 */
KVMI_EXPORT int kvmi_encode_event_reply(void *buf, size_t cap, uint32_t seq,
					uint16_t vcpu, uint8_t event_id,
					uint8_t action);
KVMI_EXPORT int kvmi_encode_event_reply_cr(void *buf, size_t cap,
					   uint32_t seq, uint16_t vcpu,
					   uint8_t action, uint64_t new_val);
KVMI_EXPORT int kvmi_encode_event_reply_msr(void *buf, size_t cap,
					    uint32_t seq, uint16_t vcpu,
					    uint8_t action, uint64_t new_val);
/* @pf may be NULL (all zero: normal emulation); ctx_size > 256 -> -EINVAL */
KVMI_EXPORT int kvmi_encode_event_reply_pf(void *buf, size_t cap,
					   uint32_t seq, uint16_t vcpu,
					   uint8_t action,
					   const struct kvmi_event_pf_reply *pf);

/* ------------------------------------------------------------------ */
/* Encoders per dialect                                                */
/* ------------------------------------------------------------------ */
/*
 * The same messages in dialect @d (first argument), plus the kvmi-v7 and
 * v12 commands v6 lacks.  Same return values as above, and:
 *   -EOPNOTSUPP  @d has no such message (e.g. GET_MAX_GFN on v12,
 *                CREATE_EPT_VIEW on v7-2021, any *_ept_view on v6);
 *   -EINVAL      also an unknown @d, or a field @d cannot carry.
 * Event ids passed in (check_event, control_*events, event replies) are
 * @d's wire ids.  Per-dialect layouts: v12 PAUSE_VCPU carries the vCPU
 * index in its body (no vCPU header), v12 CONTROL_CR is {u8 cr; u8
 * enable}, v12 READ/WRITE_PHYSICAL a u16 size, v12 SET_PAGE_ACCESS has no
 * view (@view must be 0), kvmi-v7 SET_PAGE_WRITE_BITMAP has no view
 * (@view must be 0); kvmi-v7/v12 INJECT_EXCEPTION do not send @has_error
 * (the host decides).  A kvmi-v7 host reads PAUSE_VCPU's wait flag from
 * the vCPU header (KVMI-V7.md sec. 5.4): the encoder sends the documented
 * layout; the caller must know that host's quirk.
 */
KVMI_EXPORT int kvmi_encode_check_command_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t id);
KVMI_EXPORT int kvmi_encode_check_event_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t event_id);
KVMI_EXPORT int kvmi_encode_get_guest_info_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq);
KVMI_EXPORT int kvmi_encode_get_vcpu_info_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu);
KVMI_EXPORT int kvmi_encode_pause_vcpu_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu, int wait);
/* @event_id: UNHOOK or CREATE_VCPU (kvmi-v7 also CMD_ERROR; v12 UNHOOK
 * only), else -EINVAL */
KVMI_EXPORT int kvmi_encode_control_vm_events_d(enum kvmi_dialect d,
						void *buf, size_t cap,
						uint32_t seq,
						uint16_t event_id, int enable);
/* @event_id: a vCPU event of @d (v12: not PAUSE nor TRAP), else -EINVAL */
KVMI_EXPORT int kvmi_encode_control_events_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint16_t vcpu, uint16_t event_id,
					     int enable);
KVMI_EXPORT int kvmi_encode_control_cr_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu, uint32_t cr,
					 int enable);
KVMI_EXPORT int kvmi_encode_control_msr_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t vcpu, uint32_t msr,
					  int enable);
KVMI_EXPORT int kvmi_encode_get_registers_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu,
					    const uint32_t *msrs, size_t nmsrs);
KVMI_EXPORT int kvmi_encode_set_registers_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu,
					    const struct kvm_regs *regs);
KVMI_EXPORT int kvmi_encode_get_cpuid_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq,
					uint16_t vcpu, uint32_t function,
					uint32_t index);
KVMI_EXPORT int kvmi_encode_get_xsave_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq,
					uint16_t vcpu);
KVMI_EXPORT int kvmi_encode_read_physical_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint64_t gpa, size_t size);
KVMI_EXPORT int kvmi_encode_write_physical_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint64_t gpa, const void *data,
					     size_t size);
KVMI_EXPORT int kvmi_encode_inject_exception_d(enum kvmi_dialect d, void *buf,
					       size_t cap, uint32_t seq,
					       uint16_t vcpu, uint8_t nr,
					       int has_error,
					       uint32_t error_code,
					       uint64_t address);
KVMI_EXPORT int
kvmi_encode_set_page_access_d(enum kvmi_dialect d, void *buf, size_t cap,
			      uint32_t seq, uint16_t view,
			      const struct kvmi_page_access_entry *entries,
			      size_t count);
KVMI_EXPORT int kvmi_encode_set_page_write_bitmap_d(
	enum kvmi_dialect d, void *buf, size_t cap, uint32_t seq,
	uint16_t view, const struct kvmi_page_write_bitmap_entry *entries,
	size_t count);
KVMI_EXPORT int kvmi_encode_get_map_token_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq);
KVMI_EXPORT int kvmi_encode_get_mtrr_type_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu, uint64_t gpa);
KVMI_EXPORT int kvmi_encode_control_spp_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  int enable);
/* @flags: kvmi-v7 only (KVMI_V7_CMD_RESPONSE_ERROR_EVENTS), else 0 */
KVMI_EXPORT int kvmi_encode_control_cmd_response_d(enum kvmi_dialect d,
						   void *buf, size_t cap,
						   uint32_t seq, int enable,
						   int now, uint8_t flags);
KVMI_EXPORT int kvmi_encode_get_max_gfn_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq);

/* kvmi-v7 (both generations) */
KVMI_EXPORT int kvmi_encode_set_ve_info_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t vcpu, uint64_t gpa,
					  int trigger_vmexit);
KVMI_EXPORT int kvmi_encode_set_page_sve_d(enum kvmi_dialect d, void *buf,
					   size_t cap, uint32_t seq,
					   uint16_t view, uint64_t gpa,
					   int suppress);
KVMI_EXPORT int kvmi_encode_set_ept_view_d(enum kvmi_dialect d, void *buf,
					   size_t cap, uint32_t seq,
					   uint16_t vcpu, uint16_t view);
KVMI_EXPORT int kvmi_encode_disable_ve_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu);
KVMI_EXPORT int kvmi_encode_get_ept_view_d(enum kvmi_dialect d, void *buf,
					   size_t cap, uint32_t seq,
					   uint16_t vcpu);
KVMI_EXPORT int kvmi_encode_control_ept_view_d(enum kvmi_dialect d, void *buf,
					       size_t cap, uint32_t seq,
					       uint16_t vcpu, uint16_t view,
					       int visible);
/* CHANGE_GFN: v7-2023 carries @view; on v7-2021 the host uses the vCPU's
 * current view and @view must be 0 */
KVMI_EXPORT int kvmi_encode_change_gfn_d(enum kvmi_dialect d, void *buf,
					 size_t cap, uint32_t seq,
					 uint16_t vcpu, uint16_t view,
					 uint64_t old_gfn, uint64_t new_gfn);
/* kvmi-v7 2023 generation only */
KVMI_EXPORT int kvmi_encode_get_next_available_gfn_d(enum kvmi_dialect d,
						     void *buf, size_t cap,
						     uint32_t seq);
KVMI_EXPORT int kvmi_encode_query_physical_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint64_t gfn);
/* ALLOC/FREE_GFN: the host serves them on vCPU 0 only (KVMI-V7.md 10.6) */
KVMI_EXPORT int kvmi_encode_alloc_gfn_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq,
					uint16_t vcpu, uint64_t gfn);
KVMI_EXPORT int kvmi_encode_free_gfn_d(enum kvmi_dialect d, void *buf,
				       size_t cap, uint32_t seq,
				       uint16_t vcpu, uint64_t gfn);
KVMI_EXPORT int kvmi_encode_create_ept_view_d(enum kvmi_dialect d, void *buf,
					      size_t cap, uint32_t seq);
KVMI_EXPORT int kvmi_encode_destroy_ept_view_d(enum kvmi_dialect d, void *buf,
					       size_t cap, uint32_t seq,
					       uint16_t view);
/* kvmi-v7 and v12 */
KVMI_EXPORT int kvmi_encode_translate_gva_d(enum kvmi_dialect d, void *buf,
					    size_t cap, uint32_t seq,
					    uint16_t vcpu, uint64_t gva);
KVMI_EXPORT int kvmi_encode_get_xcr_d(enum kvmi_dialect d, void *buf,
				      size_t cap, uint32_t seq, uint16_t vcpu,
				      uint8_t xcr);
/* @len <= 4096 bytes of XSAVE area (@area may be NULL when 0) */
KVMI_EXPORT int kvmi_encode_set_xsave_d(enum kvmi_dialect d, void *buf,
					size_t cap, uint32_t seq,
					uint16_t vcpu, const void *area,
					size_t len);
KVMI_EXPORT int kvmi_encode_control_singlestep_d(enum kvmi_dialect d,
						 void *buf, size_t cap,
						 uint32_t seq, uint16_t vcpu,
						 int enable);
/* v12 only */
KVMI_EXPORT int kvmi_encode_control_cleanup_d(enum kvmi_dialect d, void *buf,
					      size_t cap, uint32_t seq,
					      int enable);

/*
 * Event replies in @d: the reply message is 0 (v12: 1); @event_id is
 * @d's wire id; events never replied (UNHOOK, kvmi-v7 CMD_ERROR) and
 * actions the event does not take are -EINVAL, as are CR/MSR/PF in
 * kvmi_encode_event_reply_d (v12 PF has no reply struct, so there it
 * is allowed).  kvmi_encode_event_reply_pf_d: kvmi-v7 refuses
 * @pf->singlestep (padding there); v12 refuses any non-zero @pf.
 */
KVMI_EXPORT int kvmi_encode_event_reply_d(enum kvmi_dialect d, void *buf,
					  size_t cap, uint32_t seq,
					  uint16_t vcpu, uint8_t event_id,
					  uint8_t action);
KVMI_EXPORT int kvmi_encode_event_reply_cr_d(enum kvmi_dialect d, void *buf,
					     size_t cap, uint32_t seq,
					     uint16_t vcpu, uint8_t action,
					     uint64_t new_val);
KVMI_EXPORT int kvmi_encode_event_reply_msr_d(enum kvmi_dialect d, void *buf,
					      size_t cap, uint32_t seq,
					      uint16_t vcpu, uint8_t action,
					      uint64_t new_val);
KVMI_EXPORT int
kvmi_encode_event_reply_pf_d(enum kvmi_dialect d, void *buf, size_t cap,
			     uint32_t seq, uint16_t vcpu, uint8_t action,
			     const struct kvmi_event_pf_reply *pf);

#ifdef __cplusplus
}
#endif

#endif /* KVMI_CODEC_H */
