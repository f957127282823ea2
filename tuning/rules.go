package tuning

import (
	"errors"
	"fmt"
)

// rules run in this order; each returns one row. The order groups what an
// operator fixes together: descriptors, accept path, ports, buffers, memory.
var rules = []func(*checker) Row{
	ruleNoFile,
	ruleNrOpen,
	ruleFileMax,
	ruleFileNr,
	ruleSomaxconn,
	ruleSynBacklog,
	ruleSyncookies,
	ruleNetdevBacklog,
	rulePortRange,
	ruleTwReuse,
	ruleFinTimeout,
	ruleTCPMem,
	ruleBufMax("net.ipv4.tcp_wmem", "send"),
	ruleBufMax("net.ipv4.tcp_rmem", "receive"),
	ruleCoreMax("net.core.wmem_max", "SO_SNDBUF"),
	ruleCoreMax("net.core.rmem_max", "SO_RCVBUF"),
	ruleSlowStart,
	ruleConntrack,
	ruleMemory,
}

// fileLimitTarget is what to set a per-process file limit to: the need, but
// at least the common 1048576 (fs.nr_open's default), in 64 Ki steps above.
func fileLimitTarget(need int64) int64 { return max(roundUp(need, 1<<16), 1<<20) }

func ruleNoFile(c *checker) Row {
	need := c.perProcess()
	row := Row{Key: "RLIMIT_NOFILE", Recommended: "hard >= " + itoa(need),
		Formula: fmt.Sprintf("ceil(%d conns / %d processes) + %d reserved", c.n, c.o.Processes, ReservedFiles)}
	lim, err := readNoFile(c.root, c.o.PID)
	if errors.Is(err, errMissing) {
		row.Status, row.Note = StatusSkip, fmt.Sprintf("no %s/%s/limits to read", c.root, c.o.PID)
		return row
	}
	if err != nil {
		row.Status, row.Note = StatusUnknown, err.Error()
		return row
	}
	row.Current = fmt.Sprintf("soft %s hard %s", limStr(lim.Soft), limStr(lim.Hard))
	who := "process " + c.o.PID
	if c.o.PID == "self" {
		who = "this shell (barrage tune inherits its limits; a systemd unit has its own, check it with --pid)"
	}
	switch {
	case lim.Hard < need:
		row.Status = StatusFail
		procs := (c.n + max(lim.Hard-ReservedFiles, 1) - 1) / max(lim.Hard-ReservedFiles, 1)
		row.Note = fmt.Sprintf("the hard limit of %s lets one process hold about %d connections; barrage raises "+
			"the soft limit only up to the hard one. Raise the hard limit, or run %d gateway processes with "+
			"gateway.reuse_port", who, max(lim.Hard-ReservedFiles, 0), procs)
		t := fileLimitTarget(need)
		row.Fix = fmt.Sprintf("systemd: LimitNOFILE=%d in [Service]; shell (as root): ulimit -n %d", t, t)
	case lim.Soft < need:
		row.Status = StatusOK
		row.Note = fmt.Sprintf("soft %s is below the need, but barrage raises the soft limit to the hard one at start",
			limStr(lim.Soft))
	default:
		row.Status = StatusOK
	}
	return row
}

func limStr(v int64) string {
	if v == unlimited {
		return "unlimited"
	}
	return itoa(v)
}

func ruleNrOpen(c *checker) Row {
	need := c.perProcess()
	return c.atLeast("fs.nr_open", need, fileLimitTarget(need), need,
		fmt.Sprintf("per-process files: ceil(%d / %d) + %d", c.n, c.o.Processes, ReservedFiles),
		"the ceiling of any process's RLIMIT_NOFILE; LimitNOFILE above it fails")
}

func (c *checker) fileMaxWant() int64 {
	return c.n*11/10 + SystemFiles + int64(c.o.Processes)*ReservedFiles
}

