package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/barrage/barrage/gateway"
	"github.com/barrage/barrage/upstream/job"
	"github.com/barrage/barrage/upstream/kafkabus"
	"github.com/barrage/barrage/upstream/logic"
	"github.com/barrage/barrage/upstream/redisstore"
	"github.com/barrage/barrage/upstream/rpc"
)

// role holds what a distributed-mode process started, so it can stop it in order.
type role struct {
	log    *slog.Logger
	stops  []stopFunc // run in reverse order
	failed chan error // a part that died on its own; the process must exit
}

// fail reports that a part of the role stopped working by itself.
func (r *role) fail(err error) {
	select {
	case r.failed <- err:
	default:
	}
}

type stopFunc struct {
	f        func(context.Context) error
	graceful bool // a goodbye (registry deregistration) that a crash would not say
}

func (r *role) onStop(f func(context.Context) error) { r.stops = append(r.stops, stopFunc{f: f}) }

func (r *role) onGracefulStop(f func(context.Context) error) {
	r.stops = append(r.stops, stopFunc{f: f, graceful: true})
}

func (r *role) stop() error { return r.halt(true) }

// crash stops everything without the goodbyes, as a killed process would.
func (r *role) crash() error { return r.halt(false) }

func (r *role) halt(graceful bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for i := len(r.stops) - 1; i >= 0; i-- {
		if s := r.stops[i]; graceful || !s.graceful {
			errs = append(errs, s.f(ctx))
		}
	}
	r.stops = nil
	return errors.Join(errs...)
}

// waitSignal blocks until SIGINT or SIGTERM, or until a part of the role fails
// by itself, then stops everything. A failure is returned so the process exits
// non-zero and its supervisor restarts it.
func (r *role) waitSignal(name string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		r.log.Info("shutting down")
		return r.stop()
	case err := <-r.failed:
		r.log.Error("stopping after a failure", "err", err)
		return errors.Join(fmt.Errorf("%s: %w", name, err), r.stop())
	}
}

