-- SPDX-License-Identifier: MIT
--
-- Wireshark dissector for lpctrace's pcapng output (lpctrace -f pcapng):
-- link type LINKTYPE_USER0, one packet per probe hit, a little-endian
-- "LPCT" pseudo-header (docs/lpctrace-formats.md has the layout), then the
-- snapped x86-64 PORT_MESSAGE and its data when the trace snapped payloads.
--
--   wireshark -X lua_script:trace/wireshark/lpc.lua trace.pcapng
--   tshark -X lua_script:trace/wireshark/lpc.lua -r trace.pcapng -V
--
-- or copy this file to ~/.local/lib/wireshark/plugins/.
--
-- The probe table mirrors trace/decode.c (probe numbers from
-- bpf/lpctrace.h, argument names and kinds from decode.c's table): keep
-- them in step.  Display filters use the same names as the NDJSON output:
-- lpct.msgid == 7, lpct.status != 0, lpct.probe == 8.

local lpct = Proto("lpct", "LPC trace record (lpctrace)")

-- ---------------------------------------------------------------------
-- Value strings
-- ---------------------------------------------------------------------

-- { number, provider, name, { argument names } }, in enum lpct_probe order.
local probes = {
	{ 1, "lpc", "port_create", { "port", "handle", "kind", "name", "domain", "max_msg", "max_info" } },
	{ 2, "lpc", "port_close", { "port", "kind", "domain" } },
	{ 3, "lpc", "connect_request", { "name", "msgid", "info_len", "view_size" } },
	{ 4, "lpc", "connect_done", { "name", "msgid", "port", "status" } },
	{ 5, "lpc", "listen", { "port", "status" } },
	{ 6, "lpc", "accept", { "msgid", "client_pid", "client_tid", "accepted", "handle", "context", "status" } },
	{ 7, "lpc", "complete", { "port", "handle", "status" } },
	{ 8, "lpc", "send", { "port", "type", "msgid", "callback_id", "data_len", "total_len", "msg", "status" } },
	{ 9, "lpc", "receive", { "port", "type", "msgid", "callback_id", "client_pid", "client_tid", "data_len", "total_len", "msg", "context" } },
	{ 10, "lpc", "reply", { "port", "msgid", "callback_id", "client_pid", "client_tid", "data_len", "msg", "status" } },
	{ 11, "lpc", "wait_begin", { "domain", "wait", "msgid", "wait_tid" } },
	{ 12, "lpc", "wait_end", { "domain", "wait", "msgid", "done", "error" } },
	{ 13, "lpc", "request_data", { "handle", "msg", "index", "length", "write", "status" } },
	{ 14, "lpc", "impersonate", { "handle", "msg", "status" } },
	{ 15, "lpc", "revert", { "status" } },
	{ 16, "lpc", "exception", { "port", "fault_tid", "signal", "address", "verdict" } },
	{ 17, "lpc", "view", { "port", "which", "base", "length", "mapped" } },
	{ 18, "csrd", "connect", { "client_pid", "client_tid", "msgid", "accepted" } },
	{ 19, "csrd", "api", { "client_pid", "client_tid", "api_number", "msgid", "status", "reply_code", "capture", "msg" } },
}

local probe_vs, probe_by_num = {}, {}
for _, p in ipairs(probes) do
	probe_vs[p[1]] = p[2] .. ":" .. p[3]
	probe_by_num[p[1]] = p
end

local type_vs = {
	[0] = "LPC_NEW_MESSAGE", [1] = "LPC_REQUEST", [2] = "LPC_REPLY",
	[3] = "LPC_DATAGRAM", [4] = "LPC_LOST_REPLY", [5] = "LPC_PORT_CLOSED",
	[6] = "LPC_CLIENT_DIED", [7] = "LPC_EXCEPTION", [8] = "LPC_DEBUG_EVENT",
	[9] = "LPC_ERROR_EVENT", [10] = "LPC_CONNECTION_REQUEST",
}

-- The statuses LPC and csrd answer with (include/lpc/lpc.h, csr.h).
local status_vs = {
	[0x00000000] = "STATUS_SUCCESS",
	[0x00000101] = "STATUS_ALERTED",
	[0x00000102] = "STATUS_TIMEOUT",
	[0x00000103] = "STATUS_PENDING",
	[0x00010001] = "DBG_EXCEPTION_HANDLED",
	[0x00010002] = "DBG_CONTINUE",
	[0x80000002] = "STATUS_DATATYPE_MISALIGNMENT",
	[0x8000000D] = "STATUS_PARTIAL_COPY",
	[0x80010001] = "DBG_EXCEPTION_NOT_HANDLED",
	[0xC0000001] = "STATUS_UNSUCCESSFUL",
	[0xC0000002] = "STATUS_NOT_IMPLEMENTED",
	[0xC0000003] = "STATUS_INVALID_INFO_CLASS",
	[0xC0000004] = "STATUS_INFO_LENGTH_MISMATCH",
	[0xC0000005] = "STATUS_ACCESS_VIOLATION",
	[0xC0000008] = "STATUS_INVALID_HANDLE",
	[0xC000000B] = "STATUS_INVALID_CID",
	[0xC000000D] = "STATUS_INVALID_PARAMETER",
	[0xC0000017] = "STATUS_NO_MEMORY",
	[0xC0000022] = "STATUS_ACCESS_DENIED",
	[0xC0000023] = "STATUS_BUFFER_TOO_SMALL",
	[0xC0000024] = "STATUS_OBJECT_TYPE_MISMATCH",
	[0xC000002F] = "STATUS_PORT_MESSAGE_TOO_LONG",
	[0xC0000033] = "STATUS_OBJECT_NAME_INVALID",
	[0xC0000034] = "STATUS_OBJECT_NAME_NOT_FOUND",
	[0xC0000035] = "STATUS_OBJECT_NAME_COLLISION",
	[0xC0000037] = "STATUS_PORT_DISCONNECTED",
	[0xC0000039] = "STATUS_OBJECT_PATH_INVALID",
	[0xC000003A] = "STATUS_OBJECT_PATH_NOT_FOUND",
	[0xC000003B] = "STATUS_OBJECT_PATH_SYNTAX_BAD",
	[0xC0000041] = "STATUS_PORT_CONNECTION_REFUSED",
	[0xC0000042] = "STATUS_INVALID_PORT_HANDLE",
	[0xC0000044] = "STATUS_QUOTA_EXCEEDED",
	[0xC0000048] = "STATUS_PORT_ALREADY_SET",
	[0xC000004B] = "STATUS_THREAD_IS_TERMINATING",
	[0xC0000059] = "STATUS_REVISION_MISMATCH",
	[0xC0000061] = "STATUS_PRIVILEGE_NOT_HELD",
	[0xC000009A] = "STATUS_INSUFFICIENT_RESOURCES",
	[0xC00000BB] = "STATUS_NOT_SUPPORTED",
	[0xC00000EF] = "STATUS_INVALID_PARAMETER_1",
	[0xC00000F0] = "STATUS_INVALID_PARAMETER_2",
	[0xC00000F1] = "STATUS_INVALID_PARAMETER_3",
	[0xC00000F2] = "STATUS_INVALID_PARAMETER_4",
	[0xC0000106] = "STATUS_NAME_TOO_LONG",
	[0xC000010A] = "STATUS_PROCESS_IS_TERMINATING",
	[0xC0000120] = "STATUS_CANCELLED",
	[0xC000021F] = "STATUS_REPLY_MESSAGE_MISMATCH",
	[0xC0000253] = "STATUS_LPC_REPLY_LOST",
	[0xC00002A0] = "STATUS_SERVER_SID_MISMATCH",
}

-- csrd:api's capture verdict: 0, 1, or the refusal's status.
local capture_vs = { [0] = "none", [1] = "ok" }
for k, v in pairs(status_vs) do
	if k > 1 then capture_vs[k] = v end
end

local port_kind_vs = { [1] = "connection", [2] = "unconnected", [3] = "server", [4] = "client" }
local wait_kind_vs = { [1] = "reply", [2] = "connect", [3] = "data", [4] = "view", [5] = "receive" }
local reply_code_vs = { [0] = "immediate", [1] = "pending", [2] = "client_died", [3] = "already_sent" }
local bool_vs = { [0] = "no", [1] = "yes" }
local signal_vs = {
	[1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP",
	[6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1",
	[11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
}

-- wait_end's error: 0, -errno, or one of the engine's -LPC_E* codes
-- (lpc/err.h: LPC_EBASE 4096, then these in order).
local error_vs = {
	[0] = "none", [-4] = "EINTR", [-11] = "EAGAIN", [-12] = "ENOMEM",
	[-14] = "EFAULT", [-22] = "EINVAL", [-32] = "EPIPE", [-104] = "ECONNRESET",
	[-110] = "ETIMEDOUT", [-125] = "ECANCELED",
}
local lpc_errors = {
	"REPLY_MESSAGE_MISMATCH", "INVALID_CID", "PORT_MESSAGE_TOO_LONG",
	"DATATYPE_MISALIGNMENT", "INVALID_PARAMETER_3", "INVALID_PARAMETER_4",
	"OBJECT_TYPE_MISMATCH", "INVALID_PORT_HANDLE", "PORT_DISCONNECTED",
	"LPC_REPLY_LOST", "PORT_CONNECTION_REFUSED", "OBJECT_NAME_INVALID",
	"OBJECT_PATH_NOT_FOUND", "OBJECT_PATH_SYNTAX_BAD", "PORT_ALREADY_SET",
	"THREAD_IS_TERMINATING", "SERVER_SID_MISMATCH", "INVALID_INFO_CLASS",
	"INFO_LENGTH_MISMATCH", "PARTIAL_COPY", "PRIVILEGE_NOT_HELD",
}
for i, n in ipairs(lpc_errors) do
	error_vs[-(4096 + i)] = n
end

-- ---------------------------------------------------------------------
-- Fields
-- ---------------------------------------------------------------------

local f = {
	magic = ProtoField.string("lpct.magic", "Magic"),
	version = ProtoField.uint16("lpct.version", "Version"),
	hdr_len = ProtoField.uint16("lpct.hdr_len", "Header length"),
	probe = ProtoField.uint16("lpct.probe", "Probe", base.DEC, probe_vs),
	nargs = ProtoField.uint16("lpct.nargs", "Arguments"),
	pid = ProtoField.uint32("lpct.pid", "Process"),
	tid = ProtoField.uint32("lpct.tid", "Thread"),
	uid = ProtoField.uint32("lpct.uid", "User"),
	latency = ProtoField.uint64("lpct.latency_ns", "Latency (ns)"),
	comm = ProtoField.stringz("lpct.comm", "Command"),
	name = ProtoField.stringz("lpct.port_path", "Port path (under $LPC_ROOT)"),
	snap_len = ProtoField.uint32("lpct.snap_len", "Snap length"),
	snap = ProtoField.bytes("lpct.snap", "Snapped bytes"),
	api_server = ProtoField.uint32("lpct.api_server", "Server DLL index"),
	api_index = ProtoField.uint32("lpct.api_index", "API index"),

	pm_data_length = ProtoField.uint16("lpct.pm.data_length", "DataLength"),
	pm_total_length = ProtoField.uint16("lpct.pm.total_length", "TotalLength"),
	pm_type = ProtoField.uint16("lpct.pm.type", "Type", base.DEC, type_vs, 0x0fff),
	pm_kernel = ProtoField.bool("lpct.pm.kernel_mode", "LPC_KERNELMODE_MESSAGE", 16, nil, 0x8000),
	pm_noimp = ProtoField.bool("lpct.pm.no_impersonate", "LPC_NO_IMPERSONATE", 16, nil, 0x4000),
	pm_cont = ProtoField.bool("lpct.pm.continuation_required", "LPC_CONTINUATION_REQUIRED", 16, nil, 0x2000),
	pm_dinfo = ProtoField.uint16("lpct.pm.data_info_offset", "DataInfoOffset"),
	pm_pid = ProtoField.uint64("lpct.pm.unique_process", "ClientId.UniqueProcess"),
	pm_tid = ProtoField.uint64("lpct.pm.unique_thread", "ClientId.UniqueThread"),
	pm_msgid = ProtoField.uint32("lpct.pm.message_id", "MessageId"),
	pm_pad = ProtoField.uint32("lpct.pm.pad", "Padding", base.HEX),
	pm_view = ProtoField.uint64("lpct.pm.client_view_size", "ClientViewSize"),
	pm_cbid = ProtoField.uint32("lpct.pm.callback_id", "CallbackId"),
	pm_data = ProtoField.bytes("lpct.pm.data", "Data"),
}

-- How each argument is shown, by its name (one kind per name in decode.c).
local H, D = "hex", "dec"
local arg_kind = {
	port = H, handle = H, domain = H, msg = H, context = H, base = H, address = H,
	name = "str",
	max_msg = D, max_info = D, msgid = D, info_len = D, view_size = D,
	client_pid = D, client_tid = D, callback_id = D, data_len = D,
	total_len = D, wait_tid = D, index = D, length = D, fault_tid = D, which = D,
	kind = "port_kind", wait = "wait_kind", type = "type",
	status = "status", verdict = "status", capture = "capture",
	accepted = "bool", done = "bool", write = "bool", mapped = "bool",
	error = "error", api_number = "api", reply_code = "reply_code", signal = "signal",
}

-- Every argument a field named lpct.<argument>, as in the NDJSON output.
local arg_field = {}
for name, kind in pairs(arg_kind) do
	local abbr = "lpct." .. name
	local pf
	if kind == H then
		pf = ProtoField.uint64(abbr, name, base.HEX)
	elseif kind == D then
		pf = ProtoField.int64(abbr, name)
	elseif kind == "str" then
		-- The argument is the string's address; the string is lpct.port_path.
		pf = ProtoField.uint64("lpct.name_ptr", name, base.HEX)
	elseif kind == "status" then
		pf = ProtoField.uint32(abbr, name, base.HEX, status_vs)
	elseif kind == "capture" then
		pf = ProtoField.uint32(abbr, name, base.HEX, capture_vs)
	elseif kind == "type" then
		pf = ProtoField.uint32(abbr, name, base.DEC, type_vs)
	elseif kind == "port_kind" then
		pf = ProtoField.uint32(abbr, name, base.DEC, port_kind_vs)
	elseif kind == "wait_kind" then
		pf = ProtoField.uint32(abbr, name, base.DEC, wait_kind_vs)
	elseif kind == "reply_code" then
		pf = ProtoField.uint32(abbr, name, base.DEC, reply_code_vs)
	elseif kind == "bool" then
		pf = ProtoField.uint32(abbr, name, base.DEC, bool_vs)
	elseif kind == "signal" then
		pf = ProtoField.uint32(abbr, name, base.DEC, signal_vs)
	elseif kind == "error" then
		pf = ProtoField.int32(abbr, name, base.DEC, error_vs)
	elseif kind == "api" then
		pf = ProtoField.uint32(abbr, name, base.HEX)
	end
	arg_field[name] = pf
	f["arg_" .. name] = pf
end

local fields = {}
for _, pf in pairs(f) do
	fields[#fields + 1] = pf
end
lpct.fields = fields

local ef_failed = ProtoExpert.new("lpct.failed", "The call failed",
	expert.group.RESPONSE_CODE, expert.severity.NOTE)
local ef_short = ProtoExpert.new("lpct.short", "Record shorter than its header says",
	expert.group.MALFORMED, expert.severity.ERROR)
lpct.experts = { ef_failed, ef_short }

-- ---------------------------------------------------------------------
-- Dissection
-- ---------------------------------------------------------------------

local PM_LEN = 40	-- sizeof(PORT_MESSAGE) on x86-64

-- The x86-64 PORT_MESSAGE (include/lpc/lpc.h) and the data after it.
local function dissect_port_message(tvb, tree)
	local len = tvb:len()
	if len < PM_LEN then
		tree:add(f.pm_data, tvb()):set_text("Snap shorter than a PORT_MESSAGE")
		return
	end
	local pm = tree:add(tvb(0, PM_LEN), "PORT_MESSAGE")
	local dlen = tvb(0, 2):le_uint()
	pm:add_le(f.pm_data_length, tvb(0, 2))
	pm:add_le(f.pm_total_length, tvb(2, 2))
	local type = bit32.band(tvb(4, 2):le_uint(), 0x0fff)
	pm:add_le(f.pm_type, tvb(4, 2))
	pm:add_le(f.pm_kernel, tvb(4, 2))
	pm:add_le(f.pm_noimp, tvb(4, 2))
	pm:add_le(f.pm_cont, tvb(4, 2))
	pm:add_le(f.pm_dinfo, tvb(6, 2))
	pm:add_le(f.pm_pid, tvb(8, 8))
	pm:add_le(f.pm_tid, tvb(16, 8))
	pm:add_le(f.pm_msgid, tvb(24, 4))
	pm:add_le(f.pm_pad, tvb(28, 4))
	-- The union at 32: a connection request's view size, else CallbackId.
	if type == 10 then
		pm:add_le(f.pm_view, tvb(32, 8))
	else
		pm:add_le(f.pm_cbid, tvb(32, 4))
	end
	local avail = len - PM_LEN
	if avail > 0 then
		local n = math.min(avail, dlen)
		if n > 0 then
			local d = tree:add(f.pm_data, tvb(PM_LEN, n))
			if n < dlen then
				d:append_text(string.format(" (%d of %d bytes snapped)", n, dlen))
			end
		end
	end
end

function lpct.dissector(tvb, pinfo, root)
	if tvb:len() < 32 or tvb(0, 4):string() ~= "LPCT" then
		return 0
	end
	pinfo.cols.protocol:set("LPC")
	local tree = root:add(lpct, tvb())
	tree:add(f.magic, tvb(0, 4))
	tree:add_le(f.version, tvb(4, 2))
	tree:add_le(f.hdr_len, tvb(6, 2))
	local hdr_len = tvb(6, 2):le_uint()
	local probe = tvb(8, 2):le_uint()
	local nargs = tvb(10, 2):le_uint()
	tree:add_le(f.probe, tvb(8, 2))
	tree:add_le(f.nargs, tvb(10, 2))
	tree:add_le(f.pid, tvb(12, 4))
	tree:add_le(f.tid, tvb(16, 4))
	tree:add_le(f.uid, tvb(20, 4))
	local lat = tvb(24, 8):le_uint64()
	if lat ~= UInt64(0) then
		tree:add_le(f.latency, tvb(24, 8))
	end
	if tvb:len() < hdr_len or hdr_len < 116 + 8 * nargs then
		tree:add_proto_expert_info(ef_short)
		return tvb:len()
	end

	local desc = probe_by_num[probe]
	local pid, tid = tvb(12, 4):le_uint(), tvb(16, 4):le_uint()
	local info = {}
	info[1] = string.format("%s %d/%d", probe_vs[probe] or ("probe " .. probe), pid, tid)
	local failed = false

	local args = tree:add(tvb(32, 8 * nargs), "Arguments")
	for i = 1, nargs do
		local off = 32 + 8 * (i - 1)
		local name = desc and desc[4][i]
		local pf = name and arg_field[name]
		if not pf then
			args:add_le(tvb(off, 8), string.format("arg%d: %s", i - 1, tostring(tvb(off, 8):le_int64())))
		else
			local kind = arg_kind[name]
			if kind == H or kind == "str" then
				args:add_le(pf, tvb(off, 8))
			elseif kind == D then
				args:add_le(pf, tvb(off, 8))
			else
				-- 32-bit values: the low half of the little-endian s64.
				args:add_le(pf, tvb(off, 4))
			end
			local v32 = tvb(off, 4):le_uint()
			if kind == "status" then
				info[#info + 1] = status_vs[v32] or string.format("0x%08x", v32)
				if v32 >= 0x80000000 and name == "status" then failed = true end
			elseif kind == "type" then
				info[#info + 1] = type_vs[v32] or ("type " .. v32)
			elseif name == "msgid" then
				info[#info + 1] = "msgid " .. v32
			elseif kind == "wait_kind" then
				info[#info + 1] = wait_kind_vs[v32] or tostring(v32)
			elseif kind == "api" then
				info[#info + 1] = string.format("api 0x%x", v32)
				args:add(f.api_server, tvb(off + 2, 2), bit32.rshift(v32, 16))
				args:add(f.api_index, tvb(off, 2), bit32.band(v32, 0xffff))
			elseif name == "done" and v32 == 0 then
				failed = true
			end
		end
	end

	local o = 32 + 8 * nargs
	tree:add(f.comm, tvb(o, 16))
	local path = tvb(o + 16, 64):stringz()
	if path ~= "" then
		tree:add(f.name, tvb(o + 16, 64))
		info[#info + 1] = "\\" .. path:gsub("/", "\\")
	end
	tree:add_le(f.snap_len, tvb(o + 80, 4))
	local snap_len = tvb(o + 80, 4):le_uint()
	if failed then
		tree:add_proto_expert_info(ef_failed)
	end
	if lat ~= UInt64(0) then
		info[#info + 1] = string.format("%.1f us", tonumber(tostring(lat)) / 1000)
	end
	pinfo.cols.info:set(table.concat(info, " "))

	if snap_len > 0 then
		local avail = math.min(snap_len, tvb:len() - hdr_len)
		if avail > 0 then
			local snap = tvb(hdr_len, avail)
			local st = tree:add(f.snap, snap)
			dissect_port_message(snap:tvb(), st)
		end
	end
	return tvb:len()
end

local encaps = wtap_encaps or wtap
DissectorTable.get("wtap_encap"):add(encaps.USER0, lpct)