func ruleFileMax(c *checker) Row {
	want := c.fileMaxWant()
	return c.atLeast("fs.file-max", want, roundUp(want, 1<<16), c.n+int64(c.o.Processes)*ReservedFiles,
		fmt.Sprintf("%d x 1.1 + %d for the rest of the host + %d per process", c.n, SystemFiles, ReservedFiles),
		"open files on the whole host; past it open/accept fail with ENFILE for non-root processes")
}

func ruleFileNr(c *checker) Row {
	v, bad := c.read("fs.file-nr", 3)
	if bad != nil {
		return *bad
	}
	alloc, limit := v[0], v[2]
	need := c.n + int64(c.o.Processes)*ReservedFiles
	row := Row{Key: "fs.file-nr", Current: fmt.Sprintf("%d in use of %d", alloc, limit),
		Recommended: "free >= " + itoa(need),
		Formula:     fmt.Sprintf("fs.file-max - in use >= %d conns + %d per process", c.n, ReservedFiles),
		Note:        "read-only; files the host already uses count against fs.file-max (run this before the gateway)",
		Status:      StatusOK}
	if limit-alloc < need {
		row.Status = StatusFail
		row.Note = "the host's free file slots cannot hold the connections: raise fs.file-max"
		row.Fix, row.SysctlD = sysctlFix("fs.file-max", roundUp(alloc+c.fileMaxWant(), 1<<16))
	}
	return row
}

// stormBacklog sizes the accept and SYN queues for a reconnect storm: after a
// gateway restart N clients come back within ~10 s of jittered backoff (N/10
// per second); a 150 ms stall of the accept loop (GC, an auth burst) then
// queues N/10 x 0.15 ~ N/64 connections. Both queues belong to one listening
// socket, and with reuse_port each process has its own, so the share of one
// process counts.
func (c *checker) stormBacklog() int64 {
	return pow2Clamp((c.perProcess()-ReservedFiles)/64, 4096, 65535)
}

// noListener grades the accept-path rows on a load generator, which has no
// listening socket to size.
func (c *checker) noListener(key string) (Row, bool) {
	if c.o.Role != RoleClient {
		return Row{}, false
	}
	v, bad := c.read(key, 1)
	if bad != nil {
		return *bad, true
	}
	return Row{Key: key, Current: itoa(v[0]), Recommended: "any", Status: StatusOK,
		Formula: "client role: no listening socket on this host"}, true
}

func ruleSomaxconn(c *checker) Row {
	if row, ok := c.noListener("net.core.somaxconn"); ok {
		return row
	}
	return c.atLeast("net.core.somaxconn", c.stormBacklog(), 0, 0,
		"reconnect storm: next power of two >= (N / processes) / 64, within [4096, 65535]",
		"caps every listen() backlog; Go and gnet read it when the gateway starts listening, so restart after raising it")
}

func ruleSynBacklog(c *checker) Row {
	if row, ok := c.noListener("net.ipv4.tcp_max_syn_backlog"); ok {
		return row
	}
	return c.atLeast("net.ipv4.tcp_max_syn_backlog", c.stormBacklog(), 0, 0,
		"same as net.core.somaxconn",
		"half-open connections per listener; past it SYNs fall back to syncookies or are dropped")
}

func ruleSyncookies(c *checker) Row {
	if row, ok := c.noListener("net.ipv4.tcp_syncookies"); ok {
		return row
	}
	return c.atLeast("net.ipv4.tcp_syncookies", 1, 0, 0, "1",
		"keeps accepting when the SYN queue overflows during a storm instead of dropping SYNs")
}

func ruleNetdevBacklog(c *checker) Row {
	want := int64(1000)
	if c.n/64 > want {
		want = pow2Clamp(c.n/64, 1024, 65536)
	}
	return c.atLeast("net.core.netdev_max_backlog", want, 0, 0,
		"1000 (the default) up to N/64 connections, then next power of two >= N/64, at most 65536",
		"per-CPU queue of received packets waiting for TCP (loopback traffic too); drops show in "+
			"/proc/net/softnet_stat column 2")
}