// setup loads the configuration and logger shared by every role.
func setup(name string, args []string) (*Config, *slog.Logger, error) {
	cfg, err := loadConfig(name, args, os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	log, err := cfg.logger()
	if err != nil {
		return nil, nil, err
	}
	if name != "gateway" { // the gateway names its role in its own logs
		log = log.With("role", name)
	}
	slog.SetDefault(log)
	return cfg, log, nil
}

func (c RedisConfig) store() redisstore.Config {
	return redisstore.Config{Addrs: c.Addrs, Password: c.Password, DB: c.DB, KeyPrefix: c.KeyPrefix,
		RouteTTL: c.RouteTTL, GatewayTTL: c.GatewayTTL, OnlineTTL: c.OnlineTTL, CleanupGrace: c.CleanupGrace}
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveHTTP listens on addr ("-" disables) and serves h until the role stops.
func (r *role) serveHTTP(addr string, h http.Handler) error {
	if addr == "-" || addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("http server stopped", "addr", addr, "err", err)
		}
	}()
	r.onStop(srv.Shutdown)
	r.log.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// startLogic is the logic role: auth and routing over Redis, pushes into Kafka,
// the goim HTTP API and the Kitex LogicService + PushAPI.
func startLogic(cfg *Config, log *slog.Logger) (*role, error) {
	r := &role{log: log, failed: make(chan error, 1)}
	store, err := redisstore.New(cfg.Redis.store())
	if err != nil {
		return nil, fmt.Errorf("logic: redis %v: %w", cfg.Redis.Addrs, err)
	}
	r.onStop(func(context.Context) error { return store.Close() })
	useKitexSlog(log)
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := kafkabus.CreateTopic(tctx, cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.Partitions, cfg.Kafka.Replication); err != nil {
		// Not fatal: the push API answers errors until Kafka is reachable.
		log.Warn("kafka topic not created; pushes fail until Kafka is reachable", "err", err)
	}
	tcancel()
	prod, err := kafkabus.NewProducer(kafkabus.Config{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic,
		BatchTimeout: cfg.Kafka.BatchTimeout, Logger: log})
	if err != nil {
		_ = r.stop()
		return nil, fmt.Errorf("logic: kafka %v: %w", cfg.Kafka.Brokers, err)
	}
	r.onStop(func(context.Context) error { return prod.Close() })
	reg := newRegistry()
	lm, ms := newLogicMetrics(reg), newMeteredStore(store, reg)
	reg.MustRegister(newProducerCollector(prod))
	l := logic.New(cfg.Logic, ms, meteredDelivery{kafkaDelivery{prod}, lm}, ms, logic.NewLogHandler(log), log,
		logic.WithSequencer(ms), logic.WithOnlineStore(ms))

	if err := r.serveHTTP(cfg.HTTP.Addr, apiMux(l, lm, reg, log)); err != nil {
		_ = r.stop()
		return nil, err
	}
	srv, err := rpc.NewLogicServer(cfg.RPC.LogicAddr, meteredLogic{l, lm}, log)
	if err != nil {
		_ = r.stop()
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = r.stop()
		return nil, fmt.Errorf("logic: rpc %s: %w", cfg.RPC.LogicAddr, err)
	}
	r.onStop(srv.Stop)

	// Forget the routes of gateways whose registry entry expired.
	ctx, cancel := context.WithCancel(context.Background())
	r.onStop(func(context.Context) error { cancel(); return nil })
	go every(ctx, cfg.Redis.GatewayTTL, func() {
		if removed, err := ms.CleanupDeadGateways(ctx); err != nil {
			log.Warn("dead gateway cleanup failed", "err", err)
		} else if len(removed) > 0 {
			log.Info("removed routes of dead gateways", "gateways", removed)
		}
	})
	log.Info("logic ready", "http", cfg.HTTP.Addr, "rpc", cfg.RPC.LogicAddr)
	return r, nil
}

// startGateway is the gateway role: clients on gnet, logic over Kitex, pushes
// from job over Kitex, a registry heartbeat in Redis.
func startGateway(cfg *Config, log *slog.Logger) (*role, error) {
	r := &role{log: log, failed: make(chan error, 1)}
	raiseFileLimit(log, cfg.Tune.TargetConns)
	useKitexSlog(log)
	lc, err := rpc.NewLogicClient(cfg.RPC.LogicAddrs, cfg.RPC.Timeout)
	if err != nil {
		return nil, fmt.Errorf("gateway: logic client: %w", err)
	}
	store, err := redisstore.New(cfg.Redis.store())
	if err != nil {
		return nil, fmt.Errorf("gateway: redis %v (gateway registry): %w", cfg.Redis.Addrs, err)
	}
	r.onStop(func(context.Context) error { return store.Close() })
	reg := newRegistry()
	rm := newRegistryMetrics(reg)
	gcfg := cfg.Gateway.WithDefaults()
	gcfg.Logger = log
	gcfg.Registerer = reg
	gw, err := gateway.New(gcfg, gatewayLogic{l: lc, server: gcfg.Name})
	if err != nil {
		_ = r.stop()
		return nil, err
	}
	if err := gw.Start(); err != nil {
		_ = r.stop()
		return nil, err
	}
	r.onStop(gw.Stop)
	// No matching connection and "shutting down" are not failures job should retry.
	ignore := func(err error) bool {
		return errors.Is(err, gateway.ErrNoTargets) || errors.Is(err, gateway.ErrStopped)
	}
	push, err := rpc.NewGatewayServer(cfg.RPC.GatewayAddr, gw, ignore, log)
	if err != nil {
		_ = r.stop()
		return nil, err
	}
	if err := push.Start(); err != nil {
		_ = r.stop()
		return nil, fmt.Errorf("gateway: push rpc %s: %w", cfg.RPC.GatewayAddr, err)
	}
	r.onStop(push.Stop)
	admin := cfg.Admin.Addr
	if admin == "" {
		admin = ":3110"
	}
	if err := r.serveHTTP(admin, adminMux(reg)); err != nil {
		_ = r.stop()
		return nil, err
	}

	// Registry heartbeat: job routes to gateways it finds here. A Redis outage
	// only delays it; job keeps its last list meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	info := func() redisstore.GatewayInfo {
		return redisstore.GatewayInfo{Name: gcfg.Name, PushAddr: cfg.RPC.GatewayAdvertise, Conns: int64(gw.Stats().Conns)}
	}
	first := true
	beat := func() {
		revived, err := store.RegisterGatewayRevived(ctx, info())
		switch {
		case err != nil && ctx.Err() == nil:
			rm.heartbeatErrors.Inc()
			log.Warn("gateway registry heartbeat failed", "err", err)
		case revived && !first:
			rm.revived.Inc()
			// We were missing long enough for logic to drop our routes: key and
			// mid pushes miss our clients until each one's next heartbeat.
			log.Warn("gateway registry entry had expired and its routes were cleaned; " +
				"routes come back as clients heartbeat (route_refresh)")
		}
		first = false
	}
	beat()
	beating := make(chan struct{})
	go func() { defer close(beating); every(ctx, registryBeat(cfg.Redis.GatewayTTL), beat) }()

	// Shutdown order, replacing the per-step stops registered above: stop the
	// registry heartbeat (and wait, so it cannot re-register us), close client
	// connections (this also ends RenewOnline), leave the registry, and only then
	// stop the push service, so job's calls until it notices meet a gateway that
	// answers "stopped" instead of a refused connection.
	closeStore, stopAdmin := r.stops[0], r.stops[len(r.stops)-1]
	r.stops = []stopFunc{closeStore, stopAdmin}
	r.onStop(push.Stop)
	r.onGracefulStop(func(sctx context.Context) error { return store.DeregisterGateway(sctx, gcfg.Name) })
	r.onStop(gw.Stop)
	r.onStop(func(context.Context) error { cancel(); <-beating; return nil })
	log.Info("gateway ready", "name", gcfg.Name, "tcp", gcfg.TCPAddr, "ws", gcfg.WSAddr,
		"push", cfg.RPC.GatewayAddr, "advertise", cfg.RPC.GatewayAdvertise, "admin", admin)
	return r, nil
}

