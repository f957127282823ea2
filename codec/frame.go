package codec

// Frame is one encoded push, ready to be written unchanged to any number of
// connections: TCP holds the inner packets back to back (what goim writes on TCP),
// WS holds one unmasked binary WebSocket frame carrying one op-9 packet whose body
// is those same packets (what goim writes on WebSocket). A Frame is never modified
// after it is built, so connections share it by reference.
type Frame struct {
	TCP   []byte
	WS    []byte
	Count int // number of inner packets
}

// Len is the number of bytes a connection of the given transport receives.
func (f *Frame) Len(ws bool) int {
	if ws {
		return len(f.WS)
	}
	return len(f.TCP)
}

// Bytes returns the encoding for one transport.
func (f *Frame) Bytes(ws bool) []byte {
	if ws {
		return f.WS
	}
	return f.TCP
}

// BatchWriter accumulates packets for one batch and seals them into a Frame. The
// packets are encoded straight into the buffer that becomes the WS frame, with room
// reserved in front for the WebSocket and op-9 headers, so sealing copies nothing:
// the TCP encoding is a sub-slice of the same memory.
type BatchWriter struct {
	buf   []byte
	count int
}

// maxWSHeader is the largest server frame header (no mask): 2 + 8 bytes.
const maxWSHeader = 10

const batchReserve = maxWSHeader + HeaderLen

// Reset starts a new batch, reusing no memory of sealed frames. sizeHint is the
// expected encoded size of the packets.
func (b *BatchWriter) Reset(sizeHint int) {
	sizeHint = max(sizeHint, 0)
	b.buf = make([]byte, batchReserve, batchReserve+sizeHint)
	b.count = 0
}

// Add appends one packet to the batch.
func (b *BatchWriter) Add(ver uint16, op, seq int32, body []byte) {
	if b.buf == nil {
		b.Reset(HeaderLen + len(body))
	}
	b.buf = AppendPacket(b.buf, ver, op, seq, body)
	b.count++
}

// Count is the number of packets added since Reset.
func (b *BatchWriter) Count() int { return b.count }

// Size is the encoded size of the packets added since Reset.
func (b *BatchWriter) Size() int {
	if b.buf == nil {
		return 0
	}
	return len(b.buf) - batchReserve
}

// Seal finishes the batch and returns its Frame. A batch without packets seals to
// the zero Frame (nothing to write on either transport), as does a second Seal.
// After Seal the next Add starts a new batch in new memory, so sealed Frames are
// never touched again.
func (b *BatchWriter) Seal() Frame {
	if b.count == 0 {
		b.buf = nil
		return Frame{}
	}
	packets := b.buf[batchReserve:]
	// op-9 header right in front of the packets, WS header in front of that.
	inner := HeaderLen + len(packets)
	var hdr [maxWSHeader]byte
	wsh := AppendWSHeader(hdr[:0], WSOpBinary, true, inner)
	start := batchReserve - HeaderLen - len(wsh)
	copy(b.buf[start:], wsh)
	AppendHeader(b.buf[batchReserve-HeaderLen:batchReserve-HeaderLen], len(packets), DefaultVer, OpRaw, 0)
	// Both slices are capped so that an append by a reader reallocates instead of
	// writing into memory the other transport's slice may share.
	end := len(b.buf)
	f := Frame{TCP: packets[:len(packets):len(packets)], WS: b.buf[start:end:end], Count: b.count}
	b.buf = nil
	b.count = 0
	return f
}

// SinglePacketFrame encodes one push as a Frame (used for key, mid and broadcast
// pushes, which goim does not batch).
func SinglePacketFrame(ver uint16, op, seq int32, body []byte) Frame {
	var b BatchWriter
	b.Reset(HeaderLen + len(body))
	b.Add(ver, op, seq, body)
	return b.Seal()
}
