package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/codec"
	"github.com/gobwas/ws"
)

// Conn is one authenticated connection to the gateway.
//
// Lock order: mu may be taken while holding nothing; wmu is never held while
// taking mu (a failed write releases wmu before shutdown takes mu).
type Conn struct {
	nc      net.Conn
	ws      bool
	ver     uint16
	key     string
	maxBody int
	onPush  func(codec.Packet)
	onClose func(error)
	every   time.Duration // heartbeat period, 0 = none

	seq      atomic.Int32 // last seq used; requests start at 1
	timerSeq atomic.Int32 // seq of the timer heartbeat awaiting its reply, 0 = none
	online   atomic.Int32
	npending atomic.Int32 // len(pending), readable without mu

	wmu sync.Mutex // serialises socket writes

	mu      sync.Mutex
	pending map[int32]*call // allocated on first request: idle connections pay nothing
	closing bool            // set by the first of Close, a write error, or the reader ending
	cause   error           // why; nil when Close came first
	timer   *time.Timer     // heartbeat timer, nil once stopped
	done    chan struct{}

	// Owned by Dial, then by the reader goroutine.
	rb      readBuf
	authed  bool
	authSeq int32
}

// Dial connects, upgrades to WebSocket on GET Options.Path if asked, sends the
// op-7 auth and waits for the op-8 reply. It fails, saying so, if the server
// closes the connection or sends a close frame instead of replying.
func Dial(ctx context.Context, o Options) (*Conn, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	auth, err := codec.EncodeAuth(o.Auth)
	if err != nil {
		return nil, fmt.Errorf("client: encode auth body: %w", err)
	}
	d := net.Dialer{Timeout: o.DialTimeout}
	if o.LocalIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.LocalIP)}
		d.Control = bindNoPort
	}
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", o.Addr, err)
	}
	c := newConn(nc, o)
	if err := c.handshake(ctx, o, auth); err != nil {
		nc.Close()
		return nil, err
	}
	if c.every > 0 {
		c.mu.Lock()
		c.timer = time.AfterFunc(c.every, c.beat)
		c.mu.Unlock()
	}
	go c.readLoop()
	return c, nil
}

func newConn(nc net.Conn, o Options) *Conn {
	limit := codec.HeaderLen + o.MaxBody
	if o.Transport == WebSocket {
		limit += wsClientHeader
	}
	return &Conn{
		nc:      nc,
		ws:      o.Transport == WebSocket,
		ver:     o.Ver,
		key:     o.Auth.Key,
		maxBody: o.MaxBody,
		onPush:  o.OnPush,
		onClose: o.OnClose,
		every:   o.Heartbeat,
		done:    make(chan struct{}),
		rb:      newReadBuf(min(o.ReadBufferSize, limit), limit),
	}
}

// handshake runs the WebSocket upgrade (if any) and auth under one deadline,
// cut short if ctx ends.
func (c *Conn) handshake(ctx context.Context, o Options, auth []byte) (err error) {
	_ = c.nc.SetDeadline(time.Now().Add(o.DialTimeout))
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() && ctx.Err() != nil {
			err = fmt.Errorf("client: dial %s: auth not completed: %w", o.Addr, context.Cause(ctx))
		}
	}()
	if c.ws {
		if err := c.upgrade(o); err != nil {
			return err
		}
	}
	c.authSeq = c.nextSeq()
	if err := c.writePacket(codec.OpAuth, c.authSeq, auth, time.Time{}); err != nil {
		return fmt.Errorf("client: send auth to %s: %w", o.Addr, err)
	}
	for !c.authed {
		if err := c.readOne(); err != nil {
			return authError(o, err)
		}
	}
	return c.nc.SetDeadline(time.Time{})
}

func authError(o Options, err error) error {
	var ce *CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("client: server %s closed the websocket instead of replying to auth (op 8): %w", o.Addr, err)
	case errors.Is(err, errServerEOF):
		return fmt.Errorf("client: server %s closed the connection instead of replying to auth (op 8): %w", o.Addr, err)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("client: no auth reply (op 8) from %s within %v: %w", o.Addr, o.DialTimeout, err)
	}
	return fmt.Errorf("client: waiting for the auth reply (op 8) from %s: %w", o.Addr, err)
}