// registryBeat refreshes a registry entry three times per TTL.
func registryBeat(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	return ttl / 3
}

// startJob is the job role: Kafka consumer group -> gateways over Kitex.
func startJob(cfg *Config, log *slog.Logger) (*role, error) {
	r := &role{log: log, failed: make(chan error, 1)}
	useKitexSlog(log)
	store, err := redisstore.New(cfg.Redis.store())
	if err != nil {
		return nil, fmt.Errorf("job: redis %v (gateway registry): %w", cfg.Redis.Addrs, err)
	}
	r.onStop(func(context.Context) error { return store.Close() })
	timeout := cfg.RPC.Timeout
	j, err := job.New(job.Config{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, GroupID: cfg.Kafka.GroupID, Logger: log},
		registryOf{store}, func(name, addr string) (job.Gateway, error) {
			c, err := rpc.NewGatewayClient(addr, timeout)
			if err != nil {
				return nil, err
			}
			return jobGateway{c}, nil
		})
	if err != nil {
		_ = r.stop()
		return nil, err
	}
	admin := cfg.Admin.Addr
	if admin == "" {
		admin = ":3112"
	}
	reg := newRegistry()
	reg.MustRegister(newJobCollector(j))
	if err := r.serveHTTP(admin, adminMux(reg)); err != nil {
		_ = r.stop()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = j.Run(ctx)
		if ctx.Err() == nil {
			r.fail(fmt.Errorf("kafka consumer stopped: %w", runErr))
		}
	}()
	r.onStop(func(sctx context.Context) error {
		cancel()
		select {
		case <-done:
			if errors.Is(runErr, context.Canceled) {
				return nil
			}
			return runErr
		case <-sctx.Done():
			return sctx.Err()
		}
	})
	log.Info("job ready", "brokers", cfg.Kafka.Brokers, "topic", cfg.Kafka.Topic, "group", cfg.Kafka.GroupID)
	return r, nil
}

// registryOf adapts the Redis registry to job.Registry.
type registryOf struct{ s *redisstore.Store }

func (r registryOf) Gateways(ctx context.Context) (map[string]string, error) {
	list, err := r.s.Gateways(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(list))
	for _, g := range list {
		m[g.Name] = g.PushAddr
	}
	return m, nil
}

func every(ctx context.Context, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

func cmdRole(name string, start func(*Config, *slog.Logger) (*role, error)) func([]string) error {
	return func(args []string) error {
		cfg, log, err := setup(name, args)
		if err != nil {
			return err
		}
		r, err := start(cfg, log)
		if err != nil {
			return err
		}
		return r.waitSignal(name)
	}
}

// kitexSlog sets Kitex's process-wide logger once: setting it again while a Kitex
// client logs would race (tests start several roles in one process).
var kitexSlog sync.Once

func useKitexSlog(log *slog.Logger) { kitexSlog.Do(func() { rpc.UseSlog(log) }) }
