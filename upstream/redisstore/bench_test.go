package redisstore

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkAddServersByKeys is the connect-then-push round trip: record a
// route, look it up.
func BenchmarkAddServersByKeys(b *testing.B) {
	s := newStore(b, Config{})
	i := 0
	for b.Loop() {
		key := "k" + strconv.Itoa(i)
		i++
		if err := s.Add(ctx, int64(i), key, "g1"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.ServersByKeys(ctx, []string{key}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkAddServersByKeysParallel is the same from many goroutines, as
// logic serves many gateways' workers at once.
func BenchmarkAddServersByKeysParallel(b *testing.B) {
	s := newStore(b, Config{})
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			key := "k" + strconv.FormatInt(n, 10)
			if err := s.Add(ctx, n, key, "g1"); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ServersByKeys(ctx, []string{key}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkServersByKeys1000 looks up 1,000 keys in one call (a key push to a
// big list), one pipeline.
func BenchmarkServersByKeys1000(b *testing.B) {
	s := newStore(b, Config{})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
		if err := s.Add(ctx, int64(i+1), keys[i], "g"+strconv.Itoa(i%4)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := s.ServersByKeys(ctx, keys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkNextRoomSeq(b *testing.B) {
	s := newStore(b, Config{})
	for b.Loop() {
		if _, err := s.NextRoomSeq(ctx, "live://1000"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkNextRoomSeqParallel(b *testing.B) {
	s := newStore(b, Config{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.NextRoomSeq(ctx, "live://1000"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
