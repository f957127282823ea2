package job

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/kafkabus"
)

// Run the job measurements quoted in docs/KAFKA.md with:
//
//	go test -run '^$' -bench . -benchtime 1x ./upstream/job/

// BenchmarkEndToEnd pushes 1,000 room pushes at 1,000/s (open loop: each push
// starts on its schedule in its own goroutine) through the producer, kfake,
// job and two fake gateways, and reports the latency from the push call to the
// gateway call, as p50/p99/max in microseconds. It is the latency the Kafka
// path adds on top of the gateway itself.
func BenchmarkEndToEnd(b *testing.B) {
	for _, bt := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("batch=%s", bt), func(b *testing.B) {
			for range b.N {
				endToEnd(b, bt)
			}
		})
	}
}

func endToEnd(b *testing.B, batch time.Duration) {
	c := newCluster(b, 3, "gw-a", "gw-b")
	p, err := kafkabus.NewProducer(kafkabus.Config{Brokers: []string{c.kafka.Addr}, Topic: c.topic, BatchTimeout: batch})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	const n, rate = 1000, 1000
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 2*n)
	for _, g := range c.gws {
		g.setHook(func(_ context.Context, cl call) error {
			sent := int64(binary.BigEndian.Uint64([]byte(cl.body)))
			mu.Lock()
			lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
			mu.Unlock()
			return nil
		})
	}
	r := c.start(c.config())
	// Warm up: the group joins and every connection is open before measuring.
	ctx := context.Background()
	warm := make([]byte, 8)
	binary.BigEndian.PutUint64(warm, uint64(time.Now().UnixNano()))
	for i := range 12 {
		if err := p.BroadcastRoom(ctx, fmt.Sprintf("live://%d", i), 1000, 0, warm); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, 20*time.Second, "warm-up pushes", func() bool { return r.job.Stats().DeliveredRoom == 24 })
	mu.Lock()
	lat = lat[:0]
	mu.Unlock()

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / rate)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := make([]byte, 8, 100)
			binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
			body = body[:100]
			if err := p.BroadcastRoom(ctx, fmt.Sprintf("live://%d", i%12), 1000, int64(i), body); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	waitFor(b, 20*time.Second, "every push at both gateways", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lat) == 2*n
	})
	b.StopTimer()
	mu.Lock()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-us")
	mu.Unlock()
}

// BenchmarkJobThroughput measures how many room pushes/s one job delivers to
// two gateways that accept instantly: the topic is filled first, then the
// clock runs from the job's start until everything is delivered.
func BenchmarkJobThroughput(b *testing.B) {
	for range b.N {
		const n = 100_000
		c := newCluster(b, 3, "gw-a", "gw-b")
		body := make([]byte, 100)
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 64 {
					if err := c.prod.BroadcastRoom(ctx, fmt.Sprintf("live://%d", i%1000), 1000, int64(i), body); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ResetTimer()
		start := time.Now()
		r := c.start(c.config())
		waitFor(b, 60*time.Second, "every push delivered", func() bool { return r.job.Stats().DeliveredRoom == 2*n })
		el := time.Since(start)
		b.StopTimer()
		b.ReportMetric(n/el.Seconds(), "pushes/s")
		b.ReportMetric(2*n/el.Seconds(), "calls/s")
		r.stop(b)
	}
}
