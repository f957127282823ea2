package tuning

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Status grades one row of a Report.
type Status string

const (
	// StatusOK: the setting already meets the recommendation.
	StatusOK Status = "OK"
	// StatusWarn: the host works but degrades under load (connect storms,
	// broadcasts, slow clients); fix before production.
	StatusWarn Status = "WARN"
	// StatusFail: the host cannot hold the requested connections.
	StatusFail Status = "FAIL"
	// StatusSkip: the file does not exist here (module not loaded, older
	// kernel), so the setting does not apply.
	StatusSkip Status = "SKIP"
	// StatusUnknown: the file exists but its value could not be parsed.
	StatusUnknown Status = "UNKNOWN"
)

// Role says which end of the connections this host is.
type Role string

const (
	// RoleGateway accepts the connections: ephemeral ports do not matter.
	RoleGateway Role = "gateway"
	// RoleClient dials them (a load generator): every connection needs an
	// ephemeral port per source address.
	RoleClient Role = "client"
)

// Costs measured on the project's box (docs/TUNING.md has the method and the
// runs); the formulas use them.
const (
	// KernelBytesPerConn is the slab memory of one idle TCP socket: tcp_sock
	// (2,368 B), socket inode (832), file, dentry, epoll item and LSM blobs.
	KernelBytesPerConn = 4100
	// GoBytesPerConn is the gateway's RSS per idle authenticated connection
	// (docs/BENCHMARKS.md: 1.73-1.80 KB).
	GoBytesPerConn = 1800
	// SkbOverhead is what the kernel charges above the payload of a queued
	// frame (struct sk_buff and skb_shared_info); the charge is then rounded up
	// to whole pages per socket, so a 256-byte frame costs a 4 KiB page of
	// tcp_mem. Measured: 3,072 B frames cost one page, 3,584 B two.
	SkbOverhead = 576
	// ReservedFiles is descriptors a gateway process needs besides client
	// connections (same figure FileLimit.MaxConns uses).
	ReservedFiles = reservedFiles
	// SystemFiles is the headroom fs.file-max keeps for the rest of the host.
	SystemFiles = 65536
	// pageSize is the unit of tcp_mem; 4 KiB on every platform Barrage targets.
	pageSize = 4096
	// largeConns is where the per-socket buffer and timeout rows start to
	// matter: below it the kernel defaults are fine.
	largeConns = 100_000
)

// Options are the checker's assumptions besides the connection count. Every
// zero value means the documented default.
type Options struct {
	// Processes is how many processes share the connections: gateway
	// processes with reuse_port, or a load generator's workers. Per-process
	// limits and per-listener queues are sized for Conns/Processes. Default 1.
	Processes int
	// Role is which end of the connections this host is. Default RoleGateway.
	Role Role
	// SourceIPs is how many local addresses a client host dials from; each
	// has its own ephemeral port range. Default 1.
	SourceIPs int
	// PID names the process whose RLIMIT_NOFILE is read (<proc>/PID/limits).
	// Default "self": the checker itself, which inherits the shell's limits.
	PID string
	// FrameBytes is the typical batch frame written to each connection; the
	// TCP memory rows size queues for one such frame per connection.
	// Default 2048 (a 50 ms batch of ~20 chat lines of ~100 bytes).
	FrameBytes int
}

// Option changes one field of Options.
type Option func(*Options)

// WithProcesses sets Options.Processes.
func WithProcesses(n int) Option { return func(o *Options) { o.Processes = n } }

// WithRole sets Options.Role.
func WithRole(r Role) Option { return func(o *Options) { o.Role = r } }

// WithSourceIPs sets Options.SourceIPs.
func WithSourceIPs(n int) Option { return func(o *Options) { o.SourceIPs = n } }

// WithPID sets Options.PID.
func WithPID(pid string) Option { return func(o *Options) { o.PID = pid } }

// WithFrameBytes sets Options.FrameBytes.
func WithFrameBytes(n int) Option { return func(o *Options) { o.FrameBytes = n } }

func (o *Options) setDefaults() {
	if o.Processes <= 0 {
		o.Processes = 1
	}
	if o.Role == "" {
		o.Role = RoleGateway
	}
	if o.SourceIPs <= 0 {
		o.SourceIPs = 1
	}
	if o.PID == "" {
		o.PID = "self"
	}
	if o.FrameBytes <= 0 {
		o.FrameBytes = 2048
	}
}

// Row is one checked setting.
type Row struct {
	// Key is the sysctl name (net.core.somaxconn) or a pseudo-key for
	// non-sysctl checks (RLIMIT_NOFILE, memory).
	Key         string `json:"key"`
	Current     string `json:"current"`
	Recommended string `json:"recommended"`
	// Formula says how Recommended follows from the connection count.
	Formula string `json:"formula"`
	Status  Status `json:"status"`
	// Note explains the consequence or why a row was skipped.
	Note string `json:"note,omitempty"`
	// Fix is the command that applies the recommendation now; SysctlD is the
	// line that keeps it across reboots. Empty when nothing needs doing.
	Fix     string `json:"fix,omitempty"`
	SysctlD string `json:"sysctl_d,omitempty"`
}

// Report is the outcome of Check.
type Report struct {
	ProcRoot   string `json:"proc_root"`
	Conns      int    `json:"conns"`
	Processes  int    `json:"processes"`
	Role       Role   `json:"role"`
	SourceIPs  int    `json:"source_ips"`
	PID        string `json:"pid"`
	FrameBytes int    `json:"frame_bytes"`
	Rows       []Row  `json:"rows"`
	// Counts per status, for scripts.
	OK      int `json:"ok"`
	Warn    int `json:"warn"`
	Fail    int `json:"fail"`
	Skip    int `json:"skip"`
	Unknown int `json:"unknown"`
}

