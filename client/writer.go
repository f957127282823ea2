package client

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/barrage/barrage/codec"
)

// maxPooledWrite caps the buffers kept in writePool, so one large Send does not
// pin its memory for the life of the process.
const maxPooledWrite = 64 << 10

// wsClientHeader is the largest masked frame header: 2 + 8 length + 4 mask.
const wsClientHeader = 14

// writePool holds encode buffers shared by all connections: a per-connection
// buffer would cost memory on every idle connection.
var writePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// controlWriteTimeout bounds the best-effort control frames (pong, close) written
// from the reader goroutine or Close, so a stuck peer cannot hang either.
const controlWriteTimeout = time.Second

// writePacket encodes one packet, frames it for WebSocket if needed, and writes
// it. A failed write ends the connection: a partial frame leaves the stream
// unusable.
func (c *Conn) writePacket(op, seq int32, body []byte, deadline time.Time) error {
	bp := writePool.Get().(*[]byte)
	b := codec.AppendPacket((*bp)[:0], c.ver, op, seq, body)
	out := b
	if c.ws {
		// Frame into the same buffer, after the packet: with the room reserved
		// here the append cannot reallocate, so the packet stays valid as the
		// source of the masked copy.
		b = slices.Grow(b, len(b)+wsClientHeader)
		out = codec.AppendWSClientFrame(b[len(b):], codec.WSOpBinary, b, newMask())
	}
	c.wmu.Lock()
	if !deadline.IsZero() {
		_ = c.nc.SetWriteDeadline(deadline)
	}
	_, err := c.nc.Write(out)
	if !deadline.IsZero() {
		_ = c.nc.SetWriteDeadline(time.Time{})
	}
	c.wmu.Unlock()
	if cap(b) <= maxPooledWrite {
		*bp = b[:0]
		writePool.Put(bp)
	}
	if err != nil {
		err = fmt.Errorf("client: write op %d (seq %d): %w", op, seq, err)
		c.shutdown(err)
	}
	return err
}

// writeControl writes a masked WebSocket control frame (payload <= 125 bytes,
// which codec already enforced on the frame it answers). Errors are ignored: a
// failed pong shows up as a read error soon enough, and a close frame is a
// courtesy on a connection that is going away anyway.
func (c *Conn) writeControl(opcode byte, payload []byte) {
	var buf [wsClientHeader + 125]byte
	frame := codec.AppendWSClientFrame(buf[:0], opcode, payload[:min(len(payload), 125)], newMask())
	c.wmu.Lock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	_, _ = c.nc.Write(frame)
	_ = c.nc.SetWriteDeadline(time.Time{})
	c.wmu.Unlock()
}

// writeClose sends a close frame with a code and no reason.
func (c *Conn) writeClose(code uint16) {
	var payload [2]byte
	binary.BigEndian.PutUint16(payload[:], code)
	c.writeControl(codec.WSOpClose, payload[:])
}

func newMask() [4]byte {
	var m [4]byte
	binary.LittleEndian.PutUint32(m[:], rand.Uint32())
	return m
}