// portsRecommended is the range to suggest: clear of the well-known ports and
// of Barrage's own 3101-3119.
var portsRecommended = [2]int64{10000, 65535}

func rulePortRange(c *checker) Row {
	const key = "net.ipv4.ip_local_port_range"
	v, bad := c.read(key, 2)
	if bad != nil {
		return *bad
	}
	ports := v[1] - v[0] + 1
	row := Row{Key: key, Current: fmt.Sprintf("%d %d (%d ports)", v[0], v[1], ports), Status: StatusOK}
	if c.o.Role == RoleGateway {
		row.Recommended = ">= 1024 ports"
		row.Formula = "a gateway accepts every client on its listening port; only outbound RPC (logic, Redis, Kafka) uses ephemeral ports"
		row.Note = "matters on load generators: check them with --role client --source-ips K"
		if ports < 1024 {
			row.Status = StatusWarn
			row.setFix(portsRecommended[:]...)
		}
		return row
	}
	perIP := (c.n + int64(c.o.SourceIPs) - 1) / int64(c.o.SourceIPs)
	want := perIP * 11 / 10
	row.Recommended = fmt.Sprintf(">= %d ports", want)
	row.Formula = fmt.Sprintf("ceil(%d conns / %d source IPs) x 1.1 (10%% for reconnects while old ports sit in TIME_WAIT)",
		c.n, c.o.SourceIPs)
	maxPorts := portsRecommended[1] - portsRecommended[0] + 1
	ips := (c.n*11/10 + maxPorts - 1) / maxPorts
	switch {
	case ports >= want:
		return row
	case ports < perIP:
		row.Status = StatusFail
	default:
		row.Status = StatusWarn
	}
	if want > maxPorts {
		row.Note = fmt.Sprintf("one address has at most %d ports here: dial from >= %d source IPs (--source-ips)",
			maxPorts, ips)
	} else {
		row.Note = "a connection bound to a source IP before connect (as barrage bench does) holds its port for that IP"
	}
	if v[0] > portsRecommended[0] || v[1] < portsRecommended[1] {
		row.setFix(portsRecommended[:]...)
	}
	return row
}

func ruleTwReuse(c *checker) Row {
	const key = "net.ipv4.tcp_tw_reuse"
	v, bad := c.read(key, 1)
	if bad != nil {
		return *bad
	}
	row := Row{Key: key, Current: itoa(v[0]), Status: StatusOK}
	if c.o.Role == RoleGateway {
		row.Recommended = "any"
		row.Formula = "only connect() reuses TIME_WAIT ports; a gateway's clients connect to it"
		return row
	}
	row.Recommended = "1"
	row.Formula = "1: connect() may reuse a port in TIME_WAIT (with timestamps); 2: loopback only; 0: never"
	switch v[0] {
	case 1:
	case 2:
		row.Note = "2 reuses TIME_WAIT ports only for loopback; a load generator on a real network needs 1"
	default:
		row.Status = StatusWarn
		row.Note = "reconnecting clients wait 60 s for ports in TIME_WAIT"
		row.setFix(1)
	}
	return row
}

func ruleFinTimeout(c *checker) Row {
	const key = "net.ipv4.tcp_fin_timeout"
	v, bad := c.read(key, 1)
	if bad != nil {
		return *bad
	}
	row := Row{Key: key, Current: itoa(v[0]), Recommended: "<= 30", Status: StatusOK,
		Formula: fmt.Sprintf("<= 30 s from %d connections (15 suggested); below that the default 60 is fine", largeConns),
		Note: "how long a socket the gateway closed waits in FIN_WAIT_2 for a vanished client " +
			"(kicks, slow consumers); it is not the TIME_WAIT length"}
	if c.n >= largeConns && v[0] > 30 {
		row.Status = StatusWarn
		row.setFix(15)
	}
	return row
}

