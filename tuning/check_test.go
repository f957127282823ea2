package tuning

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// limits renders a /proc/PID/limits file with the given open-file limits.
func limits(soft, hard string) string {
	return "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max cpu time              unlimited            unlimited            seconds   \n" +
		"Max open files            " + soft + "                " + hard + "                files     \n" +
		"Max locked memory         8388608              8388608              bytes     \n"
}

// sysctlFiles maps sysctl keys to /proc/sys paths (values as /proc prints
// them: several numbers separated by tabs).
func sysctlFiles(kv map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range kv {
		out["sys/"+strings.ReplaceAll(k, ".", "/")] = strings.ReplaceAll(v, " ", "\t") + "\n"
	}
	return out
}

// healthy is a host tuned for one million connections in one process: every
// row OK; conntrack is not loaded.
func healthy() map[string]string {
	f := sysctlFiles(map[string]string{
		"fs.nr_open":                         "1048576",
		"fs.file-max":                        "2097152",
		"fs.file-nr":                         "1000 0 2097152",
		"net.core.somaxconn":                 "16384",
		"net.ipv4.tcp_max_syn_backlog":       "16384",
		"net.ipv4.tcp_syncookies":            "1",
		"net.core.netdev_max_backlog":        "16384",
		"net.ipv4.ip_local_port_range":       "10000 65535",
		"net.ipv4.tcp_tw_reuse":              "1",
		"net.ipv4.tcp_fin_timeout":           "15",
		"net.ipv4.tcp_mem":                   "500000 1000000 1500000",
		"net.ipv4.tcp_wmem":                  "4096 16384 524288",
		"net.ipv4.tcp_rmem":                  "4096 131072 524288",
		"net.core.wmem_max":                  "4194304",
		"net.core.rmem_max":                  "4194304",
		"net.ipv4.tcp_slow_start_after_idle": "0",
	})
	f["self/limits"] = limits("1048576", "1048576")
	f["meminfo"] = "MemTotal:       65536000 kB\nMemFree:        60000000 kB\n"
	f["net/sockstat"] = "sockets: used 31\nTCP: inuse 11 orphan 0 tw 3 alloc 14 mem 2\n"
	return f
}

// thisBox is the project's 2-core box as it comes (kernel defaults, a
// 20,000-file hard limit, conntrack loaded but unused).
func thisBox() map[string]string {
	f := sysctlFiles(map[string]string{
		"fs.nr_open":                                "1048576",
		"fs.file-max":                               "2466183",
		"fs.file-nr":                                "780 0 2466183",
		"net.core.somaxconn":                        "4096",
		"net.ipv4.tcp_max_syn_backlog":              "2048",
		"net.ipv4.tcp_syncookies":                   "1",
		"net.core.netdev_max_backlog":               "1000",
		"net.ipv4.ip_local_port_range":              "32768 60999",
		"net.ipv4.tcp_tw_reuse":                     "2",
		"net.ipv4.tcp_fin_timeout":                  "60",
		"net.ipv4.tcp_mem":                          "287901 383869 575802",
		"net.ipv4.tcp_wmem":                         "4096 16384 4194304",
		"net.ipv4.tcp_rmem":                         "4096 131072 33554432",
		"net.core.wmem_max":                         "4194304",
		"net.core.rmem_max":                         "4194304",
		"net.ipv4.tcp_slow_start_after_idle":        "1",
		"net.netfilter.nf_conntrack_max":            "262144",
		"net.netfilter.nf_conntrack_count":          "0",
		"net.ipv4.tcp_keepalive_time":               "7200",
		"net.ipv4.tcp_max_orphans":                  "131072",
		"net.netfilter.nf_conntrack_tcp_loose":      "1",
		"net.ipv4.tcp_notsent_lowat":                "4294967295",
		"net.ipv4.tcp_moderate_rcvbuf":              "1",
		"net.netfilter.nf_conntrack_tcp_be_liberal": "0",
	})
	f["self/limits"] = limits("20000", "20000")
	f["meminfo"] = "MemTotal:       24684096 kB\nSlab:             271104 kB\n"
	f["net/sockstat"] = "sockets: used 31\nTCP: inuse 11 orphan 0 tw 1341 alloc 14 mem 162\n"
	return f
}

