package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeProc writes a /proc tree tuned for a million connections, with the
// open-file hard limit given, and returns its root.
func fakeProc(t *testing.T, hardNoFile string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"sys/fs/nr_open":                         "1048576",
		"sys/fs/file-max":                        "2097152",
		"sys/fs/file-nr":                         "1000\t0\t2097152",
		"sys/net/core/somaxconn":                 "16384",
		"sys/net/ipv4/tcp_max_syn_backlog":       "16384",
		"sys/net/ipv4/tcp_syncookies":            "1",
		"sys/net/core/netdev_max_backlog":        "16384",
		"sys/net/ipv4/ip_local_port_range":       "10000\t65535",
		"sys/net/ipv4/tcp_tw_reuse":              "1",
		"sys/net/ipv4/tcp_fin_timeout":           "15",
		"sys/net/ipv4/tcp_mem":                   "500000\t1000000\t1500000",
		"sys/net/ipv4/tcp_wmem":                  "4096\t16384\t524288",
		"sys/net/ipv4/tcp_rmem":                  "4096\t131072\t524288",
		"sys/net/core/wmem_max":                  "4194304",
		"sys/net/core/rmem_max":                  "4194304",
		"sys/net/ipv4/tcp_slow_start_after_idle": "0",
		"meminfo":                                "MemTotal:       65536000 kB",
		"self/limits":                            "Max open files            1024                 " + hardNoFile + "                 files",
	}
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestTuneUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}} {
		var out, errOut bytes.Buffer
		if err := runTune(args, &out, &errOut); err != nil || !strings.Contains(out.String(), "barrage tune check --conns N") {
			t.Errorf("tune %v: err %v, stdout %q", args, err, out.String())
		}
	}
	var out, errOut bytes.Buffer
	err := runTune([]string{"fix"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `unknown subcommand "fix"`) || !strings.Contains(errOut.String(), "Usage:") {
		t.Errorf("tune fix: err %v, stderr %q", err, errOut.String())
	}
}

func TestTuneCheck(t *testing.T) {
	healthy, short := fakeProc(t, "1048576"), fakeProc(t, "20000")
	cases := []struct {
		name    string
		args    []string
		errHas  string // "" means success
		outHas  []string
		outLack []string
	}{
		{"healthy", []string{"--conns", "1000000", "--proc", healthy}, "",
			[]string{"STATUS  SETTING", "OK      net.core.somaxconn", "Result: 18 OK, 1 SKIP."}, []string{"FAIL", "sysctl -w"}},
		{"file limit too low", []string{"--conns", "1000000", "--proc", short},
			"1 setting(s) FAIL for 1000000 connections: RLIMIT_NOFILE",
			[]string{"FAIL    RLIMIT_NOFILE", "LimitNOFILE=1048576", "(exit status 1)"}, nil},
		{"spread over processes", []string{"-conns", "100000", "-processes", "6", "-proc", short}, "",
			[]string{"6 process(es)", "OK      RLIMIT_NOFILE"}, nil},
		{"no target", []string{"--proc", healthy}, "--conns N", nil, nil},
		{"bad role", []string{"--conns", "10", "--proc", healthy, "--role", "server"}, `role "server"`, nil, nil},
		{"missing proc", []string{"--conns", "10", "--proc", filepath.Join(healthy, "nope")}, "proc root", nil, nil},
		{"stray argument", []string{"--conns", "10", "--proc", healthy, "now"}, "unexpected arguments", nil, nil},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		err := runTune(append([]string{"check"}, c.args...), &out, &errOut)
		if c.errHas == "" && err != nil || c.errHas != "" && (err == nil || !strings.Contains(err.Error(), c.errHas)) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.errHas)
		}
		for _, s := range c.outHas {
			if !strings.Contains(out.String(), s) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, s, out.String())
			}
		}
		for _, s := range c.outLack {
			if strings.Contains(out.String(), s) {
				t.Errorf("%s: output has %q:\n%s", c.name, s, out.String())
			}
		}
	}
}

func TestTuneCheckJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	err := runTune([]string{"check", "--conns", "1000000", "--json", "--proc", fakeProc(t, "20000")}, &out, &errOut)
	if err == nil {
		t.Fatal("a FAIL row did not make the command fail")
	}
	var rep struct {
		Conns int    `json:"conns"`
		Role  string `json:"role"`
		Fail  int    `json:"fail"`
		OK    int    `json:"ok"`
		Rows  []struct {
			Key, Current, Recommended, Formula, Status, Fix string
		} `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, out.String())
	}
	if rep.Conns != 1_000_000 || rep.Role != "gateway" || rep.Fail != 1 || rep.OK != 17 || len(rep.Rows) != 19 {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Rows {
		if r.Key == "RLIMIT_NOFILE" && (r.Status != "FAIL" || r.Current != "soft 1024 hard 20000" || r.Fix == "") {
			t.Errorf("RLIMIT_NOFILE row %+v", r)
		}
		if r.Key == "" || r.Status == "" {
			t.Errorf("row without key or status: %+v", r)
		}
	}
}

func TestTuneMeasureFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"--frames", "256,x"}, {"--frames", "0"}, {"--runs", "0"}, {"--pairs", "0"}} {
		if err := runTune(append([]string{"measure"}, args...), &out, &errOut); err == nil {
			t.Errorf("tune measure %v accepted", args)
		}
	}
}
