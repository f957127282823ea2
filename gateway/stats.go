package gateway

import (
	"context"
	"fmt"
	"log/slog"

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
// the number of distinct client IPs among them. The counts are kept as
// connections come and go, so this is cheap.
func (s *Server) Online() (rooms map[string]int32, conns, ips int64) {
	return s.RoomCounts(), int64(s.table.Len()), s.ips.distinct()
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
		global, err := s.logic.RenewOnline(cctx, s.cfg.Name, OnlineCounts{Rooms: s.RoomCounts(), Conns: int64(s.table.Len()), IPs: s.ips.distinct()})
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
