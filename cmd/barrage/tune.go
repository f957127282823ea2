package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/barrage/barrage/tuning"
)

const tuneUsage = `barrage tune: check this host for holding many connections

Usage:
  barrage tune check --conns N [flags]   grade the live sysctls and limits for N connections,
                                         print what to change with the exact commands;
                                         exit status 1 when a row FAILs
  barrage tune measure [flags]           measure the kernel memory of idle TCP sockets here

Examples:
  barrage tune check --conns 1000000
  barrage tune check --conns 200000 --processes 10 --json
  barrage tune check --conns 200000 --role client --source-ips 4   (a load generator)
  barrage tune check --conns 100000 --pid $(pgrep -f 'barrage gateway')
  barrage tune measure --pairs 5000 --runs 3

docs/TUNING.md explains every setting; "barrage tune check -h" lists the flags.
`

// cmdTune is "barrage tune".
func cmdTune(args []string) error { return runTune(args, os.Stdout, os.Stderr) }

func runTune(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, err := fmt.Fprint(stdout, tuneUsage)
		return err
	}
	switch args[0] {
	case "check":
		return tuneCheck(args[1:], stdout, stderr)
	case "measure":
		return tuneMeasure(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stdout, tuneUsage)
		return err
	default:
		fmt.Fprint(stderr, tuneUsage)
		return fmt.Errorf("tune: unknown subcommand %q (want check or measure)", args[0])
	}
}

func tuneCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conns := fs.Int("conns", 0, "connections this host must hold (required)")
	proc := fs.String("proc", "/proc", "root of the proc filesystem to read (a copy or a fake tree for tests)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	verbose := fs.Bool("v", false, "explain every row, not only those that need a change")
	processes := fs.Int("processes", 1, "processes sharing the connections: gateways with gateway.reuse_port, or load-generator workers")
	role := fs.String("role", string(tuning.RoleGateway), "which end this host is: gateway or client (a load generator)")
	sourceIPs := fs.Int("source-ips", 1, "client role: local addresses the connections are dialed from")
	pid := fs.String("pid", "self", "process whose open-file limit to read (a running gateway's PID)")
	frame := fs.Int("frame-bytes", 2048, "typical batch frame written to each connection, for the TCP memory rows")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tune check: unexpected arguments %q", fs.Args())
	}
	if *conns <= 0 {
		return errors.New("tune check: give the connection target with --conns N")
	}
	rep, err := tuning.Check(*proc, *conns, tuning.WithProcesses(*processes), tuning.WithRole(tuning.Role(*role)),
		tuning.WithSourceIPs(*sourceIPs), tuning.WithPID(*pid), tuning.WithFrameBytes(*frame))
	if err != nil {
		return err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout, *verbose)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return fmt.Errorf("tune check: %d setting(s) FAIL for %d connections: %s",
			rep.Fail, *conns, strings.Join(rep.Failures(), ", "))
	}
	return nil
}

func tuneMeasure(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune measure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pairs := fs.Int("pairs", 5000, "loopback connections to open (two sockets each)")
	runs := fs.Int("runs", 1, "measurements to make; the summary gives the median")
	proc := fs.String("proc", "/proc", "root of the proc filesystem")
	frames := fs.String("frames", "256,4096,16384", "comma-separated frame sizes to queue, in bytes")
	asJSON := fs.Bool("json", false, "print one JSON object per run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	sizes, err := parseSizes(*frames)
	if err != nil {
		return err
	}
	if *runs <= 0 {
		return fmt.Errorf("tune measure: --runs must be positive, got %d", *runs)
	}
	// The socket pairs need 2*pairs descriptors; ask for what the hard limit allows.
	if _, err := tuning.RaiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "tune measure: could not raise the open-file limit:", err)
	}
	var slab []float64
	for i := 1; i <= *runs; i++ {
		m, err := tuning.MeasureSocketMemory(*proc, *pairs, sizes)
		if err != nil {
			return err
		}
		slab = append(slab, m.SlabPerSocket)
		if *asJSON {
			if err := json.NewEncoder(stdout).Encode(m); err != nil {
				return err
			}
			continue
		}
		writeMeasurement(stdout, i, m)
	}
	if !*asJSON && *runs > 1 {
		sort.Float64s(slab)
		fmt.Fprintf(stdout, "median slab per socket over %d runs: %.0f B\n", *runs, slab[len(slab)/2])
	}
	return nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("tune measure: frame size %q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func writeMeasurement(w io.Writer, run int, m tuning.SocketMemory) {
	fmt.Fprintf(w, "run %d: %d sockets (%d loopback pairs, both ends counted)\n", run, m.Sockets, m.Pairs)
	fmt.Fprintf(w, "  slab per socket:         %.0f B (unreclaimable %.0f B; objects in the caches below %.0f B)\n",
		m.SlabPerSocket, m.UnreclaimPerSocket, m.ObjectsPerSocket)
	fmt.Fprintf(w, "  tcp_mem per idle socket: %.0f B fresh, %.0f B after a small exchange each way\n",
		m.TCPMemIdlePerSocket, m.TCPMemExchangedPerSocket)
	if len(m.Caches) > 0 {
		fmt.Fprintln(w, "  slab caches that grew, per socket:")
		for _, c := range m.Caches {
			fmt.Fprintf(w, "    %-20s %6.0f B  (%.2f x %d B)\n", c.Name, c.BytesPerSocket, c.ObjectsPerSocket, c.ObjSize)
		}
	}
	for _, q := range m.Queued {
		fmt.Fprintf(w, "  one unread %6d-byte frame per pair costs %6.0f B of tcp_mem\n", q.FrameBytes, q.BytesPerFrame)
	}
}
