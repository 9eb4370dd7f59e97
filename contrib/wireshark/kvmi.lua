-- libkvmi - contrib/wireshark/kvmi.lua: a Wireshark dissector for KVMI
-- message streams converted with `kvmi-dump --pcapng OUT CAPTURE`.
--
-- Use:  wireshark -X lua_script:contrib/wireshark/kvmi.lua OUT
--       tshark -X lua_script:contrib/wireshark/kvmi.lua -r OUT
-- (or copy the file into Wireshark's personal plugins folder).
--
-- It claims link type LINKTYPE_USER0 (147, WTAP_ENCAP_USER0) and expects
-- kvmi-dump's packet layout (tools/dump_pcapng.h): a 16-byte
-- little-endian pseudo-header {u8 version 1, u8 direction (0 host->tool,
-- 1 tool->host), u8 byte order of the message (0 little, 1 big),
-- 5 reserved bytes, u64 stream offset}, then one whole KVMI message
-- (8-byte header {u16 id, u16 size, u32 seq} and its payload).
--
-- Ids, event ids and structure layouts are those of KVMI protocol
-- version 1 ("v6", ../shared/protocol/KVMI-PROTOCOL.md; include/kvmi/wire.h
-- in libkvmi).  How a message is read follows from its direction, as the
-- library's decoder does: host->tool id 1 is an event, id 0 the host's
-- rejection of an event reply, any other id the reply to the command with
-- that id and seq; tool->host id 0 is an event reply, anything else a
-- command.  Replies are matched to their request by (id, seq) - events to
-- event replies by seq - giving kvmi.reply_to on the answer and
-- kvmi.response_in on the request (the latter needs a second pass:
-- tshark -2, or the Wireshark GUI).

local kvmi = Proto("kvmi", "KVM Introspection (KVMI v6)")

-- ---- names -------------------------------------------------------------

local MSG_NAMES = {
	[0] = "KVMI_EVENT_REPLY", [1] = "KVMI_EVENT",
	[2] = "KVMI_GET_VERSION", [3] = "KVMI_CHECK_COMMAND",
	[4] = "KVMI_CHECK_EVENT", [5] = "KVMI_GET_GUEST_INFO",
	[6] = "KVMI_GET_VCPU_INFO", [7] = "KVMI_PAUSE_VCPU",
	[8] = "KVMI_CONTROL_VM_EVENTS", [9] = "KVMI_CONTROL_EVENTS",
	[10] = "KVMI_CONTROL_CR", [11] = "KVMI_CONTROL_MSR",
	[12] = "KVMI_CONTROL_VE", [13] = "KVMI_GET_REGISTERS",
	[14] = "KVMI_SET_REGISTERS", [15] = "KVMI_GET_CPUID",
	[16] = "KVMI_GET_XSAVE", [17] = "KVMI_READ_PHYSICAL",
	[18] = "KVMI_WRITE_PHYSICAL", [19] = "KVMI_INJECT_EXCEPTION",
	[20] = "KVMI_GET_PAGE_ACCESS", [21] = "KVMI_SET_PAGE_ACCESS",
	[22] = "KVMI_GET_MAP_TOKEN", [23] = "KVMI_GET_MTRR_TYPE",
	[24] = "KVMI_CONTROL_SPP", [25] = "KVMI_GET_PAGE_WRITE_BITMAP",
	[26] = "KVMI_SET_PAGE_WRITE_BITMAP", [27] = "KVMI_CONTROL_CMD_RESPONSE",
	[29] = "KVMI_GET_MAX_GFN",
	-- Bitdefender extension ids (not v6; a v6 host answers EOPNOTSUPP)
	[28] = "KVMI_EXT_SET_VE_INFO_PAGE",
	[31] = "KVMI_EXT_GET_NEXT_AVAILABLE_GFN", [32] = "KVMI_EXT_SWITCH_EPT_VIEW",
	[33] = "KVMI_EXT_DISABLE_VE", [34] = "KVMI_EXT_GET_EPT_VIEW",
	[35] = "KVMI_EXT_VCPU_TRANSLATE_GVA", [36] = "KVMI_EXT_CONTROL_EPT_VIEW",
	[37] = "KVMI_EXT_VCPU_GET_XCR", [38] = "KVMI_EXT_VCPU_SET_XSAVE",
	[39] = "KVMI_EXT_QUERY_PHYSICAL", [41] = "KVMI_EXT_VCPU_ALLOC_GFN",
	[42] = "KVMI_EXT_VCPU_FREE_GFN", [43] = "KVMI_EXT_CREATE_EPT_VIEW",
	[44] = "KVMI_EXT_DESTROY_EPT_VIEW", [60] = "KVMI_EXT_VCPU_CHANGE_GFN",
	[63] = "KVMI_EXT_VCPU_CONTROL_SINGLESTEP",
}

local EVENT_NAMES = {
	[0] = "KVMI_EVENT_UNHOOK", [1] = "KVMI_EVENT_CR", [2] = "KVMI_EVENT_MSR",
	[3] = "KVMI_EVENT_XSETBV", [4] = "KVMI_EVENT_BREAKPOINT",
	[5] = "KVMI_EVENT_HYPERCALL", [6] = "KVMI_EVENT_PF",
	[7] = "KVMI_EVENT_TRAP", [8] = "KVMI_EVENT_DESCRIPTOR",
	[9] = "KVMI_EVENT_CREATE_VCPU", [10] = "KVMI_EVENT_PAUSE_VCPU",
	[11] = "KVMI_EVENT_SINGLESTEP",
}

local ACTION_NAMES = { [0] = "CONTINUE", [1] = "RETRY", [2] = "CRASH" }

-- host errors as sent (negated KVM_E* values, sec. 3.7)
local HOST_ERRORS = {
	[0] = "success", [-1] = "KVM_EPERM", [-2] = "KVM_ENOENT",
	[-7] = "KVM_E2BIG", [-11] = "KVM_EAGAIN", [-12] = "KVM_ENOMEM",
	[-14] = "KVM_EFAULT", [-16] = "KVM_EBUSY", [-22] = "KVM_EINVAL",
	[-95] = "KVM_EOPNOTSUPP", [-1000] = "KVM_ENOSYS",
}

-- enum kvmi_msg_kind of include/kvmi/codec.h
local KIND_EVENT, KIND_REPLY, KIND_REJECTED, KIND_COMMAND, KIND_EVENT_REPLY =
	1, 2, 3, 4, 5
local KIND_NAMES = {
	[1] = "event", [2] = "command reply", [3] = "event reply rejected",
	[4] = "command", [5] = "event reply",
}

local DIR_NAMES = { [0] = "host->tool", [1] = "tool->host" }
local DIR_SHORT = { [0] = "H>T", [1] = "T>H" }

-- core commands whose payload starts with struct kvmi_vcpu_hdr
local HAS_VCPU = {
	[6] = true, [7] = true, [9] = true, [10] = true, [11] = true,
	[13] = true, [14] = true, [15] = true, [16] = true, [19] = true,
	[23] = true,
}

local DESCRIPTORS = { [1] = "IDTR", [2] = "GDTR", [3] = "LDTR", [4] = "TR" }
local MODES = { [2] = "16-bit", [4] = "32-bit", [8] = "64-bit" }

-- ---- fields ------------------------------------------------------------

local F = {}
local function field(key, f)
	F[key] = f
end

field("version", ProtoField.uint8("kvmi.pseudo.version", "Pseudo-header version"))
field("dir", ProtoField.uint8("kvmi.dir", "Direction", base.DEC, DIR_NAMES))
field("byte_order", ProtoField.uint8("kvmi.pseudo.byte_order",
	"Message byte order", base.DEC, { [0] = "little-endian", [1] = "big-endian" }))
field("offset", ProtoField.uint64("kvmi.offset", "Stream offset"))
field("id", ProtoField.uint16("kvmi.id", "Message id", base.DEC, MSG_NAMES))
field("size", ProtoField.uint16("kvmi.size", "Payload size"))
field("seq", ProtoField.uint32("kvmi.seq", "Sequence number"))
field("name", ProtoField.string("kvmi.name", "Message"))
field("kind", ProtoField.uint8("kvmi.kind", "Kind", base.DEC, KIND_NAMES))
field("reply_to", ProtoField.framenum("kvmi.reply_to", "Reply to",
	base.NONE, frametype.REQUEST))
field("response_in", ProtoField.framenum("kvmi.response_in", "Response in",
	base.NONE, frametype.RESPONSE))
field("time", ProtoField.relative_time("kvmi.time", "Time since request"))
field("err", ProtoField.int32("kvmi.err", "Host error", base.DEC, HOST_ERRORS))
field("vcpu", ProtoField.uint16("kvmi.vcpu", "vCPU"))
field("event_id", ProtoField.uint8("kvmi.event_id", "Event", base.DEC, EVENT_NAMES))
field("cmd_id", ProtoField.uint16("kvmi.cmd_id", "Command id", base.DEC, MSG_NAMES))
field("enable", ProtoField.uint8("kvmi.enable", "Enable"))
field("now", ProtoField.uint8("kvmi.now", "Now"))
field("wait", ProtoField.uint8("kvmi.wait", "Wait"))
field("cr", ProtoField.uint32("kvmi.cr", "Control register"))
field("msr", ProtoField.uint32("kvmi.msr", "MSR", base.HEX))
field("gpa", ProtoField.uint64("kvmi.gpa", "Guest-physical address", base.HEX))
field("gva", ProtoField.uint64("kvmi.gva", "Guest-virtual address", base.HEX))
field("phys_size", ProtoField.uint64("kvmi.phys_size", "Access size"))
field("data", ProtoField.bytes("kvmi.data", "Data"))
field("data_len", ProtoField.uint32("kvmi.data_len", "Reply data length"))
field("view", ProtoField.uint16("kvmi.view", "EPT view"))
field("count", ProtoField.uint16("kvmi.count", "Count"))
field("access", ProtoField.uint8("kvmi.access", "Access", base.HEX))
field("bitmap", ProtoField.uint32("kvmi.bitmap", "Write bitmap", base.HEX))
field("nmsrs", ProtoField.uint32("kvmi.nmsrs", "MSR count"))
field("msr_value", ProtoField.uint64("kvmi.msr_value", "MSR value", base.HEX))
field("function", ProtoField.uint32("kvmi.cpuid.function", "CPUID function", base.HEX))
field("index", ProtoField.uint32("kvmi.cpuid.index", "CPUID index"))
field("eax", ProtoField.uint32("kvmi.cpuid.eax", "EAX", base.HEX))
field("ebx", ProtoField.uint32("kvmi.cpuid.ebx", "EBX", base.HEX))
field("ecx", ProtoField.uint32("kvmi.cpuid.ecx", "ECX", base.HEX))
field("edx", ProtoField.uint32("kvmi.cpuid.edx", "EDX", base.HEX))
field("exc_nr", ProtoField.uint8("kvmi.exception.nr", "Exception vector"))
field("exc_has_error", ProtoField.uint8("kvmi.exception.has_error", "Has error code"))
field("exc_error_code", ProtoField.uint32("kvmi.exception.error_code", "Error code", base.HEX))
field("exc_address", ProtoField.uint64("kvmi.exception.address", "Address", base.HEX))
field("kvmi_version", ProtoField.uint32("kvmi.version", "KVMI version"))
field("vcpu_count", ProtoField.uint32("kvmi.vcpu_count", "vCPU count"))
field("tsc_speed", ProtoField.uint64("kvmi.tsc_speed", "TSC speed (Hz)"))
field("mtrr_type", ProtoField.uint8("kvmi.mtrr_type", "MTRR type"))
field("gfn", ProtoField.uint64("kvmi.gfn", "Largest gfn", base.HEX))
field("token", ProtoField.bytes("kvmi.token", "Map token"))
field("mode", ProtoField.uint32("kvmi.mode", "vCPU mode (bytes)", base.DEC, MODES))
field("common_size", ProtoField.uint16("kvmi.event.common_size", "Common struct size"))
field("old_value", ProtoField.uint64("kvmi.old_value", "Old value", base.HEX))
field("new_value", ProtoField.uint64("kvmi.new_value", "New value", base.HEX))
field("insn_len", ProtoField.uint8("kvmi.insn_len", "Instruction length"))
field("vector", ProtoField.uint32("kvmi.trap.vector", "Vector"))
field("trap_type", ProtoField.uint32("kvmi.trap.type", "Type", base.HEX))
field("trap_error_code", ProtoField.uint32("kvmi.trap.error_code", "Error code", base.HEX))
field("cr2", ProtoField.uint64("kvmi.trap.cr2", "CR2", base.HEX))
field("descriptor", ProtoField.uint8("kvmi.descriptor", "Descriptor", base.DEC, DESCRIPTORS))
field("write", ProtoField.uint8("kvmi.descriptor.write", "Write"))
field("action", ProtoField.uint8("kvmi.action", "Action", base.DEC, ACTION_NAMES))
field("new_val", ProtoField.uint64("kvmi.new_val", "New value (reply)", base.HEX))
field("ctx_addr", ProtoField.uint64("kvmi.pf.ctx_addr", "Context address", base.HEX))
field("ctx_size", ProtoField.uint32("kvmi.pf.ctx_size", "Context size"))
field("singlestep", ProtoField.uint8("kvmi.pf.singlestep", "Single-step"))
field("rep_complete", ProtoField.uint8("kvmi.pf.rep_complete", "REP complete"))
field("ctx_data", ProtoField.bytes("kvmi.pf.ctx_data", "Context data"))

-- struct kvm_regs (144 bytes) and the parts of struct kvm_sregs shown
local REGS = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags" }
for _, r in ipairs(REGS) do
	field("reg_" .. r, ProtoField.uint64("kvmi.regs." .. r, r:upper(), base.HEX))
end
-- offset inside struct kvm_sregs: after 8 segments (24 each) and 2 dtables
local SREGS = { { "cr0", 224 }, { "cr2", 232 }, { "cr3", 240 }, { "cr4", 248 },
	{ "cr8", 256 }, { "efer", 264 }, { "apic_base", 272 } }
for _, s in ipairs(SREGS) do
	field("sreg_" .. s[1], ProtoField.uint64("kvmi.sregs." .. s[1],
		s[1]:upper(), base.HEX))
end
-- the msrs block of struct kvmi_event_arch
local ARCH_MSRS = { "sysenter_cs", "sysenter_esp", "sysenter_eip", "efer",
	"star", "lstar", "cstar", "pat", "shadow_gs" }
for _, m in ipairs(ARCH_MSRS) do
	field("msrs_" .. m, ProtoField.uint64("kvmi.arch.msrs." .. m, m, base.HEX))
end

local pf = {}
for _, f in pairs(F) do
	pf[#pf + 1] = f
end
kvmi.fields = pf

local ex_host_error = ProtoExpert.new("kvmi.host_error.expert",
	"The host answered with an error", expert.group.RESPONSE_CODE,
	expert.severity.NOTE)
local ex_rejected = ProtoExpert.new("kvmi.rejected.expert",
	"The host rejected an event reply", expert.group.RESPONSE_CODE,
	expert.severity.WARN)
local ex_layout = ProtoExpert.new("kvmi.layout.expert",
	"Not kvmi-dump's packet layout", expert.group.MALFORMED,
	expert.severity.ERROR)
local ex_short = ProtoExpert.new("kvmi.short.expert",
	"Message shorter than its fixed part", expert.group.MALFORMED,
	expert.severity.WARN)
kvmi.experts = { ex_host_error, ex_rejected, ex_layout, ex_short }

-- ---- request / response matching ---------------------------------------

local pending, reply_to, response_in, req_time

local function reset()
	pending = {}     -- key -> frame of the request not answered yet
	reply_to = {}    -- answer frame -> request frame
	response_in = {} -- request frame -> answer frame
	req_time = {}    -- request frame -> pinfo.rel_ts
end
reset()
kvmi.init = reset -- called before each file is read

local function request(pinfo, key)
	if not pinfo.visited then
		pending[key] = pinfo.number
		req_time[pinfo.number] = pinfo.rel_ts
	end
end

local function response(pinfo, key)
	if not pinfo.visited then
		local req = pending[key]
		if req then
			reply_to[pinfo.number] = req
			response_in[req] = pinfo.number
			pending[key] = nil
		end
		return req
	end
end

local function add_links(pinfo, tree)
	local req = reply_to[pinfo.number]
	if req then
		tree:add(F.reply_to, req):set_generated()
		local ns_total = math.floor((pinfo.rel_ts - req_time[req]) * 1e9 + 0.5)
		local secs = math.floor(ns_total / 1e9)
		local ns = ns_total - secs * 1e9
		tree:add(F.time, NSTime.new(secs, ns)):set_generated()
	end
	local rsp = response_in[pinfo.number]
	if rsp then
		tree:add(F.response_in, rsp):set_generated()
	end
end

-- ---- dissection --------------------------------------------------------

local P = 16 -- the message starts after the pseudo-header

-- state of one packet: the tvb, the byte order, the tree, info text
local function ctx_new(tvb, tree, le)
	local c = { tvb = tvb, tree = tree, le = le, info = {} }
	function c.r(off, len)
		return tvb(off, len)
	end
	function c.add(t, f, off, len)
		if le then
			return t:add_le(f, tvb(off, len))
		end
		return t:add(f, tvb(off, len))
	end
	-- a TvbRange getter in the message's byte order
	local function reader(le_name, be_name)
		local name = le and le_name or be_name
		return function(off, len)
			local r = tvb(off, len)
			return r[name](r)
		end
	end
	c.uint = reader("le_uint", "uint")
	c.int = reader("le_int", "int")
	local u64 = reader("le_uint64", "uint64")
	function c.u64(off)
		return u64(off, 8)
	end
	function c.note(s)
		c.info[#c.info + 1] = s
	end
	return c
end

local function hex64(v)
	return "0x" .. v:tohex():gsub("^0+(.)", "%1")
end

-- kvm_regs at @off, limited to bytes below @limit
local function add_regs(c, t, off, limit)
	for i, r in ipairs(REGS) do
		local o = off + (i - 1) * 8
		if o + 8 <= limit then
			c.add(t, F["reg_" .. r], o, 8)
		end
	end
end

local function add_sregs(c, t, off, limit)
	for _, s in ipairs(SREGS) do
		if off + s[2] + 8 <= limit then
			c.add(t, F["sreg_" .. s[1]], off + s[2], 8)
		end
	end
end

-- Fixed structures as data: {field key, offset, length[, info label,
-- info format ("d" decimal, "x" hex, "n" event name)]}; min = the bytes
-- the structure needs; rest = {field key, offset} for trailing bytes.
local function S(min, t)
	t.min = min
	return t
end

-- event-specific data by event id (after the common struct)
local EVENT_DATA = {
	[1] = S(24, { { "cr", 0, 2, "cr", "d" }, { "old_value", 8, 8 },
		{ "new_value", 16, 8 } }),
	[2] = S(24, { { "msr", 0, 4, "msr", "x" }, { "old_value", 8, 8 },
		{ "new_value", 16, 8 } }),
	[4] = S(16, { { "gpa", 0, 8, "gpa", "x" }, { "insn_len", 8, 1 } }),
	[6] = S(24, { { "gva", 0, 8 }, { "gpa", 8, 8, "gpa", "x" },
		{ "access", 16, 1 }, { "view", 18, 2 } }),
	[7] = S(24, { { "vector", 0, 4, "vector", "d" }, { "trap_type", 4, 4 },
		{ "trap_error_code", 8, 4 }, { "cr2", 16, 8 } }),
	[8] = S(8, { { "descriptor", 0, 1 }, { "write", 1, 1 } }),
}

-- event reply data by event id (after vcpu header and kvmi_event_reply)
local EVENT_REPLY_DATA = {
	[1] = S(8, { { "new_val", 0, 8, "new_val", "x" } }),
	[6] = S(16, { { "ctx_addr", 0, 8 }, { "ctx_size", 8, 4 },
		{ "singlestep", 12, 1 }, { "rep_complete", 13, 1 },
		rest = { "ctx_data", 16 } }),
}
EVENT_REPLY_DATA[2] = EVENT_REPLY_DATA[1]

-- command bodies by id (after the vCPU header when there is one)
local CONTROL_EVENTS = S(3, { { "event_id", 0, 2, "", "n" },
	{ "enable", 2, 1, "enable", "d" } })
local PHYSICAL = S(16, { { "gpa", 0, 8, "gpa", "x" },
	{ "phys_size", 8, 8, "size", "d" }, rest = { "data", 16 } })
local COMMANDS = {
	[3] = S(2, { { "cmd_id", 0, 2, "id", "d" } }),
	[4] = S(2, { { "event_id", 0, 2, "", "n" } }),
	[7] = S(1, { { "wait", 0, 1 } }),
	[8] = CONTROL_EVENTS,
	[9] = CONTROL_EVENTS,
	[10] = S(8, { { "cr", 4, 4, "cr", "d" }, { "enable", 0, 1, "enable", "d" } }),
	[11] = S(8, { { "msr", 4, 4, "msr", "x" }, { "enable", 0, 1, "enable", "d" } }),
	[15] = S(8, { { "function", 0, 4 }, { "index", 4, 4 } }),
	[17] = PHYSICAL,
	[18] = PHYSICAL,
	[19] = S(16, { { "exc_nr", 0, 1, "nr", "d" }, { "exc_has_error", 1, 1 },
		{ "exc_error_code", 4, 4 }, { "exc_address", 8, 8 } }),
	[23] = S(8, { { "gpa", 0, 8, "gpa", "x" } }),
	[24] = S(1, { { "enable", 0, 1 } }),
	[27] = S(2, { { "enable", 0, 1, "enable", "d" }, { "now", 1, 1, "now", "d" } }),
}

-- reply data by command id (after the error code)
local REPLY_DATA = {
	[2] = S(8, { { "kvmi_version", 0, 4 } }),
	[5] = S(16, { { "vcpu_count", 0, 4 } }),
	[6] = S(8, { { "tsc_speed", 0, 8 } }),
	[15] = S(16, { { "eax", 0, 4 }, { "ebx", 4, 4 }, { "ecx", 8, 4 },
		{ "edx", 12, 4 } }),
	[22] = S(32, { { "token", 0, 32 } }),
	[23] = S(1, { { "mtrr_type", 0, 1 } }),
	[29] = S(8, { { "gfn", 0, 8 } }),
}

-- add @layout at @base (@n bytes there); false when too short or none
local function add_struct(c, t, base, n, layout)
	if not layout or n < layout.min then
		return false
	end
	for _, e in ipairs(layout) do
		local off, len = base + e[2], e[3]
		c.add(t, F[e[1]], off, len)
		if e[4] then
			local v = len == 8 and c.u64(off) or c.uint(off, len)
			local text
			if e[5] == "n" then
				text = EVENT_NAMES[v] or "UNKNOWN"
			elseif e[5] == "x" then
				text = len == 8 and hex64(v) or string.format("0x%x", v)
			else
				text = tostring(v)
			end
			c.note(e[4] == "" and text or e[4] .. "=" .. text)
		end
	end
	local rest = layout.rest
	if rest and n > rest[2] then
		t:add(F[rest[1]], c.r(base + rest[2], n - rest[2]))
	end
	return true
end

-- @count elements of @esize bytes from @off, each added by @each(o)
local function add_array(count, off, esize, limit, each)
	for i = 0, count - 1 do
		local o = off + i * esize
		if o + esize > limit then
			break
		end
		each(o)
	end
end

-- struct kvmi_event: common part (host size @csize) then specific data
local function dissect_event(c, t, pay, n)
	local csize = c.uint(pay, 2)
	c.add(t, F.common_size, pay, 2)
	c.add(t, F.vcpu, pay + 2, 2)
	c.add(t, F.event_id, pay + 4, 1)
	local vcpu, ev = c.uint(pay + 2, 2), c.uint(pay + 4, 1)
	c.note(string.format("vcpu=%d %s", vcpu, EVENT_NAMES[ev] or "UNKNOWN"))
	local limit = pay + math.min(csize, n)
	if ev ~= 0 and limit > pay + 16 then
		local a = t:add(kvmi, c.r(pay + 8, limit - pay - 8), "Arch state")
		c.add(a, F.mode, pay + 8, 1)
		local regs = a:add(kvmi, c.r(pay + 16, math.min(144, limit - pay - 16)),
			"Registers")
		add_regs(c, regs, pay + 16, limit)
		add_sregs(c, a, pay + 160, limit)
		for i, m in ipairs(ARCH_MSRS) do
			local o = pay + 472 + (i - 1) * 8
			if o + 8 <= limit then
				c.add(a, F["msrs_" .. m], o, 8)
			end
		end
		if pay + 152 <= limit then
			c.note("rip=" .. hex64(c.u64(pay + 144)))
		end
	end
	local d, left = pay + csize, n - csize
	if left > 0 then
		local s = t:add(kvmi, c.r(d, left), "Event data")
		add_struct(c, s, d, left, EVENT_DATA[ev])
	end
end

-- reply data (after the error code) of command @id
local function dissect_reply_data(c, t, id, d, n)
	if n <= 0 then
		return
	end
	t:add(F.data_len, n):set_generated()
	if add_struct(c, t, d, n, REPLY_DATA[id]) then
		return
	end
	if id == 13 and n >= 472 then
		c.add(t, F.mode, d, 4)
		local regs = t:add(kvmi, c.r(d + 8, 144), "Registers")
		add_regs(c, regs, d + 8, d + n)
		add_sregs(c, t, d + 152, d + n)
		c.add(t, F.nmsrs, d + 464, 4)
		add_array(c.uint(d + 464, 4), d + 472, 16, d + n, function(o)
			local e = t:add(kvmi, c.r(o, 16), "MSR entry")
			c.add(e, F.msr, o, 4)
			c.add(e, F.msr_value, o + 8, 8)
		end)
	elseif id == 20 then
		add_array(n, d, 1, d + n, function(o) c.add(t, F.access, o, 1) end)
	elseif id == 25 then
		add_array(n, d, 4, d + n, function(o) c.add(t, F.bitmap, o, 4) end)
	else
		t:add(F.data, c.r(d, n))
	end
end

-- command body (after the vCPU header, if any) of command @id
local function dissect_command(c, t, id, b, n)
	if add_struct(c, t, b, n, COMMANDS[id]) then
		return
	end
	if (id == 20 or id == 21 or id == 25 or id == 26) and n >= 8 then
		c.add(t, F.view, b, 2)
		c.add(t, F.count, b + 2, 2)
		local count = c.uint(b + 2, 2)
		c.note(string.format("count=%d", count))
		if id == 20 or id == 25 then
			add_array(count, b + 8, 8, b + n, function(o)
				c.add(t, F.gpa, o, 8)
			end)
			return
		end
		add_array(count, b + 8, 16, b + n, function(o)
			local e = t:add(kvmi, c.r(o, 16), "Entry")
			c.add(e, F.gpa, o, 8)
			if id == 21 then
				c.add(e, F.access, o + 8, 1)
			else
				c.add(e, F.bitmap, o + 8, 4)
			end
		end)
	elseif id == 13 and n >= 2 then
		c.add(t, F.nmsrs, b, 2)
		add_array(c.uint(b, 2), b + 8, 4, b + n, function(o)
			c.add(t, F.msr, o, 4)
		end)
	elseif id == 14 and n >= 144 then
		local regs = t:add(kvmi, c.r(b, 144), "Registers")
		add_regs(c, regs, b, b + n)
		c.note("rip=" .. hex64(c.u64(b + 128)))
	elseif n > 0 then
		t:add(F.data, c.r(b, n))
	end
end

-- KVMI_EVENT_REPLY (tool->host): vcpu hdr, kvmi_event_reply, tail
local function dissect_event_reply(c, t, pay, n)
	c.add(t, F.vcpu, pay, 2)
	c.add(t, F.action, pay + 8, 1)
	c.add(t, F.event_id, pay + 9, 1)
	local ev = c.uint(pay + 9, 1)
	c.note(string.format("vcpu=%d %s action=%s", c.uint(pay, 2),
		EVENT_NAMES[ev] or "UNKNOWN",
		ACTION_NAMES[c.uint(pay + 8, 1)] or "UNKNOWN"))
	local d, left = pay + 16, n - 16
	if left > 0 and not add_struct(c, t, d, left, EVENT_REPLY_DATA[ev]) then
		t:add(F.data, c.r(d, left))
	end
end

function kvmi.dissector(tvb, pinfo, tree)
	local len = tvb:len()
	pinfo.cols.protocol = "KVMI"
	local top = tree:add(kvmi, tvb(), "KVM Introspection")
	if len < P + 8 or tvb(0, 1):uint() ~= 1 or tvb(1, 1):uint() > 1 then
		top:add_proto_expert_info(ex_layout)
		pinfo.cols.info = "not a kvmi-dump --pcapng packet"
		return
	end
	local dir = tvb(1, 1):uint()
	local le = tvb(2, 1):uint() == 0
	local ph = top:add(kvmi, tvb(0, P), "kvmi-dump pseudo-header")
	ph:add(F.version, tvb(0, 1))
	ph:add(F.byte_order, tvb(2, 1))
	top:add(F.dir, tvb(1, 1))
	top:add_le(F.offset, tvb(8, 8))

	local c = ctx_new(tvb, top, le)
	local id, size, seq = c.uint(P, 2), c.uint(P + 2, 2), c.uint(P + 4, 4)
	local pay = P + 8
	local n = math.min(size, len - pay)
	if size > n then
		top:add_proto_expert_info(ex_short)
	end
	local hdr = top:add(kvmi, tvb(P, 8), "Header")
	c.add(hdr, F.id, P, 2)
	c.add(hdr, F.size, P + 2, 2)
	c.add(hdr, F.seq, P + 4, 4)

	local kind
	if dir == 0 then
		kind = (id == 1 and KIND_EVENT) or (id == 0 and KIND_REJECTED) or KIND_REPLY
	else
		kind = (id == 0 and KIND_EVENT_REPLY) or KIND_COMMAND
	end
	local name = MSG_NAMES[id] or "UNKNOWN"
	top:add(F.kind, kind):set_generated()
	top:add(F.name, name):set_generated()
	top:append_text(string.format(", %s %s, seq %d", KIND_NAMES[kind], name, seq))

	local prefix = (kind == KIND_REPLY and "reply " or "") .. name ..
		(kind == KIND_REJECTED and "(rejected)" or "")
	c.note(string.format("%s %s seq=%d", DIR_SHORT[dir], prefix, seq))

	if kind == KIND_EVENT then
		request(pinfo, "e:" .. seq)
		if n >= 8 then
			dissect_event(c, top, pay, n)
		else
			top:add_proto_expert_info(ex_short)
		end
	elseif kind == KIND_EVENT_REPLY then
		response(pinfo, "e:" .. seq)
		request(pinfo, "r:" .. seq)
		if n >= 16 then
			dissect_event_reply(c, top, pay, n)
		else
			top:add_proto_expert_info(ex_short)
		end
	elseif kind == KIND_REPLY or kind == KIND_REJECTED then
		if kind == KIND_REPLY then
			response(pinfo, "c:" .. id .. ":" .. seq)
		else
			-- the rejected event reply did not count: the event
			-- waits for the next one
			local ereply = response(pinfo, "r:" .. seq)
			if ereply and reply_to[ereply] then
				pending["e:" .. seq] = reply_to[ereply]
			end
		end
		if n >= 8 then
			local err = c.int(pay, 4)
			local e = c.add(top, F.err, pay, 4)
			c.note(string.format("err=%d", err) ..
				(err ~= 0 and "(" .. (HOST_ERRORS[err] or "KVM_E?") .. ")" or ""))
			if kind == KIND_REJECTED then
				e:add_proto_expert_info(ex_rejected)
			elseif err ~= 0 then
				e:add_proto_expert_info(ex_host_error)
			else
				dissect_reply_data(c, top, id, pay + 8, n - 8)
			end
		else
			top:add_proto_expert_info(ex_short)
		end
	else
		request(pinfo, "c:" .. id .. ":" .. seq)
		local b = pay
		if HAS_VCPU[id] then
			if n < 8 then
				top:add_proto_expert_info(ex_short)
				pinfo.cols.info = table.concat(c.info, " ")
				return
			end
			c.add(top, F.vcpu, pay, 2)
			c.note(string.format("vcpu=%d", c.uint(pay, 2)))
			b = pay + 8
		end
		dissect_command(c, top, id, b, pay + n - b)
	end
	add_links(pinfo, top)
	pinfo.cols.info = table.concat(c.info, " ")
end

local encap = (wtap_encaps and wtap_encaps.USER0) or (wtap and wtap.USER0) or 45
DissectorTable.get("wtap_encap"):add(encap, kvmi)
