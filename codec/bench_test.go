package codec_test

import (
	"runtime"
	"testing"

	"github.com/barrage/barrage/codec"
)

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name string
		body int
	}{{"heartbeat", 0}, {"body100", 100}, {"body4096", 4096}} {
		pkt := packet(codec.OpSendMsg, 1, make([]byte, bc.body))
		b.Run(bc.name, func(b *testing.B) {
			// No SetBytes: Decode reads the header only, whatever the body size.
			b.ReportAllocs()
			for b.Loop() {
				if _, n, err := codec.Decode(pkt, 0); n != len(pkt) || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	body := make([]byte, 100)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(codec.HeaderLen + len(body)))
	for b.Loop() {
		buf = codec.AppendPacket(buf[:0], codec.DefaultVer, 1000, 0, body)
	}
}

func BenchmarkAppendHeartbeatReply(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = codec.AppendHeartbeatReply(buf[:0], codec.DefaultVer, 2, 12345)
	}
}

const (
	batchMessages = 20
	batchBody     = 100
)

// BenchmarkBatchWriter measures what the batcher pays per room batch: one op is a
// whole 20-message batch (Reset, 20 Adds, Seal), so allocs/op is per batch.
func BenchmarkBatchWriter(b *testing.B) {
	body := make([]byte, batchBody)
	var w codec.BatchWriter
	b.ReportAllocs()
	b.SetBytes(batchMessages * (codec.HeaderLen + batchBody))
	for b.Loop() {
		w.Reset(batchMessages * (codec.HeaderLen + batchBody))
		for range batchMessages {
			w.Add(codec.DefaultVer, 1000, 0, body)
		}
		if f := w.Seal(); f.Count != batchMessages {
			b.Fatal(f.Count)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchMessages), "ns/msg")
}

// BenchmarkBatchWriterPerMessage is the same work counted per message: one op is
// one Add, with a Reset and Seal every 20. allocs/op rounds down, so the exact
// figure is reported as allocs/msg.
func BenchmarkBatchWriterPerMessage(b *testing.B) {
	body := make([]byte, batchBody)
	var w codec.BatchWriter
	var before, after runtime.MemStats
	b.ReportAllocs()
	b.SetBytes(codec.HeaderLen + batchBody)
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range b.N {
		if i%batchMessages == 0 {
			w.Reset(batchMessages * (codec.HeaderLen + batchBody))
		}
		w.Add(codec.DefaultVer, 1000, 0, body)
		if i%batchMessages == batchMessages-1 {
			_ = w.Seal()
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/msg")
}

func BenchmarkDecodeWSFrameUnmask(b *testing.B) {
	pkt := packet(codec.OpSendMsg, 1, make([]byte, 100))
	frame := codec.AppendWSClientFrame(nil, codec.WSOpBinary, pkt, testMask)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		f, err := codec.DecodeWSFrame(frame, 1<<16, true)
		if err != nil || f.Total != len(frame) {
			b.Fatal(f, err)
		}
		// Unmasking in place flips the payload back and forth; the cost is the same.
		codec.Unmask(frame[f.PayloadStart:f.Total], f.Mask)
	}
}

func BenchmarkForEachOp(b *testing.B) {
	body := []byte("1000,1001,1002,1003")
	var sum int32
	b.ReportAllocs()
	for b.Loop() {
		if err := codec.ForEachOp(body, func(op int32) { sum += op }); err != nil {
			b.Fatal(err)
		}
	}
	_ = sum
}

func BenchmarkSinglePacketFrame(b *testing.B) {
	body := make([]byte, batchBody)
	b.ReportAllocs()
	for b.Loop() {
		_ = codec.SinglePacketFrame(codec.DefaultVer, 1000, 0, body)
	}
}