func ruleTCPMem(c *checker) Row {
	const key = "net.ipv4.tcp_mem"
	v, bad := c.read(key, 3)
	if bad != nil {
		return *bad
	}
	need := c.tcpMemNeed()
	want := []int64{need / 2, need, need * 3 / 2}
	row := Row{Key: key, Current: joinInts(v), Recommended: ">= " + joinInts(want) + " pages",
		Formula: fmt.Sprintf("pressure = N x one queued %d-byte frame (%d B charged, whole pages) / 4096; min = pressure/2, max = pressure x 1.5",
			c.o.FrameBytes, queuedBytes(int64(c.o.FrameBytes))),
		Note: fmt.Sprintf("pages of queued TCP data, host-wide; idle sockets hold none. Max %s now; a broadcast "+
			"to all %d connections queues %s", human(v[2]*pageSize), c.n, human(need*pageSize)),
		Status: StatusOK}
	if v[1] < want[1] || v[2] < want[2] {
		row.Status = StatusWarn
		row.setFix(max(v[0], want[0]), max(v[1], want[1]), max(v[2], want[2]))
	}
	return row
}

// stuckShare is the fraction of connections whose per-socket buffers may be
// full at once (stalled clients) before they exhaust tcp_mem for everyone.
const stuckShare = 100 // 1 in 100

// ruleBufMax grades tcp_wmem / tcp_rmem: their max is how much one stalled
// socket may queue, and tcp_mem[2] / max is how many stalled sockets starve
// the rest.
func ruleBufMax(key, dir string) func(*checker) Row {
	return func(c *checker) Row {
		v, bad := c.read(key, 3)
		if bad != nil {
			return *bad
		}
		memMax := c.tcpMemNeed() * 3 / 2
		if m, err := readSysctl(c.root, "net.ipv4.tcp_mem", 3); err == nil {
			memMax = max(memMax, m[2]) // what tcp_mem[2] will be after its own fix
		}
		stalls := max(c.n/stuckShare, 1)
		capBytes := pow2Floor(memMax * pageSize / stalls)
		capBytes = max(capBytes, 131072) // two 64 KiB batch frames (gateway.batch_max_bytes)
		row := Row{Key: key, Current: joinInts(v), Status: StatusOK,
			Formula: fmt.Sprintf("max <= tcp_mem max (%s) / (N/%d stalled sockets), power of two, >= 128 KiB",
				human(memMax*pageSize), stuckShare),
			Note: fmt.Sprintf("%s buffer bounds (min default max); only queued data uses memory. With tcp_mem max "+
				"at %s, %d stalled sockets at this max exhaust it", dir, human(memMax*pageSize), memMax*pageSize/max(v[2], 1))}
		wantDef := v[1]
		if dir == "send" && v[1] < int64(c.o.FrameBytes) {
			// A frame larger than the initial send buffer takes a second write.
			wantDef = pow2Clamp(int64(c.o.FrameBytes), 16384, 1<<20)
		}
		row.Recommended = fmt.Sprintf("%d %d <=%d", v[0], wantDef, capBytes)
		if v[2] > capBytes || wantDef != v[1] {
			row.Status = StatusWarn
			row.setFix(v[0], wantDef, min(v[2], capBytes))
		}
		return row
	}
}

func ruleCoreMax(key, opt string) func(*checker) Row {
	return func(c *checker) Row {
		v, bad := c.read(key, 1)
		if bad != nil {
			return *bad
		}
		return Row{Key: key, Current: itoa(v[0]), Recommended: "unchanged", Status: StatusOK,
			Formula: "only caps setsockopt(" + opt + "), which Barrage does not call (kernel autotuning stays on)"}
	}
}

// initCwndBytes is what TCP sends before the first ACK: 10 segments of 1448.
const initCwndBytes = 10 * 1448