// Failed reports whether any row failed.
func (r Report) Failed() bool { return r.Fail > 0 }

// Failures lists the keys of the failed rows.
func (r Report) Failures() []string {
	var out []string
	for _, row := range r.Rows {
		if row.Status == StatusFail {
			out = append(out, row.Key)
		}
	}
	return out
}

// Check reads the live settings under procRoot (normally "/proc") and grades
// each against what conns connections need. A missing file gives a SKIP row
// and an unparsable one an UNKNOWN row; the error is for unusable input (no
// such procRoot, conns <= 0, an unknown role).
func Check(procRoot string, conns int, opts ...Option) (Report, error) {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	o.setDefaults()
	if conns <= 0 {
		return Report{}, fmt.Errorf("tune check: connections must be positive, got %d", conns)
	}
	if o.Role != RoleGateway && o.Role != RoleClient {
		return Report{}, fmt.Errorf("tune check: role %q is neither %q nor %q", o.Role, RoleGateway, RoleClient)
	}
	st, err := os.Stat(procRoot)
	if err != nil {
		return Report{}, fmt.Errorf("tune check: proc root: %w", err)
	}
	if !st.IsDir() {
		return Report{}, fmt.Errorf("tune check: proc root %s is not a directory", procRoot)
	}
	c := &checker{root: procRoot, n: int64(conns), o: o}
	r := Report{ProcRoot: procRoot, Conns: conns, Processes: o.Processes, Role: o.Role,
		SourceIPs: o.SourceIPs, PID: o.PID, FrameBytes: o.FrameBytes}
	for _, rule := range rules {
		row := rule(c)
		r.Rows = append(r.Rows, row)
		switch row.Status {
		case StatusOK:
			r.OK++
		case StatusWarn:
			r.Warn++
		case StatusFail:
			r.Fail++
		case StatusSkip:
			r.Skip++
		case StatusUnknown:
			r.Unknown++
		}
	}
	return r, nil
}

// checker carries the inputs of every rule.
type checker struct {
	root string
	n    int64
	o    Options
}

// perProcess is the descriptors one gateway process needs.
func (c *checker) perProcess() int64 {
	p := int64(c.o.Processes)
	return (c.n+p-1)/p + ReservedFiles
}

// queuedBytes is the TCP memory one queued frame of size f costs a socket.
func queuedBytes(f int64) int64 { return roundUp(f+SkbOverhead, pageSize) }

// tcpMemNeed is pages for one queued frame on every connection: a broadcast
// to everyone that the clients have not acknowledged yet.
func (c *checker) tcpMemNeed() int64 { return c.n * queuedBytes(int64(c.o.FrameBytes)) / pageSize }

// read returns a sysctl's values, or a finished SKIP/UNKNOWN row.
func (c *checker) read(key string, n int) ([]int64, *Row) {
	v, err := readSysctl(c.root, key, n)
	if errors.Is(err, errMissing) {
		return nil, &Row{Key: key, Status: StatusSkip, Note: "not present on this host, so it does not apply"}
	}
	if err != nil {
		return nil, &Row{Key: key, Status: StatusUnknown, Note: err.Error()}
	}
	return v, nil
}

// setFix fills the commands that set the row's key to vals.
func (r *Row) setFix(vals ...int64) { r.Fix, r.SysctlD = sysctlFix(r.Key, vals...) }

// sysctlFix returns the command that sets key now and the sysctl.d line that
// keeps it; several values are quoted for the shell.
func sysctlFix(key string, vals ...int64) (cmd, line string) {
	s := joinInts(vals)
	if len(vals) > 1 {
		return fmt.Sprintf("sysctl -w %s=%q", key, s), key + " = " + s
	}
	return fmt.Sprintf("sysctl -w %s=%s", key, s), key + " = " + s
}

// atLeast grades a single-valued sysctl that must be >= want, failing below
// failBelow (0: never fails); the fix sets it to fixTo (>= want, rounded).
func (c *checker) atLeast(key string, want, fixTo, failBelow int64, formula, note string) Row {
	v, bad := c.read(key, 1)
	if bad != nil {
		return *bad
	}
	row := Row{Key: key, Current: itoa(v[0]), Recommended: ">= " + itoa(want), Formula: formula, Note: note}
	switch {
	case v[0] >= want:
		row.Status = StatusOK
	case v[0] < failBelow:
		row.Status = StatusFail
	default:
		row.Status = StatusWarn
	}
	if row.Status != StatusOK {
		row.setFix(max(fixTo, want))
	}
	return row
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = itoa(x)
	}
	return strings.Join(s, " ")
}

func roundUp(v, unit int64) int64 { return (v + unit - 1) / unit * unit }

// pow2Clamp is the next power of two >= v, held within [lo, hi].
func pow2Clamp(v, lo, hi int64) int64 {
	p := int64(1)
	for p < v {
		p <<= 1
	}
	return min(max(p, lo), hi)
}

// pow2Floor is the largest power of two <= v (1 for v < 1).
func pow2Floor(v int64) int64 {
	p := int64(1)
	for p*2 <= v {
		p <<= 1
	}
	return p
}

// human prints a byte count with a binary unit, for notes.
func human(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
