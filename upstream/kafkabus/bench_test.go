package kafkabus

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/kafkabus/kafkatest"
)

// Run the producer measurements quoted in docs/KAFKA.md with:
//
//	go test -run '^$' -bench 'Producer' -benchtime 3s ./upstream/kafkabus/

// BenchmarkProducerThroughput measures room pushes/s accepted (acknowledged by
// kfake over loopback TCP) with concurrent synchronous callers spread over
// 1000 rooms. Little's law sets the ceiling: callers / (BatchTimeout + produce
// round trip), so it is reported for several batch timeouts, partition counts
// and caller counts.
func BenchmarkProducerThroughput(b *testing.B) {
	type run struct {
		callers int
		parts   int32
		batch   time.Duration
	}
	runs := []run{
		{64, 1, time.Millisecond}, {64, 3, time.Millisecond}, {64, 12, time.Millisecond},
		{64, 3, 500 * time.Microsecond}, {64, 3, 2 * time.Millisecond}, {64, 3, 5 * time.Millisecond},
		{256, 3, time.Millisecond}, {256, 3, 2 * time.Millisecond}, {256, 12, time.Millisecond},
	}
	rooms := make([]string, 1000)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("live://%d", i)
	}
	for _, r := range runs {
		b.Run(fmt.Sprintf("callers=%d/parts=%d/batch=%s", r.callers, r.parts, r.batch), func(b *testing.B) {
			p := benchProducer(b, r.parts, r.batch)
			body := make([]byte, 100)
			var n atomic.Int64
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((r.callers + procs - 1) / procs)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					i := n.Add(1)
					if err := p.BroadcastRoom(ctx, rooms[i%int64(len(rooms))], 1000, i, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
			el := time.Since(start)
			b.StopTimer()
			s := p.Stats()
			b.ReportMetric(float64(b.N)/el.Seconds(), "pushes/s")
			b.ReportMetric(float64(s.BatchSizeAvg), "batch-avg")
			b.ReportMetric(float64(s.BatchSizeMax), "batch-max")
			b.ReportMetric(float64(s.WriteTimeAvg.Microseconds()), "produce-us")
		})
	}
}

// BenchmarkProducerLatency measures what one synchronous push costs its caller
// when nobody else is pushing: one caller, one push at a time, so every push
// waits out the batch timeout. p50/p99 are reported in microseconds.
func BenchmarkProducerLatency(b *testing.B) {
	for _, bt := range []time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("batch=%s", bt), func(b *testing.B) {
			p := benchProducer(b, 3, bt)
			body := make([]byte, 100)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := p.BroadcastRoom(ctx, "live://1", 1000, int64(i), body); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
		})
	}
}

// benchProducer starts kfake with a "bench" topic and a producer on it, warmed
// up (metadata fetched, connection open) so the first measured push does not
// pay for the dial.
func benchProducer(b *testing.B, parts int32, batch time.Duration) *Producer {
	br := kafkatest.Start(b, "bench", parts)
	p, err := NewProducer(Config{Brokers: []string{br.Addr}, Topic: "bench", BatchTimeout: batch})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	for i := range parts * 4 { // touch every partition
		if err := p.BroadcastRoom(context.Background(), fmt.Sprintf("live://w%d", i), 1000, 1, nil); err != nil {
			b.Fatal(err)
		}
	}
	p.Stats() // reset the counters
	return p
}
