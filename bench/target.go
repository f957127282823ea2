package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// target is what the workers dial and the pusher posts to, and which gateway
// processes the driver measures.
type target struct {
	tcp, ws, http []string
	gateways      []procRef
	spawned       []*gatewayProc
}

// procRef is one process the driver measures.
type procRef struct {
	role    string // "gateway", "gateway-1", "worker-0", ...
	pid     int
	metrics string // host:port serving /metrics, "" when unknown
}

// startTarget spawns the gateways of the embedded and reuseport targets, or
// describes the running stack of the distributed one.
//
// Why reuseport pushes go to every process: each `barrage run` is a whole
// embedded stack whose in-memory router knows only the connections the kernel
// handed to that process. A room push to one process reaches only its share of
// the room, and a push by mid reaches the user only if that process holds it,
// so the pusher posts each message to every process's HTTP API (a process
// with no member or user of the push does nothing). Order per connection is
// kept because each connection lives in one process and the pusher sends
// message n+1 only when every process accepted message n. To measure
// SO_REUSEPORT behind one logic instead, start `barrage gateway` processes with
// -gateway.reuse_port=true on one port and use -target distributed.
func startTarget(ctx context.Context, sc Scenario, env Env) (*target, error) {
	t := &target{}
	switch sc.Target {
	case TargetDistributed:
		t.tcp, t.ws, t.http = sc.TCPAddrs, sc.WSAddrs, sc.HTTPAddrs
		for i, pid := range sc.GatewayPIDs {
			p := procRef{role: gatewayRole(i, len(sc.GatewayPIDs)), pid: pid}
			if i < len(sc.GatewayAdmin) {
				p.metrics = sc.GatewayAdmin[i]
			}
			t.gateways = append(t.gateways, p)
		}
		return t, nil
	case TargetEmbedded, TargetReusePort:
	default:
		return nil, fmt.Errorf("bench: unknown target %q", sc.Target)
	}
	n := max(sc.Gateways, 1)
	addrs, err := freeLoopbackAddrs(2 + n)
	if err != nil {
		return nil, err
	}
	t.tcp, t.ws = addrs[:1], addrs[1:2]
	extra := strings.Fields(sc.GatewayFlags)
	if sc.Target == TargetReusePort {
		extra = append([]string{"-gateway.reuse_port=true"}, extra...)
	}
	for i := range n {
		httpAddr := addrs[2+i]
		g, err := startGateway(ctx, env.Exe, t.tcp[0], t.ws[0], httpAddr, extra, env.Stderr)
		if err != nil {
			return nil, errors.Join(err, t.stop())
		}
		t.spawned = append(t.spawned, g)
		t.http = append(t.http, httpAddr)
		t.gateways = append(t.gateways, procRef{role: gatewayRole(i, n), pid: g.pid(), metrics: httpAddr})
		env.Log.Info("bench: gateway started", "pid", g.pid(), "tcp", g.tcp, "ws", g.ws, "http", httpAddr)
	}
	return t, nil
}

func gatewayRole(i, n int) string {
	if n == 1 {
		return "gateway"
	}
	return fmt.Sprintf("gateway-%d", i)
}

// stop stops every spawned gateway.
func (t *target) stop() error {
	var errs []error
	for _, g := range t.spawned {
		errs = append(errs, g.stop())
	}
	return errors.Join(errs...)
}
