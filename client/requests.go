package client

import (
	"bytes"
	"context"
	"fmt"

	"github.com/barrage/barrage/codec"
)

// call is one request waiting for its reply.
type call struct {
	replyOp int32
	ch      chan result // buffered 1: the reader never blocks handing over a reply
}

type result struct {
	p   codec.Packet
	err error
}

// Request sends a packet with the next seq and waits for the packet that
// answers it: same seq, op codec.ReplyOp(op). The reply body is a copy the
// caller owns. It fails when ctx ends (the late reply, if any, then goes to
// OnPush) or when the connection ends first (the error matches ErrClosed and
// names the cause).
func (c *Conn) Request(ctx context.Context, op int32, body []byte) (codec.Packet, error) {
	if err := context.Cause(ctx); err != nil {
		return codec.Packet{}, fmt.Errorf("client: op %d not sent: %w", op, err)
	}
	seq := c.nextSeq()
	cl := &call{replyOp: codec.ReplyOp(op), ch: make(chan result, 1)}
	c.mu.Lock()
	if c.closing {
		err := &closedError{cause: c.cause}
		c.mu.Unlock()
		return codec.Packet{}, fmt.Errorf("client: op %d not sent: %w", op, err)
	}
	if c.pending == nil {
		c.pending = make(map[int32]*call)
	}
	c.pending[seq] = cl
	c.npending.Add(1)
	c.mu.Unlock()

	deadline, _ := ctx.Deadline()
	if err := c.writePacket(op, seq, body, deadline); err != nil {
		c.forget(seq)
		return codec.Packet{}, err
	}
	select {
	case r := <-cl.ch:
		if r.err != nil {
			return codec.Packet{}, fmt.Errorf("client: op %d (seq %d) got no reply: %w", op, seq, r.err)
		}
		return r.p, nil
	case <-ctx.Done():
		c.forget(seq)
		return codec.Packet{}, fmt.Errorf("client: op %d (seq %d) waiting for op %d: %w", op, seq, cl.replyOp, context.Cause(ctx))
	}
}

// forget drops a pending request that will not wait for its reply.
func (c *Conn) forget(seq int32) {
	c.mu.Lock()
	if _, ok := c.pending[seq]; ok {
		delete(c.pending, seq)
		c.npending.Add(-1)
	}
	c.mu.Unlock()
}

// answer hands p to the request it replies to, if any, and says whether it did.
// The body is copied because the read buffer is reused once deliver returns.
func (c *Conn) answer(p codec.Packet) bool {
	c.mu.Lock()
	cl, ok := c.pending[p.Seq]
	if !ok || cl.replyOp != p.Op {
		c.mu.Unlock()
		return false
	}
	delete(c.pending, p.Seq)
	c.npending.Add(-1)
	c.mu.Unlock()
	if len(p.Body) > 0 {
		p.Body = bytes.Clone(p.Body)
	} else {
		p.Body = nil
	}
	cl.ch <- result{p: p}
	return true
}

// Heartbeat sends op 2 and returns the online count from the op-3 reply.
func (c *Conn) Heartbeat(ctx context.Context) (online int32, err error) {
	p, err := c.Request(ctx, codec.OpHeartbeat, nil)
	if err != nil {
		return 0, err
	}
	online, err = codec.HeartbeatOnline(p.Body)
	if err != nil {
		return 0, fmt.Errorf("client: heartbeat reply (seq %d): %w", p.Seq, err)
	}
	return online, nil
}

// ChangeRoom moves the connection to room (op 12 -> 13); an empty room leaves
// the current one.
func (c *Conn) ChangeRoom(ctx context.Context, room string) error {
	return c.echoRequest(ctx, codec.OpChangeRoom, []byte(room))
}

// JoinRoom adds room to the connection's rooms (op 18 -> 19, a Barrage
// extension).
func (c *Conn) JoinRoom(ctx context.Context, room string) error {
	return c.echoRequest(ctx, codec.OpJoinRoom, []byte(room))
}

// LeaveRoom removes room from the connection's rooms (op 20 -> 21, a Barrage
// extension).
func (c *Conn) LeaveRoom(ctx context.Context, room string) error {
	return c.echoRequest(ctx, codec.OpLeaveRoom, []byte(room))
}

// Sub adds ops to the ones the connection accepts (op 14 -> 15, body
// "1000,1001").
func (c *Conn) Sub(ctx context.Context, ops ...int32) error {
	return c.echoRequest(ctx, codec.OpSub, codec.AppendOps(nil, ops))
}

// Unsub removes ops from the ones the connection accepts (op 16 -> 17).
func (c *Conn) Unsub(ctx context.Context, ops ...int32) error {
	return c.echoRequest(ctx, codec.OpUnsub, codec.AppendOps(nil, ops))
}

// Send sends a message to the business side (op 4). goim acknowledges it with
// op 4 and an empty body.
func (c *Conn) Send(ctx context.Context, body []byte) error {
	_, err := c.Request(ctx, codec.OpSendMsg, body)
	return err
}

// echoRequest sends a request whose reply must echo the body, as goim's replies
// to ops 12, 14 and 16 do and Barrage's to 18 and 20: a reply that does not is a
// server bug worth failing on.
func (c *Conn) echoRequest(ctx context.Context, op int32, body []byte) error {
	p, err := c.Request(ctx, op, body)
	if err != nil {
		return err
	}
	if !bytes.Equal(p.Body, body) {
		return fmt.Errorf("client: op %d (seq %d) reply body %q does not echo the request body %q", op, p.Seq, p.Body, body)
	}
	return nil
}
