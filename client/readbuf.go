package client

import (
	"fmt"
	"io"
)

// shrinkAbove is the buffer size past which a drained buffer is dropped back to
// its initial size: one big batch must not pin its memory on an idle connection.
const shrinkAbove = 64 << 10

// readBuf is a growing read buffer: buf[r:w] has been received and not consumed.
// Unlike bufio.Reader it lets a decoder look at everything buffered at once, and
// grows when a single frame is larger than the buffer.
type readBuf struct {
	buf     []byte
	r, w    int
	initial int
	limit   int // the largest unit a decoder accepts; the buffer never needs more
}

func newReadBuf(initial, limit int) readBuf {
	return readBuf{buf: make([]byte, initial), initial: initial, limit: limit}
}

func (b *readBuf) unread() []byte { return b.buf[b.r:b.w] }

// consume marks n bytes as used. When the buffer drains, reading restarts at the
// front, so a connection receiving whole packets never copies.
func (b *readBuf) consume(n int) {
	b.r += n
	if b.r < b.w {
		return
	}
	b.r, b.w = 0, 0
	if len(b.buf) > shrinkAbove && b.initial < len(b.buf) {
		b.buf = make([]byte, b.initial)
	}
}

// fill reads at least one more byte from src, making room first: by moving the
// unread tail to the front, or, when a single unit fills the whole buffer, by
// growing it.
func (b *readBuf) fill(src io.Reader) error {
	if b.w == len(b.buf) {
		if b.r > 0 {
			b.w = copy(b.buf, b.buf[b.r:b.w])
			b.r = 0
		} else {
			if len(b.buf) >= b.limit {
				return fmt.Errorf("client: bad data from server: a %d-byte unit is still incomplete, limit %d", len(b.buf), b.limit)
			}
			grown := make([]byte, min(2*len(b.buf), b.limit))
			b.w = copy(grown, b.buf[:b.w])
			b.buf = grown
		}
	}
	for range 100 {
		n, err := src.Read(b.buf[b.w:])
		b.w += n
		if n > 0 {
			return nil // a read error comes back on the next call
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
