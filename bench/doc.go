// Package bench is the load harness behind `barrage bench`: it spawns (or
// targets) the gateways, spreads client connections over worker processes
// that each dial from their own loopback source address, runs a named
// scenario, and reports what the receivers saw (deliveries, losses,
// duplicates, order violations, end-to-end latency as an HdrHistogram,
// deliveries per second) next to what every process spent (RSS, CPU, write
// syscalls from /proc, GC pauses from the gateway's /metrics).
//
// Scenarios: idle-hold (connections and heartbeats only), hot-room (one room),
// small-rooms (pushes round-robin over many rooms), per-user (pushes by mid or
// key), churn (connections closing and reconnecting while a room is pushed
// to), mixed (TCP and WebSocket members of one room). Targets: embedded (one
// spawned `barrage run`), reuseport (several sharing ports), distributed (a
// running stack). `-suite standard` runs a fixed list and can rewrite the
// marked region of docs/BENCHMARKS.md.
//
// Where things live: scenario.go (the Scenario, its validation) and flags.go
// (flags and per-scenario defaults); expect.go (which connection must get
// which push: the Plan both sides compute alone); driver.go (the phases) with
// target.go and gateway_proc.go (the gateways), worker_proc.go (spawning and
// hearing workers), sourceaddr.go (their source addresses), pusher.go (the
// paced HTTP pushes) and procstats.go (process readings); worker.go (the
// worker's command loop) with conns.go (steady connections), churn.go,
// heartbeat.go, series.go (counts per second), tracker.go (per-connection
// sequence bitsets) and histogram.go; protocol.go (the driver/worker JSON
// lines); body.go (the message and its allocation-free parser); proc.go
// (/proc readers); report.go and report_md.go (JSON and Markdown); svg.go and
// charts.go (hand-written SVG charts); suite.go, machine.go and docregion.go
// (the standard suite and its place in docs/BENCHMARKS.md).
//
// Why processes and not goroutines: the box allows 20,000 open files per
// process and a source address has a bounded number of ephemeral ports, so
// more than ~15,000 connections need more processes and more source addresses.
// Measurements count deliveries at the receivers, never sends.
//
// Imports: the standard library, client (to connect), codec (packets and auth
// bodies) and hdrhistogram-go. Never gateway or upstream: the harness sees the
// gateway only from the outside, as a client, through its HTTP API and /metrics,
// and through /proc.
package bench
