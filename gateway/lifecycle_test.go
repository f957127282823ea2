package gateway

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/barrage/barrage/codec"
)

func TestHandshakeTimeout(t *testing.T) {
	g := startGateway(t, func(c *Config) {
		c.HandshakeTimeout = 300 * time.Millisecond
		c.TickInterval = 50 * time.Millisecond
	}, nil)
	for _, addr := range []string{g.tcp, g.ws} {
		c := dialRaw(t, addr)
		start := time.Now()
		if b := c.expectClosed(3 * time.Second); len(b) != 0 {
			t.Fatalf("unexpected bytes %x", b)
		}
		if el := time.Since(start); el < 250*time.Millisecond || el > 1500*time.Millisecond {
			t.Fatalf("closed after %v, want ~300ms", el)
		}
	}
}

func TestHeartbeatTimeoutAndKeepAlive(t *testing.T) {
	g := startGateway(t, func(c *Config) {
		c.HeartbeatTimeout = 400 * time.Millisecond
		c.TickInterval = 50 * time.Millisecond
	}, nil)
	silent := dialRaw(t, g.tcp)
	silent.auth(1, "silent", "live://1")
	alive := dialRaw(t, g.tcp)
	alive.auth(2, "alive", "live://1")
	stop := time.Now().Add(1200 * time.Millisecond)
	for seq := int32(1); time.Now().Before(stop); seq++ {
		alive.send(codec.AppendPacket(nil, 1, codec.OpHeartbeat, seq, nil))
		if p := alive.packet(3 * time.Second); p.Op != codec.OpHeartbeatReply {
			t.Fatalf("op %d", p.Op)
		}
		time.Sleep(150 * time.Millisecond)
	}
	silent.expectClosed(time.Second)
	waitFor(t, time.Second, "silent conn unregistered", func() bool { return g.Stats().Conns == 1 })
}

func TestPipelinedPacketsAfterAuthAreServed(t *testing.T) {
	// goim drops a connection that pipelines 8 packets; we answer all of them.
	g := startGateway(t, nil, &fakeLogic{delay: 50 * time.Millisecond})
	for _, n := range []int{1, 8, 16, 64} {
		c := dialRaw(t, g.tcp)
		buf := codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(1, "", "live://p"))
		for i := 0; i < n; i++ {
			buf = codec.AppendPacket(buf, 1, codec.OpHeartbeat, int32(10+i), nil)
		}
		c.send(buf)
		if p := c.packet(3 * time.Second); p.Op != codec.OpAuthReply || p.Seq != 1 {
			t.Fatalf("auth reply op %d seq %d", p.Op, p.Seq)
		}
		for i := 0; i < n; i++ {
			if p := c.packet(3 * time.Second); p.Op != codec.OpHeartbeatReply || p.Seq != int32(10+i) {
				t.Fatalf("n=%d reply %d: op %d seq %d", n, i, p.Op, p.Seq)
			}
		}
		c.expectSilent(100 * time.Millisecond)
	}
}