func ruleSlowStart(c *checker) Row {
	const key = "net.ipv4.tcp_slow_start_after_idle"
	v, bad := c.read(key, 1)
	if bad != nil {
		return *bad
	}
	row := Row{Key: key, Current: itoa(v[0]), Recommended: "any", Status: StatusOK,
		Formula: fmt.Sprintf("0 when frames (%d B) exceed the initial window (10 x 1448 = %d B)", c.o.FrameBytes, initCwndBytes),
		Note:    "1 shrinks the window of a connection idle for one RTO; the next large frame then takes extra round trips"}
	if c.o.FrameBytes > initCwndBytes {
		row.Recommended = "0"
	}
	if v[0] != 0 && c.o.FrameBytes > initCwndBytes {
		row.Status = StatusWarn
		row.setFix(0)
	}
	return row
}

func ruleConntrack(c *checker) Row {
	const key = "net.netfilter.nf_conntrack_max"
	if _, bad := c.read(key, 1); bad != nil {
		if bad.Status == StatusSkip {
			bad.Note = "nf_conntrack is not loaded: connections are not tracked, nothing to size"
		}
		return *bad
	}
	inUse, counted := int64(0), false
	if cnt, err := readSysctl(c.root, "net.netfilter.nf_conntrack_count", 1); err == nil {
		inUse, counted = cnt[0], true
	}
	want := inUse + c.n*5/4
	row := c.atLeast(key, want, roundUp(want, 1<<16), inUse+c.n,
		fmt.Sprintf("entries in use (%d) + N x 1.25", inUse),
		"every tracked connection takes an entry (~320 B); when full, new connections are dropped "+
			"(\"nf_conntrack: table full\"). Alternatively exempt the gateway ports with a NOTRACK rule")
	// The module can be loaded with no rule that needs it; the kernel then
	// registers no hooks and tracks nothing. An empty table while TCP sockets
	// are open shows that: the limit is latent, not breaking.
	if ss, err := readSockstat(c.root); row.Status == StatusFail && counted && inUse == 0 && err == nil && ss.InUse > 0 {
		row.Status = StatusWarn
		row.Note = fmt.Sprintf("nothing is tracked now (0 entries while %d TCP sockets are open): no firewall or NAT "+
			"rule uses conntrack. Adding one would drop connections past this limit, so raise it anyway", ss.InUse)
	}
	return row
}

func ruleMemory(c *checker) Row {
	row := Row{Key: "memory"}
	m, err := readMeminfo(c.root, "MemTotal")
	if errors.Is(err, errMissing) {
		row.Status, row.Note = StatusSkip, "no meminfo to read"
		return row
	}
	if err != nil {
		row.Status, row.Note = StatusUnknown, err.Error()
		return row
	}
	total := m["MemTotal"]
	per := int64(KernelBytesPerConn)
	row.Formula = fmt.Sprintf("N x (%d kernel slab", KernelBytesPerConn)
	if c.o.Role == RoleGateway {
		per += GoBytesPerConn
		row.Formula += fmt.Sprintf(" + %d gateway RSS", GoBytesPerConn)
	}
	row.Formula += fmt.Sprintf(") idle; + N x %d queued frame during a broadcast to all", queuedBytes(int64(c.o.FrameBytes)))
	idle := c.n * per
	busy := idle + c.n*queuedBytes(int64(c.o.FrameBytes))
	row.Current = "MemTotal " + human(total)
	row.Recommended = fmt.Sprintf(">= %s idle, %s busy", human(idle), human(busy))
	row.Note = "estimate from the costs measured in docs/TUNING.md; the page cache and other services need room too"
	switch {
	case idle > total*9/10:
		row.Status = StatusFail
		row.Note = "idle connections alone exceed 90% of RAM: add memory or spread the connections over hosts"
	case busy > total*8/10:
		row.Status = StatusWarn
		row.Note = "a broadcast to every connection would use more than 80% of RAM: expect tcp_mem pressure or OOM"
	default:
		row.Status = StatusOK
	}
	return row
}
