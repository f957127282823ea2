package gateway

import (
	"io"
	"log/slog"
	"testing"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/codec"
)

// discardConn is a gnet.Conn whose writes succeed at once, so the benchmarks
// measure Barrage's delivery path and not the kernel.
type discardConn struct {
	gnet.Conn
	writes, bytes int
}

func (c *discardConn) Write(b []byte) (int, error) {
	c.writes++
	c.bytes += len(b)
	return len(b), nil
}

func (c *discardConn) Writev(bs [][]byte) (int, error) {
	c.writes++
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	c.bytes += n
	return n, nil
}

func (c *discardConn) OutboundBuffered() int { return 0 }

// benchLoop builds a server with one loop holding n open sessions in room id.
func benchLoop(b testing.TB, n int, room string) (*Server, *loop, []*discardConn) {
	b.Helper()
	srv, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WSAddr: "-", EventLoops: 1}, &fakeLogic{})
	if err != nil {
		b.Fatal(err)
	}
	l := newLoop(srv, 0, nil, 0)
	conns := make([]*discardConn, n)
	for i := range conns {
		conns[i] = &discardConn{}
		s := &session{c: conns[i], loop: l, state: stateOpen, key: string(rune(i)), mid: int64(i + 1), wheelSlot: -1, accepts: []int32{1000}}
		srv.table.Put(s)
		s.rooms = append(s.rooms, srv.table.Join(room, s))
		l.addSession(s)
	}
	return srv, l, conns
}

// BenchmarkRoomDelivery is the per-member cost of delivering one sealed room
// frame: copy the lane's members, queue the shared frame, write once each.
func BenchmarkRoomDelivery(b *testing.B) {
	const members = 10000
	srv, l, _ := benchLoop(b, members, "live://bench")
	var w codec.BatchWriter
	w.Reset(0)
	for i := 0; i < 20; i++ {
		w.Add(1, 1000, 0, make([]byte, 100))
	}
	frame := w.Seal()
	it := item{kind: itemRoom, frame: &frame, room: srv.table.Room("live://bench")}
	l.run(&it) // warm the scratch and dirty slices
	l.flush()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run(&it)
		l.flush()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/member")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members*frame.Count), "ns/delivery")
}

// BenchmarkCoalescedDelivery queues three frames to every member in one drain:
// each member still gets one writev.
func BenchmarkCoalescedDelivery(b *testing.B) {
	const members = 10000
	srv, l, conns := benchLoop(b, members, "live://bench")
	frame := codec.SinglePacketFrame(1, 1000, 0, make([]byte, 100))
	room := item{kind: itemRoom, frame: &frame, room: srv.table.Room("live://bench")}
	all := item{kind: itemBroadcast, op: 1000, frame: &frame}
	l.run(&room)
	l.run(&all)
	l.flush()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.run(&room)
		l.run(&room)
		l.run(&all)
		l.flush()
	}
	b.StopTimer()
	if w := conns[0].writes; w != b.N+1 {
		b.Fatalf("member saw %d writes for %d drains", w, b.N+1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members), "ns/member")
}

// BenchmarkBatcherAdd is the cost of queueing one room message, including its
// share of sealing a 20-message batch.
func BenchmarkBatcherAdd(b *testing.B) {
	srv, _, _ := benchLoop(b, 0, "live://none")
	srv.cfg.BatchFixed = true
	srv.cfg.BatchMaxMessages = 20
	srv.cfg.BatchWindow = 1 << 40
	body := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = srv.batches.add("live://none", 1000, 0, body)
	}
}

func TestRoomDeliveryAllocatesNothingPerMember(t *testing.T) {
	srv, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WSAddr: "-", EventLoops: 1}, &fakeLogic{})
	if err != nil {
		t.Fatal(err)
	}
	l := newLoop(srv, 0, nil, 0)
	for i := 0; i < 1000; i++ {
		s := &session{c: &discardConn{}, loop: l, state: stateOpen, key: string(rune(i)), wheelSlot: -1, ws: i%2 == 0}
		srv.table.Put(s)
		s.rooms = append(s.rooms, srv.table.Join("r", s))
		l.addSession(s)
	}
	frame := codec.SinglePacketFrame(1, 1000, 0, []byte("x"))
	it := item{kind: itemRoom, frame: &frame, room: srv.table.Room("r")}
	l.run(&it)
	l.flush()
	allocs := testing.AllocsPerRun(20, func() {
		l.run(&it)
		l.flush()
	})
	// The prometheus counter may allocate nothing; anything per member would show as >= 1000.
	if allocs > 2 {
		t.Fatalf("delivering one frame to 1000 members allocated %.0f times", allocs)
	}
}

// inboundConn replays the same client bytes on every Peek.
type inboundConn struct {
	discardConn
	in []byte
}

func (c *inboundConn) Peek(int) ([]byte, error)   { return c.in, nil }
func (c *inboundConn) Discard(n int) (int, error) { return n, nil }
func (c *inboundConn) InboundBuffered() int       { return len(c.in) }

// BenchmarkInboundHeartbeats decodes 64 pipelined heartbeats and encodes their
// replies into one write: the per-packet cost of the read path.
func BenchmarkInboundHeartbeats(b *testing.B) {
	srv, l, _ := benchLoop(b, 0, "live://none")
	var in []byte
	for i := 0; i < 64; i++ {
		in = codec.AppendPacket(in, 1, codec.OpHeartbeat, int32(i), nil)
	}
	c := &inboundConn{in: in}
	s := &session{c: c, loop: l, state: stateOpen, key: "k", wheelSlot: -1, heartbeat: 100}
	s.rooms = append(s.rooms, srv.table.Join("live://1", s))
	srv.readInbound(s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srv.readInbound(s)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/packet")
}

func TestInboundPathAllocatesNothing(t *testing.T) {
	srv, l, _ := benchLoop(t, 0, "live://none")
	var in []byte
	for i := 0; i < 8; i++ {
		in = codec.AppendPacket(in, 1, codec.OpHeartbeat, int32(i), nil)
		in = codec.AppendPacket(in, 1, codec.OpSub, int32(i), []byte("1000,1001"))
	}
	s := &session{c: &inboundConn{in: in}, loop: l, state: stateOpen, key: "k", wheelSlot: -1, heartbeat: 100}
	s.rooms = append(s.rooms, srv.table.Join("live://1", s))
	srv.readInbound(s)
	if a := testing.AllocsPerRun(50, func() { srv.readInbound(s) }); a != 0 {
		t.Fatalf("decoding and answering 16 packets allocated %.1f times", a)
	}
}