func TestRoomsSubscriptionsAndPushKinds(t *testing.T) {
	g := startGateway(t, nil, nil)
	a := dialRaw(t, g.tcp)
	a.auth(7, "a", "live://1000", 1000)
	b := dialRaw(t, g.tcp)
	b.auth(7, "b", "live://2000", 1000)

	// Heartbeat counts follow op 12.
	hb := func(c *rawConn, seq int32) int32 {
		c.send(codec.AppendPacket(nil, 1, codec.OpHeartbeat, seq, nil))
		p := c.packet(3 * time.Second)
		n, err := codec.HeartbeatOnline(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := hb(a, 1); n != 1 {
		t.Fatalf("online %d", n)
	}
	b.send(codec.AppendPacket(nil, 1, codec.OpChangeRoom, 2, []byte("live://1000")))
	if p := b.packet(3 * time.Second); p.Op != codec.OpChangeRoomReply || string(p.Body) != "live://1000" {
		t.Fatalf("change room reply %d %q", p.Op, p.Body)
	}
	if n := hb(a, 3); n != 2 {
		t.Fatalf("online after change room %d", n)
	}

	// Mid push reaches both connections of mid 7.
	_ = g.PushMids(1000, []int64{7}, []byte("mid"))
	for _, c := range []*rawConn{a, b} {
		if p := c.packet(3 * time.Second); p.Op != 1000 || string(p.Body) != "mid" {
			t.Fatalf("mid push %d %q", p.Op, p.Body)
		}
	}
	// Key and broadcast pushes are filtered by accepts; op 14 adds 1001 to a only.
	a.send(codec.AppendPacket(nil, 1, codec.OpSub, 4, []byte("1001")))
	if p := a.packet(3 * time.Second); p.Op != codec.OpSubReply || string(p.Body) != "1001" {
		t.Fatalf("sub reply %d %q", p.Op, p.Body)
	}
	_ = g.Broadcast(1001, []byte("all"), 0)
	if p := a.packet(3 * time.Second); p.Op != 1001 || string(p.Body) != "all" {
		t.Fatalf("broadcast %d %q", p.Op, p.Body)
	}
	b.expectSilent(150 * time.Millisecond)
	_ = g.PushKeys(1005, []string{"a"}, []byte("not accepted"))
	a.expectSilent(150 * time.Millisecond)
	// Room pushes are not filtered (goim semantics).
	_ = g.BroadcastRoom("live://1000", 1005, 0, []byte("room"))
	for _, c := range []*rawConn{a, b} {
		if p := c.packet(3 * time.Second); p.Op != 1005 || string(p.Body) != "room" {
			t.Fatalf("room push %d %q", p.Op, p.Body)
		}
	}
	// Unsub removes it again.
	a.send(codec.AppendPacket(nil, 1, codec.OpUnsub, 5, []byte("1001")))
	if p := a.packet(3 * time.Second); p.Op != codec.OpUnsubReply {
		t.Fatalf("unsub reply %d", p.Op)
	}
	_ = g.Broadcast(1001, []byte("all"), 0)
	a.expectSilent(150 * time.Millisecond)

	// Extension: join a second room, receive from both, leave it.
	a.send(codec.AppendPacket(nil, 1, codec.OpJoinRoom, 6, []byte("live://3000")))
	if p := a.packet(3 * time.Second); p.Op != codec.OpJoinRoomReply || string(p.Body) != "live://3000" {
		t.Fatalf("join reply %d %q", p.Op, p.Body)
	}
	_ = g.BroadcastRoom("live://3000", 1000, 0, []byte("r3"))
	if p := a.packet(3 * time.Second); string(p.Body) != "r3" {
		t.Fatalf("got %q", p.Body)
	}
	if n := hb(a, 7); n != 2 {
		t.Fatalf("primary room count %d", n)
	}
	a.send(codec.AppendPacket(nil, 1, codec.OpLeaveRoom, 8, []byte("live://3000")))
	if p := a.packet(3 * time.Second); p.Op != codec.OpLeaveRoomReply {
		t.Fatalf("leave reply %d", p.Op)
	}
	_ = g.BroadcastRoom("live://3000", 1000, 0, []byte("r3"))
	a.expectSilent(150 * time.Millisecond)
	// op 12 with an empty body leaves every room.
	a.send(codec.AppendPacket(nil, 1, codec.OpChangeRoom, 9, nil))
	a.packet(3 * time.Second)
	if n := hb(b, 10); n != 1 {
		t.Fatalf("count after leave %d", n)
	}
}

func TestDuplicateKeyClosesOlder(t *testing.T) {
	g := startGateway(t, nil, nil)
	first := dialRaw(t, g.tcp)
	first.auth(123, "k123", "live://1000")
	second := dialRaw(t, g.tcp)
	second.auth(123, "k123", "live://1000")
	first.expectClosed(2 * time.Second)
	second.send(unhex(t, "00000010001000010000000200000002"))
	if got, want := second.readN(20, 3*time.Second), unhex(t, "0000001400100001000000030000000200000001"); !bytes.Equal(got, want) {
		t.Fatalf("heartbeat %x want %x", got, want)
	}
}

func TestAuthRejected(t *testing.T) {
	g := startGateway(t, nil, &fakeLogic{reject: "bad"})
	c := dialRaw(t, g.tcp)
	c.send(codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(1, "bad", "")))
	if b := c.expectClosed(2 * time.Second); len(b) != 0 {
		t.Fatalf("got %x", b)
	}
}

// A client that stops reading is closed once its backlog passes the limit,
// while the rest of its room keeps receiving without added delay.
func TestSlowConsumerIsClosedOthersKeepReceiving(t *testing.T) {
	g := startGateway(t, func(c *Config) { c.MaxPendingBytes = 256 << 10 }, nil)
	slow := dialRaw(t, g.tcp)
	slow.auth(1, "slow", "live://hot")
	_ = slow.Conn.(*net.TCPConn).SetReadBuffer(4096)
	fast := dialRaw(t, g.tcp)
	fast.auth(2, "fast", "live://hot")

	body := bytes.Repeat([]byte("x"), 4000)
	var got atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64<<10)
		for {
			_ = fast.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := fast.Read(buf)
			got.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	// 12 MB: more than the loopback socket buffers can absorb for the slow client.
	const msgs = 3000
	for i := 0; i < msgs; i++ {
		_ = g.BroadcastRoom("live://hot", 1000, 0, body)
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	want := int64(msgs * (len(body) + codec.HeaderLen))
	waitFor(t, 10*time.Second, "fast reader got everything", func() bool { return got.Load() >= want })
	waitFor(t, 5*time.Second, "slow consumer counted", func() bool {
		return testutil.ToFloat64(g.metrics.closes.WithLabelValues(reasonSlowConsumer)) == 1
	})
	slow.expectClosed(5 * time.Second)
	fast.Close()
	wg.Wait()
	if n := g.Stats().Conns; n != 1 && n != 0 {
		t.Fatalf("conns %d", n)
	}
}

func TestThousandConnectionRoomBroadcastNoLoss(t *testing.T) {
	g := startGateway(t, nil, nil)
	const conns, msgs = 1000, 50
	clients := make([]*rawConn, conns)
	for i := range clients {
		clients[i] = dialRaw(t, g.tcp)
		clients[i].send(codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(int64(i+1), "", "live://big")))
	}
	for _, c := range clients {
		if p := c.packet(5 * time.Second); p.Op != codec.OpAuthReply {
			t.Fatalf("op %d", p.Op)
		}
	}
	for i := 0; i < msgs; i++ {
		_ = g.BroadcastRoom("live://big", 1000, 0, []byte{byte(i)})
		if i%10 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, conns)
	for _, c := range clients {
		wg.Add(1)
		go func(c *rawConn) {
			defer wg.Done()
			for i := 0; i < msgs; i++ {
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				var h [17]byte
				if _, err := readFull(c.Conn, h[:]); err != nil {
					errs <- err.Error()
					return
				}
				if h[16] != byte(i) {
					errs <- "out of order"
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestHeartbeatReportsGlobalCountsAndKickSendsReason(t *testing.T) {
	logic := &fakeLogic{global: map[string]int32{"live://g": 42}}
	g := startGateway(t, func(c *Config) { c.OnlineRenew = 50 * time.Millisecond }, logic)
	c := dialRaw(t, g.tcp)
	c.auth(1, "counted", "live://g")
	waitFor(t, 2*time.Second, "global count in heartbeat", func() bool {
		c.send(codec.AppendPacket(nil, 1, codec.OpHeartbeat, 1, nil))
		n, _ := codec.HeartbeatOnline(c.packet(3 * time.Second).Body)
		return n == 42
	})

	ws := wsUpgrade(t, g.ws)
	ws.sendWS(codec.WSOpBinary, codec.AppendPacket(nil, 1, codec.OpAuth, 1, authBody(5, "kick-me", "")))
	ws.wsFrame(2 * time.Second)
	if n := g.Kick([]string{"kick-me"}, []int64{1}, "banned by moderator"); n != 2 {
		t.Fatalf("kicked %d", n)
	}
	rest := ws.expectClosed(2 * time.Second)
	if len(rest) < 4 || rest[0] != 0x88 || string(rest[4:]) != "banned by moderator" {
		t.Fatalf("close frame %q", rest)
	}
	c.expectClosed(2 * time.Second)
}

func TestRoomPushCarriesSequenceNumber(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := dialRaw(t, g.tcp)
	c.auth(1, "s", "live://seq")
	for i := int64(1); i <= 3; i++ {
		_ = g.BroadcastRoom("live://seq", 1000, i, []byte("m"))
		if p := c.packet(3 * time.Second); int64(p.Seq) != i {
			t.Fatalf("seq %d want %d", p.Seq, i)
		}
	}
}
