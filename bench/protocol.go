package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The driver talks to each worker over the worker's stdin and stdout, one JSON
// object per line (the worker's stderr is passed through for logs):
//
//	driver -> worker  {"cmd":"spec","spec":{...}}   first line: what to connect
//	worker -> driver  {"type":"connected","connected":N,"failed":F,"retries":R,"first_error":"...","retry_error":"..."}
//	driver -> worker  {"cmd":"start","start_unix_nano":T}  the phase begins at T: report progress,
//	                                                 start heartbeats and churn, count deliveries per second from T
//	worker -> driver  {"type":"progress","received":R,"unique":U,"dropped":D}  every progressEvery
//	driver -> worker  {"cmd":"sent","sent":S}       pushing ended after S pushes: work out what to expect
//	worker -> driver  {"type":"progress",...,"expected":E,"has_expected":true}  at once, then as before
//	driver -> worker  {"cmd":"stop","sent":S}       close connections, account seqs 0..S-1
//	worker -> driver  {"type":"result","result":{...}}  then the worker exits
//	worker -> driver  {"type":"error","error":"..."}    instead of any of the above; the worker exits
//
// A worker whose stdin closes (the driver died) closes its connections and exits.

// Commands from driver to worker.
const (
	cmdSpec  = "spec"
	cmdStart = "start"
	cmdSent  = "sent"
	cmdStop  = "stop"
)

// Messages from worker to driver.
const (
	msgConnected = "connected"
	msgProgress  = "progress"
	msgResult    = "result"
	msgError     = "error"
)

// progressEvery is how often a worker reports its delivery counts during the
// push phase; the driver uses them to stop waiting as soon as all arrived.
const progressEvery = 100 * time.Millisecond

// maxLine bounds one protocol line; a result holds an exported histogram of
// some 20k counts.
const maxLine = 16 << 20

// WorkerSpec tells a worker what to connect.
type WorkerSpec struct {
	Index int `json:"index"`
	// Transport is "tcp", "ws" or "mixed" (see usesWS).
	Transport  string  `json:"transport"`
	WSFraction float64 `json:"ws_fraction,omitempty"`
	// TCPAddrs and WSAddrs: steady connection g dials Addrs[g % len]; churners
	// dial the first.
	TCPAddrs []string `json:"tcp_addrs,omitempty"`
	WSAddrs  []string `json:"ws_addrs,omitempty"`
	LocalIP  string   `json:"local_ip"`
	// Room is the full base room id, "live://bench"; with Plan.Rooms > 1
	// connection g joins roomName(Room, Rooms, g % Rooms).
	Room string `json:"room"`
	Plan Plan   `json:"plan"`
	// First is the global number of this worker's first steady connection:
	// its steady connection i is g = First+i and authenticates as mid g+1.
	First int `json:"first"`
	// Conns is the number of steady connections.
	Conns int `json:"conns"`
	// KeyPrefix, if set, makes steady connection g authenticate with key
	// KeyPrefix+g (per-user pushes by key).
	KeyPrefix string `json:"key_prefix,omitempty"`
	// Churners close and reconnect, ChurnRate per second in all, as mids
	// ChurnMidBase, ChurnMidBase+1, ...
	Churners     int     `json:"churners,omitempty"`
	ChurnRate    float64 `json:"churn_rate,omitempty"`
	ChurnMidBase int64   `json:"churn_mid_base,omitempty"`
	// DialConcurrency is how many handshakes run at once.
	DialConcurrency int `json:"dial_concurrency"`
	// Heartbeat is the heartbeat period of the steady connections, 0 for none.
	Heartbeat time.Duration `json:"heartbeat"`
	// DialTimeout bounds one connection's dial and auth.
	DialTimeout time.Duration `json:"dial_timeout"`
	// ExpectSeqs sizes each connection's bitset ahead (0: grow on demand).
	ExpectSeqs int64 `json:"expect_seqs"`
}

type command struct {
	Cmd  string      `json:"cmd"`
	Spec *WorkerSpec `json:"spec,omitempty"`
	Sent int64       `json:"sent,omitempty"`
	// StartUnixNano is when the phase began, by the driver's clock; workers
	// bucket deliveries per second from it so that their series line up.
	StartUnixNano int64 `json:"start_unix_nano,omitempty"`
}

// WorkerResult is what one worker saw.
type WorkerResult struct {
	Connected int   `json:"connected"`
	Dropped   int   `json:"dropped"` // steady connections that ended before stop
	Tally     Tally `json:"tally"`
	// FirstDrop says why the first dropped connection ended.
	FirstDrop string `json:"first_drop,omitempty"`
	// Latency holds every steady connection's push latencies; LatencyTCP and
	// LatencyWS split them by transport (mixed transport only).
	Latency    *hdrhistogram.Snapshot `json:"latency"`
	LatencyTCP *hdrhistogram.Snapshot `json:"latency_tcp,omitempty"`
	LatencyWS  *hdrhistogram.Snapshot `json:"latency_ws,omitempty"`
	// Delivered and HeartbeatReplies count per second from the phase start.
	Delivered        []int64         `json:"delivered,omitempty"`
	HeartbeatReplies []int64         `json:"heartbeat_replies,omitempty"`
	Heartbeats       *heartbeatStats `json:"heartbeats,omitempty"`
	Churn            *churnStats     `json:"churn,omitempty"`
}

type workerMsg struct {
	Type       string `json:"type"`
	Connected  int    `json:"connected,omitempty"`
	Failed     int    `json:"failed,omitempty"`
	Retries    int    `json:"retries,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	RetryError string `json:"retry_error,omitempty"`
	Received   int64  `json:"received,omitempty"`
	Unique     int64  `json:"unique,omitempty"`
	Dropped    int    `json:"dropped,omitempty"`
	// Expected is how many deliveries the worker's steady connections must
	// see, known (HasExpected) once the driver said how many were sent.
	Expected    int64         `json:"expected,omitempty"`
	HasExpected bool          `json:"has_expected,omitempty"`
	Result      *WorkerResult `json:"result,omitempty"`
	Error       string        `json:"error,omitempty"`
}

// lineWriter writes JSON lines from several goroutines.
type lineWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newLineWriter(w io.Writer) *lineWriter { return &lineWriter{enc: json.NewEncoder(w)} }

func (w *lineWriter) send(v any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(v) // Encode ends each value with a newline
}

// newLineScanner reads protocol lines of up to maxLine bytes.
func newLineScanner(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), maxLine)
	return s
}

func decodeLine(line []byte, v any) error {
	if err := json.Unmarshal(line, v); err != nil {
		return fmt.Errorf("bench: bad protocol line %q: %w", truncate(line, 120), err)
	}
	return nil
}
