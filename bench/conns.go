package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
)

// dialAttempts is how often a worker tries one connection of the connect
// phase before counting it failed: under a connect storm a handshake can time
// out and succeed on retry. (Churn reconnects get one attempt: a failure
// there is what churn measures.)
const dialAttempts = 3

// benchConn is one steady client connection and what it received.
type benchConn struct {
	idx    int // in the worker
	w      *worker
	ws     bool
	stride int64 // it must receive the seqs s with s % stride == offset
	offset int64
	c      *client.Conn // nil when dialing failed
	t      seqTracker   // owned by c's reader goroutine until c is done
	hbBusy atomic.Bool  // a heartbeat is in flight
}

func (bc *benchConn) onPush(p codec.Packet) {
	if p.Op != PushOp {
		return
	}
	now := time.Now().UnixNano()
	seq, ts, ok := ParseBody(p.Body)
	if !ok {
		bc.t.addBad()
		return
	}
	local, mine := localSeq(seq, bc.stride, bc.offset)
	if !mine {
		bc.t.addBad() // meant for another room or user: a routing bug
		return
	}
	w := bc.w
	if bc.t.add(local) {
		w.unique.Add(1)
	}
	w.received.Add(1)
	us := (now - ts) / int64(time.Microsecond)
	if bc.ws && w.histWS != nil {
		w.histWS.record(bc.idx, us) // mixed: merged with hist at finish
	} else {
		w.hist.record(bc.idx, us)
	}
}

func (bc *benchConn) onClose(err error) {
	w := bc.w
	if w.stopping.Load() {
		return
	}
	w.dropped.Add(1)
	w.mu.Lock()
	if w.firstDrop == "" {
		w.firstDrop = fmt.Sprintf("connection %d: %v", bc.idx, err)
	}
	w.mu.Unlock()
}

type connectStats struct {
	connected, failed, retries int
	firstErr                   string // why the first connection failed for good
	retryErr                   string // why the first retried attempt failed
}

// connectAll dials every steady connection and then every churner,
// DialConcurrency at a time.
func (w *worker) connectAll(ctx context.Context) connectStats {
	var nOK, nFail, nRetry atomic.Int64
	var mu sync.Mutex
	var st connectStats
	note := func(dst *string, err error) {
		mu.Lock()
		if *dst == "" {
			*dst = err.Error()
		}
		mu.Unlock()
	}
	total := w.spec.Conns + w.spec.Churners
	idx := make(chan int)
	var wg sync.WaitGroup
	for range max(w.spec.DialConcurrency, 1) {
		wg.Go(func() {
			for i := range idx {
				var retries int
				var retryErr, err error
				if i < w.spec.Conns {
					retries, retryErr, err = w.dialSteady(ctx, i)
				} else {
					retries, retryErr, err = w.churn.connect(ctx, i-w.spec.Conns)
				}
				if retries > 0 {
					nRetry.Add(int64(retries))
					note(&st.retryErr, retryErr)
				}
				if err != nil {
					nFail.Add(1)
					note(&st.firstErr, err)
					continue
				}
				nOK.Add(1)
			}
		})
	}
	for i := range total {
		if ctx.Err() != nil {
			nFail.Add(int64(total - i))
			break
		}
		idx <- i
	}
	close(idx)
	wg.Wait()
	st.connected, st.failed, st.retries = int(nOK.Load()), int(nFail.Load()), int(nRetry.Load())
	return st
}

// dialSteady connects steady connection i.
func (w *worker) dialSteady(ctx context.Context, i int) (retries int, retryErr, err error) {
	g := w.spec.First + i
	bc := &benchConn{idx: i, w: w, ws: usesWS(w.spec.Transport, w.spec.WSFraction, g)}
	bc.stride, bc.offset = w.spec.Plan.slot(g)
	if w.spec.ExpectSeqs > 0 {
		bc.t.expect(countResidue(w.spec.ExpectSeqs, bc.stride, bc.offset))
	}
	opts := w.clientOptions(bc.ws, g, int64(g)+1)
	if w.spec.KeyPrefix != "" {
		opts.Auth.Key = w.spec.KeyPrefix + strconv.Itoa(g)
	}
	opts.OnPush, opts.OnClose = bc.onPush, bc.onClose
	opts.Auth.RoomID = roomName(w.spec.Room, w.spec.Plan.Rooms, g%max(w.spec.Plan.Rooms, 1))
	c, retries, retryErr, err := dialRetrying(ctx, opts, dialAttempts)
	bc.c = c
	w.conns[i] = bc
	return retries, retryErr, err
}

// clientOptions are the dial options of connection g (mid mid) on the chosen
// transport; the caller adds callbacks, room and key.
func (w *worker) clientOptions(ws bool, g int, mid int64) client.Options {
	tr, addrs := client.TCP, w.spec.TCPAddrs
	if ws {
		tr, addrs = client.WebSocket, w.spec.WSAddrs
	}
	return client.Options{
		Transport:   tr,
		Addr:        addrs[w.addrIndex(g)%len(addrs)],
		LocalIP:     w.spec.LocalIP,
		Auth:        codec.AuthBody{Mid: mid, RoomID: w.spec.Room, Accepts: []int32{PushOp}},
		DialTimeout: w.spec.DialTimeout,
	}
}

// addrIndex spreads connections over the gateways of a running stack: the
// k-th connection of its transport goes to address k % len, except that with
// several rooms, where room r holds k = r, r+M, r+2M, ..., k/M is used
// instead, so that every room spans the gateways instead of each sitting on
// one (k % len would be the same for all members of a room when len divides M).
func (w *worker) addrIndex(g int) int {
	k := transportIndex(w.spec.Transport, w.spec.WSFraction, g)
	if rooms := w.spec.Plan.Rooms; w.spec.Plan.Kind == PlanRoom && rooms > 1 {
		return k / rooms
	}
	return k
}

// dialRetrying connects, trying up to attempts times. It returns how many
// attempts failed before the last, the first such failure, and the last error.
func dialRetrying(ctx context.Context, opts client.Options, attempts int) (c *client.Conn, retries int, retryErr, err error) {
	for attempt := range attempts {
		if attempt > 0 {
			retries++
			if retryErr == nil {
				retryErr = err
			}
			select {
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			case <-ctx.Done():
				return nil, retries, retryErr, ctx.Err()
			}
		}
		if c, err = client.Dial(ctx, opts); err == nil {
			return c, retries, retryErr, nil
		}
	}
	return nil, retries, retryErr, err
}
