package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// pushTimeout bounds one HTTP push request.
const pushTimeout = 5 * time.Second

// pusher sends the numbered messages through the goim HTTP push API: into
// rooms (round-robin when there are several) or to groups of users by mid or
// key, as the Plan says. With several HTTP addresses (the reuseport target,
// or several logic processes) each message goes to all of them.
type pusher struct {
	client    *http.Client
	bases     []string // "http://host:port"
	plan      Plan
	room      string // base room name, without "live://"
	pushTo    string // "room", "mids" or "keys"
	keyPrefix string
	pad       int
}

func newPusher(httpAddrs []string, sc Scenario, keyPrefix string) *pusher {
	p := &pusher{
		client:    &http.Client{Timeout: pushTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2}},
		plan:      sc.Plan(),
		room:      sc.Room,
		pushTo:    "room",
		keyPrefix: keyPrefix,
		pad:       sc.MsgSize,
	}
	if p.plan.Kind == PlanUser {
		p.pushTo = sc.PushTo
	}
	for _, a := range httpAddrs {
		p.bases = append(p.bases, "http://"+a)
	}
	return p
}

// path is the request path and query of push seq.
func (p *pusher) path(seq int64) string {
	op := strconv.Itoa(int(PushOp))
	if p.pushTo == "room" {
		room := roomName(p.room, p.plan.Rooms, p.plan.RoomOf(seq))
		return "/goim/push/room?operation=" + op + "&type=live&room=" + url.QueryEscape(room)
	}
	lo, hi := p.plan.UsersOf(seq)
	b := make([]byte, 0, 32+(hi-lo)*16)
	b = append(b, "/goim/push/"+p.pushTo+"?operation="+op...)
	for g := lo; g < hi; g++ {
		if p.pushTo == "mids" {
			b = append(b, "&mids="...)
			b = strconv.AppendInt(b, int64(g)+1, 10) // steady connection g is mid g+1
		} else {
			b = append(b, "&keys="...)
			b = append(b, url.QueryEscape(p.keyPrefix)...)
			b = strconv.AppendInt(b, int64(g), 10)
		}
	}
	return string(b)
}

type pushResult struct {
	sent     int64 // seqs 0..sent-1 were pushed (some may have failed)
	errors   int64
	firstErr string
	elapsed  time.Duration
}

// run pushes n messages paced at rate per second: message i goes out at
// start + i/rate, or at once when the loop is behind. One message at a time,
// in seq order, keeps the pacing honest and the order per room defined. It
// gives up pacing after maxWall (a gateway so slow that pushes back up) and
// reports what it sent.
func (p *pusher) run(ctx context.Context, rate float64, n int64, maxWall time.Duration) pushResult {
	var res pushResult
	buf := make([]byte, 0, 64+p.pad)
	start := time.Now()
	for seq := int64(0); seq < n; seq++ {
		due := start.Add(time.Duration(float64(seq) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				res.elapsed = time.Since(start)
				return res
			}
		}
		if ctx.Err() != nil || time.Since(start) > maxWall {
			break
		}
		buf = AppendBody(buf[:0], seq, time.Now().UnixNano(), p.pad)
		res.sent++
		if err := p.pushAll(ctx, p.path(seq), buf); err != nil {
			res.errors++
			if res.firstErr == "" {
				res.firstErr = fmt.Sprintf("seq %d: %v", seq, err)
			}
		}
	}
	res.elapsed = time.Since(start)
	return res
}

// pushAll posts one message to every base address at once and waits for all.
func (p *pusher) pushAll(ctx context.Context, path string, body []byte) error {
	if len(p.bases) == 1 {
		return p.push(ctx, p.bases[0]+path, body)
	}
	errs := make([]error, len(p.bases))
	var wg sync.WaitGroup
	for i, base := range p.bases {
		wg.Go(func() { errs[i] = p.push(ctx, base+path, body) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", p.bases[i], err)
		}
	}
	return nil
}

// push posts one message and checks goim's reply: status 200 and code 0.
func (p *pusher) push(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(reply, []byte(`"code":0`)) {
		return fmt.Errorf("push refused: %s %s", resp.Status, truncate(reply, 200))
	}
	return nil
}
