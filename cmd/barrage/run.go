package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/barrage/barrage/gateway"
	"github.com/barrage/barrage/tuning"
	"github.com/barrage/barrage/upstream/logic"
)

// embedded is the whole product in one process: gateway, logic with an
// in-memory router, and the HTTP API, wired through the same interfaces the
// distributed mode puts behind RPC.
type embedded struct {
	gw   *gateway.Server
	http *http.Server
	ln   net.Listener
	log  *slog.Logger
}

func startEmbedded(cfg *Config, log *slog.Logger) (*embedded, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Defaults first: logic must see the same gateway name the gateway reports.
	gcfg := cfg.Gateway.WithDefaults()
	gcfg.Logger = log
	gcfg.Registerer = reg

	// The gateway needs logic and logic needs the gateway: build logic on a
	// forward reference, then the gateway, then close the loop.
	var gw *gateway.Server
	lm := newLogicMetrics(reg)
	l := logic.New(cfg.Logic, logic.NewMemoryRouter(), meteredDelivery{&lateDelivery{get: func() *gateway.Server { return gw }}, lm},
		&lateOnline{get: func() *gateway.Server { return gw }}, logic.NewLogHandler(log), log)
	var err error
	gw, err = gateway.New(gcfg, gatewayLogic{l: meteredLogic{l, lm}, server: gcfg.Name})
	if err != nil {
		return nil, err
	}
	if err := gw.Start(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		_ = gw.Stop(context.Background())
		return nil, fmt.Errorf("http listen %s: %w", cfg.HTTP.Addr, err)
	}
	mux := apiMux(l, lm, reg, log)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e := &embedded{gw: gw, http: srv, ln: ln, log: log}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("barrage embedded mode ready", "tcp", gw.Config().TCPAddr, "ws", gw.Config().WSAddr, "http", ln.Addr().String())
	return e, nil
}

func (e *embedded) stop(ctx context.Context) error {
	return errors.Join(e.http.Shutdown(ctx), e.gw.Stop(ctx))
}

// apiMux is logic's HTTP port: the goim API, counted, plus the admin endpoints.
func apiMux(l *logic.Logic, lm *logicMetrics, reg *prometheus.Registry, log *slog.Logger) *http.ServeMux {
	mux := adminMux(reg)
	mux.Handle("/goim/", lm.httpMiddleware(logic.NewHTTPHandler(l, log)))
	return mux
}

// adminMux serves /metrics and /debug/pprof.
func adminMux(reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	return mux
}

type lateDelivery struct{ get func() *gateway.Server }

func (d *lateDelivery) PushKeys(ctx context.Context, server string, op int32, keys []string, body []byte) error {
	return localDelivery{d.get()}.PushKeys(ctx, server, op, keys, body)
}
func (d *lateDelivery) BroadcastRooms(ctx context.Context, pushes []logic.RoomPush) error {
	return localDelivery{d.get()}.BroadcastRooms(ctx, pushes)
}
func (d *lateDelivery) Broadcast(ctx context.Context, op int32, body []byte, speed int32) error {
	return localDelivery{d.get()}.Broadcast(ctx, op, body, speed)
}
func (d *lateDelivery) KickKeys(ctx context.Context, server string, keys []string, reason string) error {
	return localDelivery{d.get()}.KickKeys(ctx, server, keys, reason)
}

type lateOnline struct{ get func() *gateway.Server }

func (o *lateOnline) Online(ctx context.Context) (logic.Online, error) {
	return localOnline{o.get()}.Online(ctx)
}

// cmdRun is `barrage run`: embedded mode until SIGINT or SIGTERM.
func cmdRun(args []string) error {
	cfg, err := loadConfig("run", args, os.Getenv)
	if err != nil {
		return err
	}
	log, err := cfg.logger()
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	raiseFileLimit(log, cfg.Tune.TargetConns)
	e, err := startEmbedded(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.stop(sctx)
}

// raiseFileLimit lifts the soft open-file limit to the hard limit, says how
// many connections that allows, and warns when it caps target.
func raiseFileLimit(log *slog.Logger, target int) {
	f, err := tuning.RaiseFileLimit()
	if err != nil {
		log.Warn("could not raise the open-file limit", "soft", f.Before, "hard", f.Hard, "err", err)
	} else {
		log.Info("open-file limit", "limit", f.After, "max_connections_about", f.MaxConns())
	}
	if target > 0 {
		if err := f.Caps(uint64(target)); err != nil {
			log.Warn("the open-file limit caps tune.target_conns", "target", target, "err", err)
		}
	}
}
