package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/server"
	"github.com/cloudwego/netpoll"
)

// Default ports (goim's).
const (
	DefaultLogicAddr   = ":3119" // LogicService and PushAPI
	DefaultGatewayAddr = ":3109" // GatewayPush
)

// exitWait bounds Kitex's graceful shutdown: requests in flight get this long
// to finish before their connections are closed. Stop's context can cut the
// wait for the caller shorter; the shutdown then finishes in the background.
const exitWait = time.Second

// startWait bounds how long Start waits for Kitex to start serving.
const startWait = 5 * time.Second

// Server is one Kitex server listening on one address, hosting one or more of
// the services. Build it with NewLogicServer, NewGatewayServer or
// NewPushServer; it does nothing until Start. A stopped Server cannot be
// started again: build a new one (it may use the same address).
type Server struct {
	name     string // for errors and logs: "logic", "gateway push", "push api"
	addr     string // as configured
	register func(server.Server) error
	log      *slog.Logger

	mu    sync.Mutex
	state int // serverNew, serverRunning, serverStopped
	ln    net.Listener
	exit  chan error // closed by Stop; Kitex's Run returns when it is
	done  chan error // Run's result
}

const (
	serverNew = iota
	serverRunning
	serverStopped
)

func newServer(name, addr string, log *slog.Logger, register func(server.Server) error) (*Server, error) {
	if addr == "" {
		return nil, fmt.Errorf("rpc: %s server: empty listen address (want host:port, e.g. %q)", name, DefaultLogicAddr)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("rpc: %s server: listen address %q: %w", name, addr, err)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Server{name: name, addr: addr, register: register, log: log,
		exit: make(chan error), done: make(chan error, 1)}, nil
}

// Start listens and serves in the background. It returns once the server
// polls its listening socket, so a client may call right away, and fails when
// the address is taken or the server was started or stopped before.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case serverRunning:
		return fmt.Errorf("rpc: %s server on %s: already started", s.name, s.addr)
	case serverStopped:
		return fmt.Errorf("rpc: %s server on %s: stopped; build a new Server to serve again", s.name, s.addr)
	}
	// Binding here rather than inside Kitex's Run makes "port taken" an error
	// of Start instead of a log line from a background goroutine.
	tcp, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("rpc: %s server: listen on %s: %w", s.name, s.addr, err)
	}
	np, err := netpoll.ConvertListener(tcp)
	if err != nil {
		tcp.Close()
		return fmt.Errorf("rpc: %s server: listen on %s: %w", s.name, s.addr, err)
	}
	ln := &servedListener{Listener: np, served: make(chan struct{})}
	svr := server.NewServer(
		server.WithListener(ln),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "barrage-" + s.name}),
		// Kitex installs a SIGINT/SIGTERM handler by default and stops the
		// server on its own; cmd/barrage owns the signals, so Run only ends
		// when Stop closes s.exit.
		server.WithExitSignal(func() <-chan error { return s.exit }),
		server.WithExitWaitTime(exitWait),
		server.WithCompatibleMiddlewareForUnary(), // what the generated NewServer sets
		// Failures go back as TTHeader biz status errors (see remoteError),
		// which need the TTHeader meta handler on both ends.
		server.WithMetaHandler(transmeta.ServerTTHeaderHandler),
	)
	if err := s.register(svr); err != nil {
		ln.Close()
		return fmt.Errorf("rpc: %s server: register services: %w", s.name, err)
	}
	go func() { s.done <- svr.Run() }()
	// Wait until netpoll polls the listener. Kitex bootstraps it in a
	// goroutine of its own; a Stop that came before would find nothing to shut
	// down and the server would go on serving, unreachable by Stop.
	select {
	case <-ln.served:
	case err := <-s.done:
		ln.Close()
		s.state = serverStopped
		return fmt.Errorf("rpc: %s server on %s: %w", s.name, s.addr, err)
	case <-time.After(startWait): // only reachable through a Kitex or netpoll change
		close(s.exit)
		ln.Close()
		s.state = serverStopped
		return fmt.Errorf("rpc: %s server on %s: not serving %v after start", s.name, s.addr, startWait)
	}
	s.ln, s.state = ln, serverRunning
	s.log.Info("rpc server listening", "server", s.name, "addr", ln.Addr().String())
	return nil
}

// servedListener is the netpoll listener handed to Kitex. It tells Start when
// netpoll starts polling it (netpoll asks for the descriptor then), and makes
// Close idempotent: Kitex's shutdown and netpoll's both close the listener,
// and a second close(2) of a descriptor number could close a socket that has
// reused it in between.
type servedListener struct {
	netpoll.Listener
	served     chan struct{}
	servedOnce sync.Once
	closeOnce  sync.Once
	closeErr   error
}

func (l *servedListener) Fd() int {
	l.servedOnce.Do(func() { close(l.served) })
	return l.Listener.Fd()
}

func (l *servedListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

// Stop stops accepting, lets calls in flight finish (up to a second), closes
// the connections and waits for all that or ctx, whichever comes first.
// Stopping a server that never started, or twice, is not an error.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state != serverRunning {
		s.state = serverStopped
		s.mu.Unlock()
		return nil
	}
	s.state = serverStopped
	close(s.exit)
	s.mu.Unlock()
	select {
	case err := <-s.done:
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("rpc: %s server on %s: stop: calls still running after the %v grace period were cut off: %w", s.name, s.addr, exitWait, err)
		}
		if err != nil {
			return fmt.Errorf("rpc: %s server on %s: stop: %w", s.name, s.addr, err)
		}
		s.log.Info("rpc server stopped", "server", s.name, "addr", s.addr)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rpc: %s server on %s: stop: %w (shutdown goes on in the background)", s.name, s.addr, ctx.Err())
	}
}

// Addr is the address the server listens on once started (the real port when
// configured with port 0), the configured address before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.addr
}

// errNilCore is returned by the constructors when given no core.
var errNilCore = errors.New("nil core")
