package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/panjf2000/gnet/v2/pkg/logging"
)

// Stats is a cheap snapshot for tests, benchmarks and the online API.
type Stats struct {
	Conns     int   // authenticated connections
	Delivered int64 // messages queued to connections since start
	Closes    int64 // connections closed by the gateway since start
}

// Stats returns counters.
func (s *Server) Stats() Stats {
	return Stats{Conns: s.table.Len(), Delivered: s.metrics.deliveredN.Load(), Closes: s.metrics.closesN.Load()}
}

// RoomCounts returns each room's online count on this gateway.
func (s *Server) RoomCounts() map[string]int32 {
	m := make(map[string]int32)
	s.table.Rooms(func(id string, n int32) { m[id] = n })
	return m
}

// Online returns the room counts, the number of authenticated connections and
// the number of distinct client IPs. Counting IPs visits every connection on its
// own loop, so it is meant for the online API, not a hot path.
func (s *Server) Online(ctx context.Context) (rooms map[string]int32, conns, ips int64, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	rooms = s.RoomCounts()
	loops := *s.loops.Load()
	results := make(chan []netip.Addr, len(loops))
	for _, l := range loops {
		l := l
		if err := l.el.Execute(ctx, runFunc(func() {
			addrs := make([]netip.Addr, 0, len(l.sessions))
			for _, sess := range l.sessions {
				addrs = append(addrs, sess.ip)
			}
			results <- addrs
		})); err != nil {
			results <- nil
		}
	}
	seen := make(map[netip.Addr]struct{})
	for range loops {
		select {
		case addrs := <-results:
			conns += int64(len(addrs))
			for _, a := range addrs {
				seen[a] = struct{}{}
			}
		case <-ctx.Done():
			return nil, 0, 0, fmt.Errorf("gateway: online count: %w", ctx.Err())
		}
	}
	return rooms, conns, int64(len(seen)), nil
}

// gnetLogger sends gnet's own logs to slog.
type gnetLogger struct{ log *slog.Logger }

var _ logging.Logger = gnetLogger{}

func (g gnetLogger) Debugf(format string, args ...any) { g.log.Debug(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Infof(format string, args ...any)  { g.log.Debug(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Warnf(format string, args ...any)  { g.log.Warn(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Errorf(format string, args ...any) { g.log.Error(fmt.Sprintf(format, args...)) }
func (g gnetLogger) Fatalf(format string, args ...any) { g.log.Error(fmt.Sprintf(format, args...)) }

// renewOnline sends this gateway's room counts to logic and keeps the global
// counts it answers with, every Config.OnlineRenew.
func (s *Server) renewOnline(ctx context.Context) {
	every(ctx, s.cfg.OnlineRenew, func() {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.LogicTimeout)
		global, err := s.logic.RenewOnline(cctx, s.cfg.Name, s.RoomCounts(), int64(s.table.Len()))
		cancel()
		switch {
		case err != nil:
			s.log.Warn("renew online counts failed; heartbeats report local counts", "err", err)
			s.globalRooms.Store(nil)
		case global == nil:
			s.globalRooms.Store(nil)
		default:
			s.globalRooms.Store(&global)
		}
	})
}
