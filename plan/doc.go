// Package plan is the capacity planner behind `barrage plan`: from a workload
// (viewers, rooms and their sizes, messages per second per room, message size,
// a p99 latency target, the TCP/WebSocket mix) and a machine (cores, memory,
// open-file limit, NIC) it estimates how many gateway boxes and processes the
// workload needs, and what they spend in memory (user space and kernel,
// separately), CPU and egress bandwidth.
//
// The model is deliberately small enough to check by hand; docs/CAPACITY.md
// explains it with a worked example. Its core: CPU is writes per second times
// the cost of one write(2), modelled as a fixed cost plus a cost per byte,
// because on the measured box ~90 % of the gateway's CPU is the kernel
// executing write(2). Messages per write follow from a room's message rate and
// the batch window, and the window is the largest one whose p99 (batch wait +
// fan-out + a base latency) still meets the target.
//
// Costs come from built-in defaults measured in docs/BENCHMARKS.md, or from the
// JSON lines `barrage bench -json` appends (calibrate.go), or from flags.
//
// Where things live: input.go (the workload and machine, defaults,
// validation); rooms.go (room specs: explicit groups, Zipf, CSV); model.go
// (batching and per-write arithmetic); calibrate.go (costs, their defaults,
// calibration); bench.go (reading bench JSON lines); estimate.go (one candidate box count, the window search, the box
// search); result.go (Estimate and what it returns); render.go and
// arithmetic.go (the human table).
//
// Imports: the standard library only. It reads bench JSON through its own
// struct so it never depends on package bench.
package plan
