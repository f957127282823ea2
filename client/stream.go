package client

import (
	"errors"
	"fmt"
	"io"

	"github.com/barrage/barrage/codec"
)

// DecodeStream reads packets from a TCP byte stream, such as a raw socket in a
// test, and calls fn for each, in order, unpacking op-9 batches. p.Body is only
// valid during the call. Bodies up to DefaultMaxBody are accepted. It returns
// nil when r ends between packets, and an error when r ends inside one, a read
// fails, or the stream is not well formed.
func DecodeStream(r io.Reader, fn func(p codec.Packet)) error {
	rb := newReadBuf(DefaultReadBufferSize, codec.HeaderLen+DefaultMaxBody)
	each := func(q codec.Packet) error { fn(q); return nil }
	for {
		p, n, err := codec.Decode(rb.unread(), DefaultMaxBody)
		if err != nil {
			return fmt.Errorf("client: bad packet in stream: %w", err)
		}
		if n == 0 {
			if err := rb.fill(r); err != nil {
				if !errors.Is(err, io.EOF) {
					return fmt.Errorf("client: read stream: %w", err)
				}
				if pending := len(rb.unread()); pending > 0 {
					return fmt.Errorf("client: stream ended inside a packet (%d bytes of it): %w", pending, io.ErrUnexpectedEOF)
				}
				return nil
			}
			continue
		}
		if p.Op == codec.OpRaw {
			if err := codec.Packets(p.Body, DefaultMaxBody, each); err != nil {
				return fmt.Errorf("client: bad op-9 batch in stream: %w", err)
			}
		} else {
			fn(p)
		}
		rb.consume(n)
	}
}
