package logic

import (
	"context"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultHeartbeat is goim's: a 4-minute client heartbeat, 2 missed beats.
	DefaultHeartbeat = 8 * time.Minute
	// DefaultMaxPushBody bounds the body of an HTTP push request.
	DefaultMaxPushBody = 1 << 20
)

// Config configures a Logic. Every zero value has a usable default.
type Config struct {
	// JWTSecret is the HS256 secret auth tokens are signed with. Empty means
	// development mode: the auth body is trusted as goim trusts it (any client
	// may claim any mid), and New logs a WARN saying so.
	JWTSecret string `toml:"jwt_secret"`
	// Heartbeat is the heartbeat timeout handed to gateways in ConnectReply: a
	// connection silent for longer is closed. Zero means DefaultHeartbeat.
	Heartbeat time.Duration `toml:"heartbeat"`
	// Server is not used: gateways pass their own name on each call. It is kept
	// so configuration files can name the logic instance.
	Server string `toml:"server"`
	// MaxPushBody is the largest HTTP push body accepted, in bytes. Zero means
	// DefaultMaxPushBody (1 MiB).
	MaxPushBody int64 `toml:"max_push_body"`
}

// ConnectReply tells the gateway who the new connection is.
type ConnectReply struct {
	Mid       int64
	Key       string        // the client's key, or a generated one when it sent none
	Rooms     []string      // full room ids to join ("live://1000"); empty = none
	Accepts   []int32       // ops the connection subscribes to, as sent
	Heartbeat time.Duration // close the connection after this long without a heartbeat
	// RoomPinned means the token's room_id claim pins the connection to Rooms:
	// the gateway refuses a change (op 12) or join (op 18) to any other room.
	RoomPinned bool
}

// Logic is the business entry: authentication, routing and the push API. It is
// safe for concurrent use.
type Logic struct {
	cfg      Config
	router   Router
	delivery Delivery
	online   OnlineSource
	handler  MessageHandler
	seq      Sequencer
	pipe     roomPipe
	store    OnlineStore // nil: RenewOnline is not served (embedded mode)
	log      *slog.Logger

	secret []byte      // nil in development mode
	jwt    *jwt.Parser // nil in development mode
}

// New builds a Logic. A nil router gets a MemoryRouter, a nil handler a
// LogHandler, a nil online source reports zero counts, and a nil delivery makes
// every push fail with ErrNoDelivery. A nil log means slog.Default().
func New(cfg Config, router Router, delivery Delivery, online OnlineSource, handler MessageHandler, log *slog.Logger, opts ...Option) *Logic {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.MaxPushBody <= 0 {
		cfg.MaxPushBody = DefaultMaxPushBody
	}
	if router == nil {
		router = NewMemoryRouter()
	}
	if delivery == nil {
		delivery = noDelivery{}
	}
	if online == nil {
		online = noOnline{}
	}
	if handler == nil {
		handler = NewLogHandler(log)
	}
	l := &Logic{cfg: cfg, router: router, delivery: delivery, online: online, handler: handler, log: log,
		seq: NewMemorySequencer()}
	for _, o := range opts {
		o(l)
	}
	if cfg.JWTSecret == "" {
		log.Warn("logic: no JWT secret configured, running in DEVELOPMENT MODE: " +
			"auth bodies are trusted without a token and any client may claim any mid; " +
			"set a JWT secret before exposing the gateway")
	} else {
		l.secret = []byte(cfg.JWTSecret)
		l.jwt = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithJSONNumber(), // mids beyond 2^53 must survive decoding exactly
		)
	}
	return l
}

// Config returns the configuration in effect, defaults applied.
func (l *Logic) Config() Config { return l.cfg }

type noDelivery struct{}

func (noDelivery) PushKeys(context.Context, string, int32, []string, []byte) error {
	return ErrNoDelivery
}
func (noDelivery) BroadcastRooms(context.Context, []RoomPush) error      { return ErrNoDelivery }
func (noDelivery) Broadcast(context.Context, int32, []byte, int32) error { return ErrNoDelivery }
func (noDelivery) KickKeys(context.Context, string, []string, string) error {
	return ErrNoDelivery
}

type noOnline struct{}

func (noOnline) Online(context.Context) (Online, error) { return Online{}, nil }

// Option adds an optional seam to a Logic.
type Option func(*Logic)

// WithSequencer replaces the in-memory room sequencer (distributed mode: Redis).
func WithSequencer(s Sequencer) Option { return func(l *Logic) { l.seq = s } }

// WithOnlineStore makes RenewOnline record gateways' counts in store.
func WithOnlineStore(s OnlineStore) Option { return func(l *Logic) { l.store = s } }
