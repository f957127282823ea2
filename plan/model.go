package plan

import "math"

// Wire sizes (docs/PROTOCOL.md): every message is a packet with a 16-byte
// header; on TCP a batch is the packets back to back; on WebSocket a batch is
// one binary frame holding one op-9 packet (another 16-byte header) whose body
// is the packets, behind a 2-, 4- or 10-byte frame header.
const (
	packetHeader = 16
	// heartbeatReply is the op-3 reply: a header and an int32 online count.
	heartbeatReply = packetHeader + 4
)

// Batching is the gateway's batcher configuration plus how messages arrive.
type Batching struct {
	// Window is the batch window in seconds (gateway.batch_window).
	Window float64 `json:"window_s"`
	// MaxMessages flushes a batch early (gateway.batch_max_messages).
	MaxMessages int `json:"max_messages"`
	// MaxBytes flushes a batch early (gateway.batch_max_bytes).
	MaxBytes int `json:"max_bytes"`
	// Fixed makes every message wait for the window, like goim's job
	// (gateway.batch_fixed); otherwise the window adapts (see gateway/batcher.go).
	Fixed bool `json:"fixed"`
	// Paced models messages arriving evenly spaced, as `barrage bench` pushes
	// them; otherwise arrivals are random (Poisson), like real chat.
	Paced bool `json:"paced"`
}

// packetBytes is one message on the wire: header plus body.
func packetBytes(msgSize float64) float64 { return packetHeader + msgSize }

// capMessages is the most messages one batch holds: the batcher flushes when
// the count reaches MaxMessages or the size reaches MaxBytes.
func (b Batching) capMessages(packet float64) float64 {
	c := float64(max(b.MaxMessages, 1))
	if b.MaxBytes > 0 && packet > 0 {
		c = min(c, math.Ceil(float64(b.MaxBytes)/packet))
	}
	return max(c, 1)
}

// period is how long a batch collects: the window, or less when the batch
// reaches its cap first (cap messages at rate r take cap/r seconds).
func (b Batching) period(rate, packet float64) float64 {
	if rate <= 0 {
		return b.Window
	}
	return min(b.Window, b.capMessages(packet)/rate)
}

// MessagesPerWrite is the average number of messages in one batch (one write
// per member) for a room receiving rate messages per second.
//
// Adaptive window, random arrivals: after a flush, the next message comes
// after a gap g ~ Exp(rate). If g >= W it goes out alone at once; if g < W it
// waits for the window to close and the rate x (W-g) messages arriving
// meanwhile join it. Averaging over g gives m = rW + e^(-rW): 1 for a quiet
// room, ~rW for a busy one (W = 50 ms at 40 msg/s: 2.135).
// Adaptive window, paced arrivals: m = max(1, rW) (bench: 2.0 at 40 msg/s).
// Fixed window: the first message opens the window and the others join it:
// 1 + rW random, max(1, rW) paced. Every case is capped by capMessages.
func (b Batching) MessagesPerWrite(rate, packet float64) float64 {
	if rate <= 0 {
		return 0
	}
	x := rate * b.Window
	var m float64
	switch {
	case b.Paced:
		m = max(1, x)
	case b.Fixed:
		m = 1 + x
	default:
		m = x + math.Exp(-x)
	}
	return min(m, b.capMessages(packet))
}

// WaitP99 is the 99th percentile of the time a message waits in the batcher,
// in seconds. T = period (the window, or the time to fill a batch).
//
// Adaptive, random arrivals: a busy room (rT >= 1) flushes every T and its
// messages arrive uniformly within it, so p99 = 0.99 T. A quiet room: a
// message waits T-g when it arrives g < T after the previous one, so
// P(wait > x) = 1 - e^(-r(T-x)) and p99 = T - ln(1/0.99)/r ~ T - 0.01/r, or 0
// when fewer than 1 % of messages wait. Both are T - 0.01 x max(T, 1/r).
// Adaptive, paced: nothing waits when messages are at least T apart, else up to T.
// Fixed: the first message of every batch waits the whole period: p99 = T.
func (b Batching) WaitP99(rate, packet float64) float64 {
	if rate <= 0 {
		return 0
	}
	t := b.period(rate, packet)
	switch {
	case b.Fixed:
		return t
	case b.Paced:
		if 1/rate >= t {
			return 0
		}
		return t
	default:
		return max(0, t-0.01*max(t, 1/rate))
	}
}

// WriteBytes is what one batch write puts on the socket, without TCP/IP
// headers: m packets on TCP; on WebSocket the same inside an op-9 packet
// inside a frame.
func WriteBytes(m, packet float64, ws bool) float64 {
	b := m * packet
	if !ws {
		return b
	}
	payload := packetHeader + b
	return wsHeaderLen(payload) + payload
}

// wsHeaderLen is the header of an unmasked server frame carrying payload bytes
// (RFC 6455: 7-bit length up to 125, 16-bit up to 65535, else 64-bit).
func wsHeaderLen(payload float64) float64 {
	switch {
	case payload <= 125:
		return 2
	case payload <= 65535:
		return 4
	default:
		return 10
	}
}

// The kernel charges data queued on a socket in whole pages: the payload plus
// ~576 B of sk_buff and skb_shared_info, rounded up to 4 KiB (measured in
// docs/TUNING.md: a 256-byte and a 3,072-byte frame each hold one page, a
// 3,584-byte frame two).
const (
	skbOverhead = 576
	pageBytes   = 4096
)

// QueuedBytes is the kernel memory a write of n bytes holds while it waits on
// its socket (until the client acknowledges it).
func QueuedBytes(n float64) float64 {
	if n <= 0 {
		return 0
	}
	return pageBytes * math.Ceil((n+skbOverhead)/pageBytes)
}

// WireBytes adds the Ethernet/IP/TCP headers: one per segment of at most mss
// bytes, overhead bytes each.
func WireBytes(bytes, mss, overhead float64) float64 {
	if bytes <= 0 {
		return 0
	}
	return bytes + overhead*math.Ceil(bytes/mss)
}
