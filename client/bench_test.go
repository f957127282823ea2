package client

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/barrage/barrage/codec"
)

// BenchmarkReceivePushes measures the client's cost per pushed packet, in
// batches of 20 as the gateway sends them. The receive path should not allocate.
func BenchmarkReceivePushes(b *testing.B) {
	const perBatch = 20
	body := []byte(`{"room":"live://1000","seq":123456,"ts":1700000000000,"text":"hello there"}`)
	pkts := make([]codec.Packet, perBatch)
	for i := range pkts {
		pkts[i] = codec.Packet{Op: 1000, Body: body}
	}
	for _, tr := range transports {
		b.Run(string(tr), func(b *testing.B) {
			s := newFakeServer(b, tr, authReply)
			var got atomic.Int64
			done := make(chan struct{})
			var want int64
			o := Options{Transport: tr, Addr: s.addr(), Auth: testAuth, OnPush: func(codec.Packet) {
				if got.Add(1) == want {
					close(done)
				}
			}}
			batches := (b.N + perBatch - 1) / perBatch
			want = int64(batches * perBatch)
			c, err := Dial(context.Background(), o)
			if err != nil {
				b.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			fc := <-s.conns
			f := batch(pkts...)
			wire := f.Bytes(tr == WebSocket)
			b.SetBytes(int64(len(wire) / perBatch))
			b.ReportAllocs()
			b.ResetTimer()
			for range batches {
				fc.writeRaw(wire)
			}
			<-done
		})
	}
}
