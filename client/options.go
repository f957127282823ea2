package client

import (
	"fmt"
	"net"
	"time"

	"github.com/barrage/barrage/codec"
)

// Transport selects how packets travel: bare on a TCP stream, or one per binary
// WebSocket frame.
type Transport string

// Transports.
const (
	TCP       Transport = "tcp"
	WebSocket Transport = "ws"
)

// Defaults for zero-valued Options fields.
const (
	DefaultDialTimeout    = 5 * time.Second
	DefaultPath           = "/sub"
	DefaultMaxBody        = 1 << 20
	DefaultReadBufferSize = 4 << 10
)

// Options configures Dial. Every field's zero value has a documented default.
type Options struct {
	// Transport is TCP (the default) or WebSocket.
	Transport Transport
	// Addr is host:port, e.g. "127.0.0.1:3101" for TCP or "127.0.0.1:3102" for ws.
	Addr string
	// Path is the WebSocket request path. Default "/sub" (the only one goim serves).
	Path string
	// LocalIP is the source address to dial from, e.g. "127.0.0.2", so that a load
	// generator can spread connections over several addresses. Default: chosen by
	// the kernel. On Linux the socket gets IP_BIND_ADDRESS_NO_PORT, so the local
	// port is chosen per destination at connect time and loopback ports left in
	// TIME_WAIT by an earlier run are reused.
	LocalIP string
	// Auth is sent as the JSON body of op 7.
	Auth codec.AuthBody
	// Ver is the header version of every packet sent. Default codec.DefaultVer.
	Ver uint16
	// DialTimeout bounds the TCP connect, and separately the WebSocket upgrade
	// plus the wait for the auth reply. Default 5s. The context passed to Dial can
	// cut both shorter.
	DialTimeout time.Duration
	// Heartbeat, when > 0, sends op 2 every Heartbeat from a timer (no goroutine).
	// The replies are consumed (see Conn.Online), not passed to OnPush. Default 0:
	// no automatic heartbeat.
	Heartbeat time.Duration
	// MaxBody is the largest packet body accepted from the server. Pushes are
	// batches and can be large. Default 1 MiB.
	MaxBody int
	// ReadBufferSize is the initial read buffer. It grows when one frame needs
	// more and shrinks back once drained. Default 4 KiB, which keeps idle
	// connections cheap.
	ReadBufferSize int
	// OnPush is called for every packet that is not the reply to a pending
	// request: pushes (op >= 1000) and anything unexpected. Op-9 batches are
	// unpacked, so it sees the inner packets one call each, in order. p.Body is
	// only valid during the call. It runs on the reader goroutine (during Dial,
	// on the caller's goroutine for anything that arrives before the auth reply).
	// Default: pushes are dropped.
	OnPush func(p codec.Packet)
	// OnClose is called once when the connection ends, after pending requests have
	// failed and before Done is closed, with the cause: nil after Close, otherwise
	// an error saying why (a *CloseError for a WebSocket close frame). It is not
	// called when Dial fails.
	OnClose func(err error)
}

func (o Options) withDefaults() (Options, error) {
	switch o.Transport {
	case "":
		o.Transport = TCP
	case TCP, WebSocket:
	default:
		return o, fmt.Errorf("client: unknown transport %q (want %q or %q)", o.Transport, TCP, WebSocket)
	}
	if o.Addr == "" {
		return o, fmt.Errorf("client: Options.Addr is empty")
	}
	if o.LocalIP != "" && net.ParseIP(o.LocalIP) == nil {
		return o, fmt.Errorf("client: Options.LocalIP %q is not an IP address", o.LocalIP)
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Ver == 0 {
		o.Ver = codec.DefaultVer
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = DefaultReadBufferSize
	}
	if o.ReadBufferSize < 64 {
		o.ReadBufferSize = 64
	}
	return o, nil
}
