package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/shard"
)

// Server is one gateway: a gnet engine, its connection table and its batcher.
type Server struct {
	gnet.BuiltinEventEngine

	cfg     Config
	logic   Logic
	log     *slog.Logger
	table   *shard.Table[*session]
	metrics *metrics
	batches batcher
	work    chan func(context.Context)

	engine  gnet.Engine
	wsPort  int
	started chan struct{}
	stopped chan struct{}
	runErr  error

	stopping    atomic.Bool                      // set by Stop: loops may no longer run what is posted
	globalRooms atomic.Pointer[map[string]int32] // room counts over all gateways, from RenewOnline
	ips         ipCounter                        // distinct client IPs of authenticated connections

	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*loop] // copy-on-write: read without a lock by pushes
	epoch   time.Time
	cancel  context.CancelFunc
	workWG  sync.WaitGroup
}

// New makes a gateway. It does not listen until Start.
func New(cfg Config, logic Logic) (*Server, error) {
	if logic == nil {
		return nil, errors.New("gateway: nil Logic")
	}
	cfg.setDefaults()
	s := &Server{
		cfg:     cfg,
		logic:   logic,
		log:     cfg.Logger.With("role", "gateway", "name", cfg.Name),
		table:   shard.New[*session](cfg.Stripes, cfg.EventLoops),
		metrics: newMetrics(cfg.Registerer),
		work:    make(chan func(context.Context), cfg.WorkQueue),
		started: make(chan struct{}),
		stopped: make(chan struct{}),
		epoch:   time.Now(),
	}
	s.batches.init(s)
	empty := []*loop{}
	s.loops.Store(&empty)
	if cfg.WSAddr != "-" {
		port, err := addrPort(cfg.WSAddr)
		if err != nil {
			return nil, fmt.Errorf("gateway: WSAddr: %w", err)
		}
		s.wsPort = port
	}
	return s, nil
}

func addrPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("bad port in %q (an explicit port is required)", addr)
	}
	return port, nil
}

// Config returns the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Start listens and serves in the background. It returns once the listeners are
// bound, or with the error that stopped them.
func (s *Server) Start() error {
	var addrs []string
	if s.cfg.TCPAddr != "-" {
		addrs = append(addrs, "tcp://"+s.cfg.TCPAddr)
	}
	if s.cfg.WSAddr != "-" {
		addrs = append(addrs, "tcp://"+s.cfg.WSAddr)
	}
	if len(addrs) == 0 {
		return errors.New("gateway: both TCPAddr and WSAddr are disabled")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for i := 0; i < s.cfg.Workers; i++ {
		s.workWG.Add(1)
		go s.worker(ctx)
	}
	go func() {
		defer close(s.stopped)
		s.runErr = gnet.Rotate(s, addrs,
			gnet.WithNumEventLoop(s.cfg.EventLoops),
			gnet.WithReusePort(s.cfg.ReusePort),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLogger(gnetLogger{s.log}),
		)
	}()
	select {
	case <-s.started:
		go s.ticker(ctx)
		go s.renewOnline(ctx)
		s.batches.start()
		s.log.Info("gateway listening", "tcp", s.cfg.TCPAddr, "ws", s.cfg.WSAddr, "loops", s.cfg.EventLoops)
		return nil
	case <-s.stopped:
		cancel()
		s.workWG.Wait()
		return fmt.Errorf("gateway: listen: %w", s.runErr)
	}
}

// Stop closes the listeners and every connection.
func (s *Server) Stop(ctx context.Context) error {
	select {
	case <-s.started:
	default:
		return nil
	}
	s.stopping.Store(true)
	err := s.engine.Stop(ctx)
	select {
	case <-s.stopped:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	s.batches.stop()
	// Let the workers report the disconnects of the connections gnet just closed.
	for len(s.work) > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	s.cancel()
	s.workWG.Wait()
	return err
}

// OnBoot records the engine so Stop can reach it.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.engine = eng
	close(s.started)
	return gnet.None
}

// nowTick is the timer wheel's clock.
func (s *Server) nowTick() int64 {
	return int64(time.Since(s.epoch) / s.cfg.TickInterval)
}

func (s *Server) ticks(d time.Duration) int64 {
	t := int64((d + s.cfg.TickInterval - 1) / s.cfg.TickInterval)
	if t < 1 {
		t = 1
	}
	return t
}

// ticker advances every loop's timer wheel.
func (s *Server) ticker(ctx context.Context) {
	every(ctx, s.cfg.TickInterval, func() {
		now := s.nowTick()
		for _, l := range *s.loops.Load() {
			l.post(item{kind: itemTick, tick: now})
		}
	})
}

// every calls f every d until ctx ends.
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

// loopOf finds or creates Barrage's state for a gnet event loop. Only the first
// connection on each loop takes the lock.
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	for _, l := range *s.loops.Load() {
		if l.el == el {
			return l
		}
	}
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	cur := *s.loops.Load()
	for _, l := range cur {
		if l.el == el {
			return l
		}
	}
	l := newLoop(s, len(cur), el, s.nowTick())
	next := append(append([]*loop(nil), cur...), l)
	s.loops.Store(&next)
	return l
}

// OnOpen starts the handshake clock of a new connection.
func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	l := s.loopOf(c.EventLoop())
	sess := &session{c: c, loop: l, state: stateHandshake, wheelSlot: -1, loopPos: -1}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok && s.wsPort != 0 && ta.Port == s.wsPort {
		sess.ws = true
		sess.state = stateUpgrading
	}
	if ra, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ra.IP); ok {
			sess.ip = ip.Unmap()
		}
	}
	c.SetContext(sess)
	l.wheel.set(sess, l.wheel.now+s.ticks(s.cfg.HandshakeTimeout))
	s.metrics.opened(sess.ws)
	return nil, gnet.None
}

// OnClose releases everything a connection held.
func (s *Server) OnClose(c gnet.Conn, err error) gnet.Action {
	sess, ok := c.Context().(*session)
	if !ok {
		return gnet.None
	}
	c.SetContext(nil)
	wasOpen := sess.state == stateOpen
	sess.state = stateClosed
	l := sess.loop
	l.wheel.remove(sess)
	if sess.ws {
		delete(l.frags, sess)
	}
	s.metrics.closed(sess.ws)
	if !wasOpen {
		return gnet.None
	}
	l.removeSession(sess)
	for _, r := range sess.rooms {
		s.table.Leave(r, sess)
	}
	sess.rooms = nil
	if !s.table.Remove(sess) {
		// A newer connection took over the key; its route must stay.
		return gnet.None
	}
	mid, key := sess.mid, sess.key
	s.submit(func(ctx context.Context) {
		if err := s.logic.Disconnect(ctx, mid, key); err != nil {
			s.log.Warn("logic disconnect failed", "mid", mid, "key", key, "err", err)
		}
	})
	return gnet.None
}

// OnTraffic decodes what a client sent. It never blocks: replies are encoded
// into the loop's buffer and written once at the end.
func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	sess, ok := c.Context().(*session)
	if !ok {
		return gnet.Close
	}
	return s.readInbound(sess)
}

// submit queues a Logic call for the worker pool. It reports false when the
// queue is full.
func (s *Server) submit(fn func(context.Context)) bool {
	select {
	case s.work <- fn:
		return true
	default:
		s.metrics.workDropped.Inc()
		return false
	}
}

func (s *Server) worker(ctx context.Context) {
	defer s.workWG.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case fn := <-s.work:
			cctx, cancel := context.WithTimeout(ctx, s.cfg.LogicTimeout)
			fn(cctx)
			cancel()
		}
	}
}
