// Package tuning adapts the process and checks the host for holding very many
// connections.
//
//   - RaiseFileLimit (rlimit.go) lifts RLIMIT_NOFILE to the hard limit at start
//     and FileLimit.Caps says, with numbers, when it caps the connection target.
//   - Check (check.go, rules.go) reads the live sysctls, the process's open-file
//     limit and MemTotal from a /proc tree (a fake one in tests) and grades each
//     against what N connections need, with the formula and the exact fix;
//     Report renders as a table or JSON (render.go). proc.go parses /proc.
//   - MeasureSocketMemory (measure.go) measures the kernel memory of idle TCP
//     sockets on this host; its results are the constants the formulas use.
//
// docs/TUNING.md explains every setting; `barrage tune` is the command line.
//
// tuning imports nothing of Barrage's, only the standard library.
package tuning
