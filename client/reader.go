package client

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/barrage/barrage/codec"
)

// readLoop is the connection's one goroutine: it reads until the connection
// ends, then cleans up.
func (c *Conn) readLoop() {
	var err error
	for err == nil {
		err = c.readOne()
	}
	c.finish(err)
}

// readOne handles exactly one unit (a packet on TCP, a frame on WebSocket),
// reading from the socket only when the buffer holds no whole unit. A non-nil
// error ends the connection and is its cause.
func (c *Conn) readOne() error {
	for {
		var n int
		var err error
		if c.ws {
			n, err = c.handleWSFrame(c.rb.unread())
		} else {
			n, err = c.handleTCPPacket(c.rb.unread())
		}
		if err != nil {
			return err
		}
		if n > 0 {
			c.rb.consume(n)
			return nil
		}
		if err := c.rb.fill(c.nc); err != nil {
			return c.readError(err)
		}
	}
}

func (c *Conn) readError(err error) error {
	if errors.Is(err, io.EOF) {
		if pending := len(c.rb.unread()); pending > 0 {
			return fmt.Errorf("client: server closed the connection in the middle of a packet (%d bytes received of it): %w", pending, io.ErrUnexpectedEOF)
		}
		return errServerEOF
	}
	if errors.Is(err, net.ErrClosed) {
		return ErrClosed // we closed it; Close or a write error already set the real cause
	}
	if err, ok := err.(net.Error); ok && err.Timeout() {
		return err // the caller (Dial) words timeouts itself
	}
	return fmt.Errorf("client: read: %w", err)
}

func (c *Conn) handleTCPPacket(buf []byte) (int, error) {
	p, n, err := codec.Decode(buf, c.maxBody)
	if err != nil {
		return 0, fmt.Errorf("client: bad packet from server: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	return n, c.dispatch(p)
}

func (c *Conn) handleWSFrame(buf []byte) (int, error) {
	f, err := codec.DecodeWSFrame(buf, codec.HeaderLen+c.maxBody, false)
	if err != nil {
		return 0, fmt.Errorf("client: bad websocket frame from server: %w", err)
	}
	if f.Total == 0 {
		return 0, nil
	}
	payload := buf[f.PayloadStart:f.Total]
	switch f.Opcode {
	case codec.WSOpBinary:
		if !f.Fin {
			return 0, fmt.Errorf("client: bad websocket frame from server: %w", codec.ErrWSFragmented)
		}
		p, n, err := codec.Decode(payload, c.maxBody)
		if err != nil {
			return 0, fmt.Errorf("client: bad packet in websocket frame: %w", err)
		}
		if n != len(payload) {
			return 0, fmt.Errorf("client: bad websocket frame from server: %d-byte payload does not hold exactly one packet", len(payload))
		}
		return f.Total, c.dispatch(p)
	case codec.WSOpPing:
		c.writeControl(codec.WSOpPong, payload)
		return f.Total, nil
	case codec.WSOpPong:
		return f.Total, nil
	case codec.WSOpClose:
		code, reason, err := codec.WSClosePayload(payload)
		if err != nil {
			return 0, fmt.Errorf("client: bad websocket close frame from server: %w", err)
		}
		// Echo the code (or the empty payload), as RFC 6455 asks.
		c.writeControl(codec.WSOpClose, payload[:min(len(payload), 2)])
		return 0, &CloseError{Code: code, Reason: string(reason)}
	case codec.WSOpText:
		return 0, fmt.Errorf("client: bad websocket frame from server: text frame (the protocol uses binary frames only)")
	default: // continuation
		return 0, fmt.Errorf("client: bad websocket frame from server: %w", codec.ErrWSFragmented)
	}
}

// dispatch unpacks an op-9 batch (one level: an op-9 inside a batch is passed on
// as it is) and delivers each packet.
func (c *Conn) dispatch(p codec.Packet) error {
	if p.Op != codec.OpRaw {
		c.deliver(p)
		return nil
	}
	err := codec.Packets(p.Body, c.maxBody, func(q codec.Packet) error {
		c.deliver(q)
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: bad op-9 batch from server: %w", err)
	}
	return nil
}

// deliver routes one packet: the auth reply, the reply to a timer heartbeat, the
// reply to a pending request (same seq and the op that answers the request's op),
// or else OnPush.
func (c *Conn) deliver(p codec.Packet) {
	if !c.authed && p.Op == codec.OpAuthReply && p.Seq == c.authSeq {
		c.authed = true
		return
	}
	if p.Op == codec.OpHeartbeatReply {
		if online, err := codec.HeartbeatOnline(p.Body); err == nil {
			c.online.Store(online)
		}
		if p.Seq != 0 && c.timerSeq.CompareAndSwap(p.Seq, 0) {
			return
		}
	}
	// Pushes carry seq 0, which requests never use, and usually nothing is
	// pending: both checks keep the lock off the push path.
	if p.Seq != 0 && c.npending.Load() > 0 && c.answer(p) {
		return
	}
	if c.onPush != nil {
		c.onPush(p)
	}
}
