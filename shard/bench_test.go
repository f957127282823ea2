package shard

import (
	"strconv"
	"testing"
)

func BenchmarkGet(b *testing.B) {
	tb := New[*tconn](64, 4)
	const n = 10000
	ks := make([]string, n)
	for i := range ks {
		ks[i] = "user-" + strconv.Itoa(i)
		tb.Put(conn(ks[i], int64(i+1), i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := tb.Get(ks[i%n]); !ok {
				b.Fatal("missing key")
			}
			i += 7
		}
	})
}

// One broadcast to a 10,000-member room, as each of 2 event loops copies its half.
func BenchmarkAppendLane(b *testing.B) {
	const members, lanes = 10000, 2
	tb := New[*tconn](64, lanes)
	var r *Room[*tconn]
	for i := range members {
		r = tb.Join("live://1", conn("user-"+strconv.Itoa(i), int64(i+1), i))
	}
	buf := make([]*tconn, 0, members)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for lane := range lanes {
			buf = tb.AppendLane(r, lane, buf[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/members, "ns/member")
}

func BenchmarkJoinLeave(b *testing.B) {
	tb := New[*tconn](64, 4)
	// A populated room, so Join and Leave work against a realistic map size.
	for i := range 1000 {
		tb.Join("live://1", conn("base-"+strconv.Itoa(i), 0, i))
	}
	cs := make([]*tconn, 1024)
	for i := range cs {
		cs[i] = conn("u-"+strconv.Itoa(i), 0, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := cs[i&1023]
		r := tb.Join("live://1", c)
		tb.Leave(r, c)
		i++
	}
}

func BenchmarkPutRemove(b *testing.B) {
	tb := New[*tconn](64, 4)
	for i := range 10000 {
		tb.Put(conn("base-"+strconv.Itoa(i), int64(i+1), i))
	}
	cs := make([]*tconn, 1024)
	for i := range cs {
		cs[i] = conn("u-"+strconv.Itoa(i), int64(i+1), i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := cs[i&1023]
		tb.Put(c)
		tb.Remove(c)
		i++
	}
}