// writeTree writes files (paths relative to the root) into a temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func rowOf(t *testing.T, r Report, key string) Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Key == key {
			return row
		}
	}
	t.Fatalf("no row %q in %+v", key, r.Rows)
	return Row{}
}

func mustCheck(t *testing.T, files map[string]string, conns int, opts ...Option) Report {
	t.Helper()
	r, err := Check(writeTree(t, files), conns, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckHealthyHostIsAllOK(t *testing.T) {
	r := mustCheck(t, healthy(), 1_000_000)
	for _, row := range r.Rows {
		want := StatusOK
		if row.Key == "net.netfilter.nf_conntrack_max" {
			want = StatusSkip
		}
		if row.Status != want {
			t.Errorf("%s: %s, want %s (%+v)", row.Key, row.Status, want, row)
		}
		if row.Status == StatusOK && (row.Fix != "" || row.SysctlD != "") {
			t.Errorf("%s: OK row carries a fix %q", row.Key, row.Fix)
		}
	}
	if r.Failed() || r.Warn != 0 || r.Skip != 1 || r.OK != len(r.Rows)-1 {
		t.Errorf("counts: ok %d warn %d fail %d skip %d of %d", r.OK, r.Warn, r.Fail, r.Skip, len(r.Rows))
	}
}

// TestCheckThisBox grades the project box's defaults at several targets.
func TestCheckThisBox(t *testing.T) {
	cases := []struct {
		conns int
		opts  []Option
		want  map[string]Status
	}{
		{10_000, nil, map[string]Status{
			"RLIMIT_NOFILE": StatusOK, "net.core.somaxconn": StatusOK, "net.ipv4.tcp_max_syn_backlog": StatusWarn,
			"net.ipv4.tcp_fin_timeout": StatusOK, "net.ipv4.tcp_mem": StatusOK, "net.ipv4.tcp_wmem": StatusOK,
			"net.ipv4.tcp_rmem": StatusWarn, "net.netfilter.nf_conntrack_max": StatusOK, "memory": StatusOK,
		}},
		{200_000, []Option{WithProcesses(10)}, map[string]Status{
			// ceil(200000/10) + 64 = 20064 > 20000: the box's cap bites.
			"RLIMIT_NOFILE": StatusFail, "net.core.somaxconn": StatusOK, "net.core.netdev_max_backlog": StatusWarn,
			"net.ipv4.tcp_fin_timeout": StatusWarn, "net.ipv4.tcp_mem": StatusOK, "net.ipv4.tcp_wmem": StatusWarn,
			"net.netfilter.nf_conntrack_max": StatusOK,
		}},
		{200_000, []Option{WithProcesses(11)}, map[string]Status{"RLIMIT_NOFILE": StatusOK}},
		{1_000_000, nil, map[string]Status{
			"RLIMIT_NOFILE": StatusFail, "fs.nr_open": StatusOK, "fs.file-max": StatusOK, "fs.file-nr": StatusOK,
			"net.core.somaxconn": StatusWarn, "net.ipv4.tcp_mem": StatusWarn,
			// conntrack is loaded but tracks nothing: latent, so WARN not FAIL.
			"net.netfilter.nf_conntrack_max": StatusWarn, "memory": StatusOK,
			"net.ipv4.tcp_slow_start_after_idle": StatusOK,
		}},
		{1_000_000, []Option{WithFrameBytes(32768)}, map[string]Status{
			"net.ipv4.tcp_slow_start_after_idle": StatusWarn, "memory": StatusWarn,
		}},
		{5_000_000, []Option{WithProcesses(5)}, map[string]Status{
			"fs.file-max": StatusFail, "memory": StatusFail, "RLIMIT_NOFILE": StatusFail,
		}},
		// Enough files to hold them, short of the 10% + 65536 headroom.
		{2_300_000, []Option{WithProcesses(3)}, map[string]Status{"fs.file-max": StatusWarn, "fs.file-nr": StatusOK}},
		{3_000_000, []Option{WithProcesses(3)}, map[string]Status{"fs.file-max": StatusFail, "fs.file-nr": StatusFail}},
	}
	for _, c := range cases {
		r := mustCheck(t, thisBox(), c.conns, c.opts...)
		for key, want := range c.want {
			if got := rowOf(t, r, key); got.Status != want {
				t.Errorf("%d conns %+v: %s is %s, want %s (%+v)", c.conns, r.Processes, key, got.Status, want, got)
			}
		}
	}
}

func TestCheckFormulas(t *testing.T) {
	cases := []struct {
		conns, procs, frame                int
		somaxconn, fileMax, nrOpen, netdev string
		tcpMem, wmem                       string
		rlimit                             string
	}{
		{10_000, 1, 0, ">= 4096", ">= 76600", ">= 10064", ">= 1000",
			">= 5000 10000 15000 pages", "4096 16384 <=16777216", "hard >= 10064"},
		{100_000, 1, 0, ">= 4096", ">= 175600", ">= 100064", ">= 2048",
			">= 50000 100000 150000 pages", "4096 16384 <=2097152", "hard >= 100064"},
		{1_000_000, 1, 0, ">= 16384", ">= 1165600", ">= 1000064", ">= 16384",
			">= 500000 1000000 1500000 pages", "4096 16384 <=524288", "hard >= 1000064"},
		// 4096-byte frames cost two pages each (4096 + 576 overhead).
		{1_000_000, 1, 4096, ">= 16384", ">= 1165600", ">= 1000064", ">= 16384",
			">= 1000000 2000000 3000000 pages", "4096 16384 <=1048576", "hard >= 1000064"},
		// Per-process limits and backlogs shrink with processes; the host-wide ones do not.
		{4_000_000, 4, 0, ">= 16384", ">= 4465792", ">= 1000064", ">= 65536",
			">= 2000000 4000000 6000000 pages", "4096 16384 <=524288", "hard >= 1000064"},
		{1_000_000, 10, 0, ">= 4096", ">= 1166176", ">= 100064", ">= 16384",
			">= 500000 1000000 1500000 pages", "4096 16384 <=524288", "hard >= 100064"},
	}
	for _, c := range cases {
		r := mustCheck(t, thisBox(), c.conns, WithProcesses(c.procs), WithFrameBytes(c.frame))
		for key, want := range map[string]string{
			"net.core.somaxconn": c.somaxconn, "net.ipv4.tcp_max_syn_backlog": c.somaxconn, "fs.file-max": c.fileMax,
			"fs.nr_open": c.nrOpen, "net.core.netdev_max_backlog": c.netdev, "net.ipv4.tcp_mem": c.tcpMem,
			"net.ipv4.tcp_wmem": c.wmem, "RLIMIT_NOFILE": c.rlimit,
		} {
			if got := rowOf(t, r, key).Recommended; got != want {
				t.Errorf("%d conns / %d procs / frame %d: %s recommends %q, want %q", c.conns, c.procs, c.frame, key, got, want)
			}
		}
	}
}

func TestCheckFixCommands(t *testing.T) {
	r := mustCheck(t, thisBox(), 1_000_000)
	cases := map[string][2]string{
		"net.core.somaxconn": {"sysctl -w net.core.somaxconn=16384", "net.core.somaxconn = 16384"},
		// A fix never lowers a value the kernel already has higher.
		"net.ipv4.tcp_mem":  {`sysctl -w net.ipv4.tcp_mem="500000 1000000 1500000"`, "net.ipv4.tcp_mem = 500000 1000000 1500000"},
		"net.ipv4.tcp_rmem": {`sysctl -w net.ipv4.tcp_rmem="4096 131072 524288"`, "net.ipv4.tcp_rmem = 4096 131072 524288"},
		"net.netfilter.nf_conntrack_max": {"sysctl -w net.netfilter.nf_conntrack_max=1310720",
			"net.netfilter.nf_conntrack_max = 1310720"},
		"net.ipv4.tcp_fin_timeout": {"sysctl -w net.ipv4.tcp_fin_timeout=15", "net.ipv4.tcp_fin_timeout = 15"},
	}
	for key, want := range cases {
		row := rowOf(t, r, key)
		if row.Fix != want[0] || row.SysctlD != want[1] {
			t.Errorf("%s: fix %q / %q, want %q / %q", key, row.Fix, row.SysctlD, want[0], want[1])
		}
	}
	if row := rowOf(t, r, "RLIMIT_NOFILE"); !strings.Contains(row.Fix, "LimitNOFILE=1048576") || row.SysctlD != "" {
		t.Errorf("RLIMIT_NOFILE fix %q / %q", row.Fix, row.SysctlD)
	}
}

func TestCheckPortRange(t *testing.T) {
	withRange := func(lo, hi string) map[string]string {
		f := thisBox()
		f["sys/net/ipv4/ip_local_port_range"] = lo + "\t" + hi + "\n"
		return f
	}
	cases := []struct {
		name    string
		files   map[string]string
		conns   int
		opts    []Option
		want    Status
		noteHas string
	}{
		{"gateway ignores ports", thisBox(), 1_000_000, nil, StatusOK, "load generators"},
		{"gateway with a tiny range", withRange("60000", "60500"), 1000, nil, StatusWarn, ""},
		{"client short of ports", thisBox(), 100_000, []Option{WithRole(RoleClient)}, StatusFail, ""},
		{"client spread over 4 IPs", thisBox(), 100_000, []Option{WithRole(RoleClient), WithSourceIPs(4)}, StatusOK, ""},
		// 25,000 per IP fits in 27,232 ports but not with 10% TIME_WAIT headroom.
		{"client without headroom", withRange("32768", "59999"), 100_000,
			[]Option{WithRole(RoleClient), WithSourceIPs(4)}, StatusWarn, ""},
		{"client needing more IPs", thisBox(), 1_000_000, []Option{WithRole(RoleClient)}, StatusFail, ">= 20 source IPs"},
	}
	for _, c := range cases {
		row := rowOf(t, mustCheck(t, c.files, c.conns, c.opts...), "net.ipv4.ip_local_port_range")
		if row.Status != c.want || !strings.Contains(row.Note, c.noteHas) {
			t.Errorf("%s: %s %q, want %s with %q", c.name, row.Status, row.Note, c.want, c.noteHas)
		}
		if c.want != StatusOK && row.Fix != `sysctl -w net.ipv4.ip_local_port_range="10000 65535"` {
			t.Errorf("%s: fix %q", c.name, row.Fix)
		}
	}
}

func TestCheckClientHasNoListener(t *testing.T) {
	r := mustCheck(t, thisBox(), 1_000_000, WithRole(RoleClient), WithSourceIPs(20))
	for _, key := range []string{"net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies"} {
		if row := rowOf(t, r, key); row.Status != StatusOK || row.Recommended != "any" {
			t.Errorf("client role: %+v", row)
		}
	}
	// 50,000 ports per IP x 1.1 = 55,000 > 28,232: still short of ports.
	if row := rowOf(t, r, "net.ipv4.ip_local_port_range"); row.Status != StatusFail || row.Recommended != ">= 55000 ports" {
		t.Errorf("client ports: %+v", row)
	}
}

func TestCheckTwReuseByRole(t *testing.T) {
	for _, c := range []struct {
		val  string
		role Role
		want Status
	}{
		{"0", RoleGateway, StatusOK}, {"0", RoleClient, StatusWarn}, {"1", RoleClient, StatusOK}, {"2", RoleClient, StatusOK},
	} {
		f := thisBox()
		f["sys/net/ipv4/tcp_tw_reuse"] = c.val + "\n"
		if row := rowOf(t, mustCheck(t, f, 1000, WithRole(c.role)), "net.ipv4.tcp_tw_reuse"); row.Status != c.want {
			t.Errorf("tw_reuse %s as %s: %s, want %s", c.val, c.role, row.Status, c.want)
		}
	}
}

func TestCheckFileLimit(t *testing.T) {
	cases := []struct {
		soft, hard string
		pid        string
		want       Status
		noteHas    string
	}{
		{"1024", "1048576", "", StatusOK, "raises the soft limit"},
		{"1048576", "1048576", "", StatusOK, ""},
		{"unlimited", "unlimited", "", StatusOK, ""},
		{"1024", "4096", "", StatusFail, "run 249 gateway processes"},
		{"1024", "4096", "4321", StatusFail, "process 4321"},
	}
	for _, c := range cases {
		f := healthy()
		if c.pid != "" {
			delete(f, "self/limits")
			f[c.pid+"/limits"] = limits(c.soft, c.hard)
		} else {
			f["self/limits"] = limits(c.soft, c.hard)
		}
		row := rowOf(t, mustCheck(t, f, 1_000_000, WithPID(c.pid)), "RLIMIT_NOFILE")
		if row.Status != c.want || !strings.Contains(row.Note, c.noteHas) {
			t.Errorf("%s/%s pid %q: %s %q, want %s with %q", c.soft, c.hard, c.pid, row.Status, row.Note, c.want, c.noteHas)
		}
	}
}

func TestCheckConntrack(t *testing.T) {
	tracking := thisBox()
	tracking["sys/net/netfilter/nf_conntrack_count"] = "5000\n"
	noCount := thisBox()
	delete(noCount, "sys/net/netfilter/nf_conntrack_count")
	cases := []struct {
		name  string
		files map[string]string
		want  Status
		rec   string
	}{
		{"not loaded", healthy(), StatusSkip, ""},
		{"loaded, unused", thisBox(), StatusWarn, ">= 1250000"},
		{"tracking", tracking, StatusFail, ">= 1255000"},
		// Without a count the checker cannot tell it is unused: it assumes the worst.
		{"no count", noCount, StatusFail, ">= 1250000"},
	}
	for _, c := range cases {
		row := rowOf(t, mustCheck(t, c.files, 1_000_000), "net.netfilter.nf_conntrack_max")
		if row.Status != c.want || row.Recommended != c.rec || row.Note == "" {
			t.Errorf("%s: %+v, want %s %q", c.name, row, c.want, c.rec)
		}
	}
}

func TestCheckMissingFilesAreSkipped(t *testing.T) {
	r := mustCheck(t, map[string]string{"sys/net/core/somaxconn": "4096\n"}, 1000)
	for _, row := range r.Rows {
		want := StatusSkip
		if row.Key == "net.core.somaxconn" {
			want = StatusOK
		}
		if row.Status != want || (want == StatusSkip && row.Note == "") {
			t.Errorf("%s: %s %q, want %s with a note", row.Key, row.Status, row.Note, want)
		}
	}
	if r.Failed() {
		t.Error("missing files made the check fail")
	}
}

func TestCheckMalformedValues(t *testing.T) {
	f := healthy()
	f["sys/net/core/somaxconn"] = "lots\n"
	f["sys/net/ipv4/tcp_mem"] = "1 2\n"
	f["sys/fs/file-max"] = "\n"
	f["self/limits"] = limits("many", "1048576")
	f["meminfo"] = "MemTotal:   twelve kB\n"
	r := mustCheck(t, f, 1000)
	for key, noteHas := range map[string]string{
		"net.core.somaxconn": `"lots" is not an integer`,
		"net.ipv4.tcp_mem":   `want 3 integer(s), got "1 2"`,
		"fs.file-max":        `want 1 integer(s), got ""`,
		"RLIMIT_NOFILE":      `limit "many"`,
		"memory":             `"twelve" is not an integer`,
	} {
		row := rowOf(t, r, key)
		if row.Status != StatusUnknown || !strings.Contains(row.Note, noteHas) {
			t.Errorf("%s: %s %q, want UNKNOWN with %q", key, row.Status, row.Note, noteHas)
		}
	}
	if r.Unknown != 5 {
		t.Errorf("%d unknown rows, want 5", r.Unknown)
	}
	// The wmem/rmem rows read tcp_mem as well; a bad tcp_mem must not break them.
	if row := rowOf(t, r, "net.ipv4.tcp_wmem"); row.Status != StatusOK {
		t.Errorf("tcp_wmem with a bad tcp_mem: %+v", row)
	}
}

func TestCheckMemory(t *testing.T) {
	for _, c := range []struct {
		memKB string
		want  Status
	}{
		{"65536000", StatusOK},
		{"8000000", StatusWarn}, // 1M idle: 5.5 GiB of 7.6; busy 9.3 GiB
		{"4000000", StatusFail},
	} {
		f := healthy()
		f["meminfo"] = "MemTotal: " + c.memKB + " kB\n"
		if row := rowOf(t, mustCheck(t, f, 1_000_000), "memory"); row.Status != c.want {
			t.Errorf("MemTotal %s kB: %+v, want %s", c.memKB, row, c.want)
		}
	}
	f := healthy()
	f["meminfo"] = "MemTotal: 11000000 kB\n"
	if row := rowOf(t, mustCheck(t, f, 1_000_000), "memory"); row.Status != StatusWarn {
		t.Errorf("gateway role on 10.5 GiB: %+v", row)
	}
	// A load generator's sockets cost no gateway RSS: the same box fits.
	if row := rowOf(t, mustCheck(t, f, 1_000_000, WithRole(RoleClient)), "memory"); row.Status != StatusOK {
		t.Errorf("client role: %+v", row)
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	root := writeTree(t, healthy())
	file := filepath.Join(root, "meminfo")
	cases := []struct {
		root  string
		conns int
		opts  []Option
	}{
		{root, 0, nil},
		{root, -5, nil},
		{filepath.Join(root, "nope"), 10, nil},
		{file, 10, nil},
		{root, 10, []Option{WithRole("server")}},
	}
	for _, c := range cases {
		if _, err := Check(c.root, c.conns, c.opts...); err == nil {
			t.Errorf("Check(%s, %d) accepted", c.root, c.conns)
		}
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	r := mustCheck(t, thisBox(), 1_000_000)
	if err := r.WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"STATUS  SETTING", "FAIL    RLIMIT_NOFILE", "WARN    net.core.somaxconn",
		"fix:  sysctl -w net.core.somaxconn=16384", "  net.ipv4.tcp_fin_timeout = 15",
		"Result: 1 FAIL, ", "until RLIMIT_NOFILE is fixed (exit status 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "OK fs.nr_open") {
		t.Error("an OK row is explained without -v")
	}
	b.Reset()
	if err := r.WriteText(&b, true); err != nil || !strings.Contains(b.String(), "\nOK fs.nr_open\n") {
		t.Errorf("verbose report does not explain OK rows (err %v)", err)
	}

	b.Reset()
	if err := mustCheck(t, healthy(), 1_000_000).WriteText(&b, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "sysctl.d") || strings.Contains(b.String(), "FAIL") {
		t.Errorf("a healthy report suggests changes:\n%s", b.String())
	}
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	if err := mustCheck(t, thisBox(), 1_000_000).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Conns int `json:"conns"`
		Fail  int `json:"fail"`
		Rows  []map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Conns != 1_000_000 || got.Fail != 1 || len(got.Rows) != len(rules) {
		t.Fatalf("JSON %+v", got)
	}
	for _, row := range got.Rows {
		for _, k := range []string{"key", "current", "recommended", "formula", "status"} {
			if _, ok := row[k]; !ok {
				t.Errorf("row %v lacks %q", row["key"], k)
			}
		}
	}
}

// TestDeployFileMeetsItsTarget loads deploy/sysctl.d/90-barrage.conf into a
// fake tree and checks it at the one million connections it is written for,
// so the file and the checker cannot drift apart.
func TestDeployFileMeetsItsTarget(t *testing.T) {
	b, err := os.ReadFile("../deploy/sysctl.d/90-barrage.conf")
	if err != nil {
		t.Skip("deploy file not found:", err)
	}
	files := healthy()
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("deploy file: line %q is not key = value", line)
		}
		kv[strings.TrimPrefix(strings.TrimSpace(k), "-")] = strings.TrimSpace(v)
	}
	if len(kv) < 10 {
		t.Fatalf("deploy file sets only %d keys", len(kv))
	}
	for k, v := range sysctlFiles(kv) {
		files[k] = v
	}
	files["sys/fs/file-nr"] = "1000\t0\t" + kv["fs.file-max"] + "\n"
	files["sys/net/netfilter/nf_conntrack_count"] = "0\n"
	r := mustCheck(t, files, 1_000_000)
	for _, row := range r.Rows {
		if row.Status != StatusOK {
			t.Errorf("deploy file at 1M connections: %s is %s (%s; %s)", row.Key, row.Status, row.Recommended, row.Note)
		}
	}
}

func TestPow2(t *testing.T) {
	for _, c := range []struct{ v, lo, hi, want int64 }{
		{0, 4096, 65535, 4096}, {4097, 4096, 65535, 8192}, {15625, 4096, 65535, 16384}, {1 << 20, 4096, 65535, 65535},
	} {
		if got := pow2Clamp(c.v, c.lo, c.hi); got != c.want {
			t.Errorf("pow2Clamp(%d, %d, %d) = %d, want %d", c.v, c.lo, c.hi, got, c.want)
		}
	}
	for _, c := range []struct{ v, want int64 }{{0, 1}, {1, 1}, {614400, 524288}, {1 << 20, 1 << 20}} {
		if got := pow2Floor(c.v); got != c.want {
			t.Errorf("pow2Floor(%d) = %d, want %d", c.v, got, c.want)
		}
	}
}
