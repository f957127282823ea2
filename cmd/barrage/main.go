// Command barrage is the one binary of every Barrage role.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `barrage: a goim-compatible connection gateway for live-streaming chat

Usage:
  barrage run    [flags]   embedded mode: gateway + logic + HTTP API in one process
  barrage gateway [flags]  distributed mode: client connections (TCP, WebSocket), Kitex push service
  barrage logic  [flags]   distributed mode: auth, routing (Redis), HTTP + Kitex push API into Kafka
  barrage job    [flags]   distributed mode: Kafka consumer delivering to the gateways
  barrage bench  [flags]   load harness: N clients in one room, push through the HTTP API, report
  barrage plan   [flags]   capacity planner: boxes, memory, CPU, egress for a workload (docs/CAPACITY.md)
  barrage tune check --conns N   check sysctls and limits for N connections (docs/TUNING.md)
  barrage config           print the default configuration as TOML
  barrage dev-kafka        in-memory Kafka-protocol broker for local stacks and tests (not for production)
  barrage version

Every setting can come from -config FILE (TOML), a BARRAGE_* environment variable
or a flag; run "barrage run -h" for the list.
`

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "bench":
		err = cmdBench(os.Args[2:])
	case "bench-worker":
		err = cmdBenchWorker(os.Args[2:])
	case "gateway":
		err = cmdRole("gateway", startGateway)(os.Args[2:])
	case "logic":
		err = cmdRole("logic", startLogic)(os.Args[2:])
	case "job":
		err = cmdRole("job", startJob)(os.Args[2:])
	case "plan":
		err = cmdPlan(os.Args[2:])
	case "tune":
		err = cmdTune(os.Args[2:])
	case "dev-kafka":
		err = cmdDevKafka(os.Args[2:])
	case "config":
		err = cmdConfig(os.Args[2:])
	case "version":
		fmt.Println("barrage", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "barrage: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // -h printed the flags
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "barrage:", err)
		os.Exit(1)
	}
}