// upgrade runs the client side of the WebSocket opening handshake on our own
// socket (so LocalIP applies) and keeps any bytes the server sent right after it.
func (c *Conn) upgrade(o Options) error {
	u, err := url.Parse("ws://" + o.Addr + o.Path)
	if err != nil {
		return fmt.Errorf("client: websocket URL from Addr %q and Path %q: %w", o.Addr, o.Path, err)
	}
	br, _, err := ws.Dialer{}.Upgrade(c.nc, u)
	if err != nil {
		return fmt.Errorf("client: websocket upgrade GET %s: %w", u, err)
	}
	if br != nil {
		for br.Buffered() > 0 {
			if err := c.rb.fill(br); err != nil {
				return fmt.Errorf("client: websocket upgrade GET %s: %w", u, err)
			}
		}
		ws.PutReader(br)
	}
	return nil
}

func (c *Conn) nextSeq() int32 {
	s := c.seq.Add(1)
	for s == 0 { // after wrapping: seq 0 is what pushes carry
		s = c.seq.Add(1)
	}
	return s
}

// heartbeatWriteTimeout is the least time a timer heartbeat may take to write.
const heartbeatWriteTimeout = 5 * time.Second

// beat is the heartbeat timer's callback: it sends op 2 and re-arms itself.
func (c *Conn) beat() {
	seq := c.nextSeq()
	c.timerSeq.Store(seq)
	// The deadline keeps a peer that stopped reading from pinning this timer
	// goroutine; it is generous because a short period must not turn a slow
	// moment into a dropped connection.
	if c.writePacket(codec.OpHeartbeat, seq, nil, time.Now().Add(max(c.every, heartbeatWriteTimeout))) != nil {
		return // the connection is ending
	}
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Reset(c.every)
	}
	c.mu.Unlock()
}

// Close ends the connection (on WebSocket, after a best-effort close frame with
// code 1000, which waits at most about a second for a stuck write). Pending
// requests fail with ErrClosed and OnClose gets nil. It does not wait for the
// cleanup, so it may be called from OnPush; Done is closed when that has run. Calling it again, or
// after the connection ended by itself, does nothing and returns nil.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.mu.Unlock()
	if c.ws {
		// A write stuck on a peer that stopped reading holds the write lock: the
		// deadline makes it give up, so the close frame waits a bounded time.
		_ = c.nc.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
		c.writeClose(codec.WSCloseNormal)
	}
	return c.nc.Close()
}

// shutdown ends the connection with a cause unless it is already ending; the
// reader goroutine then sees the closed socket and runs finish.
func (c *Conn) shutdown(cause error) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing, c.cause = true, cause
	c.mu.Unlock()
	_ = c.nc.Close()
}

// finish runs once, on the reader goroutine as it exits: it fails the pending
// requests, stops the timer, calls OnClose and closes Done, in that order.
func (c *Conn) finish(readErr error) {
	c.mu.Lock()
	if !c.closing {
		c.closing, c.cause = true, readErr
	}
	cause := c.cause
	pending := c.pending
	c.pending = nil
	c.npending.Store(0)
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.mu.Unlock()
	_ = c.nc.Close()
	closed := &closedError{cause: cause}
	for _, call := range pending {
		call.ch <- result{err: closed}
	}
	if c.onClose != nil {
		c.onClose(cause)
	}
	close(c.done)
}

// Done is closed once the connection has ended and OnClose has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended: nil while it is open and after Close,
// otherwise the same error OnClose got.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Key is the key sent in the auth body (empty if the server was left to
// generate one).
func (c *Conn) Key() string { return c.key }

// Online is the room online count from the latest heartbeat reply (0 before
// the first).
func (c *Conn) Online() int32 { return c.online.Load() }

// LocalAddr is the connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr is the gateway's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
