package gateway

import (
	"bytes"
	"testing"
	"time"

	"github.com/barrage/barrage/codec"
)

func TestTCPAuthHeartbeatRoomPush(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := dialRaw(t, g.tcp)
	// goim's captured exchange: auth, heartbeat, change room.
	c.send(unhex(t, "0000006b0010000100000007000000017b226d6964223a3132332c226b6579223a226b313233222c22726f6f6d5f6964223a226c6976653a2f2f31303030222c22706c6174666f726d223a22616e64726f6964222c2261636365707473223a5b313030302c313030315d7d"))
	if got, want := c.readN(16, 3*time.Second), unhex(t, "00000010001000010000000800000001"); !bytes.Equal(got, want) {
		t.Fatalf("auth reply %x want %x", got, want)
	}
	c.send(unhex(t, "00000010001000010000000200000002"))
	if got, want := c.readN(20, 3*time.Second), unhex(t, "0000001400100001000000030000000200000001"); !bytes.Equal(got, want) {
		t.Fatalf("heartbeat reply %x want %x", got, want)
	}
	if err := g.BroadcastRoom("live://1000", 1000, 0, []byte(`{"seq":1,"ts":0}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := c.readN(32, 3*time.Second), unhex(t, "0000002000100001000003e8000000007b22736571223a312c227473223a307d"); !bytes.Equal(got, want) {
		t.Fatalf("room push %x want %x", got, want)
	}
	if err := g.PushKeys(1000, []string{"k123"}, []byte(`{"seq":3,"ts":0}`)); err != nil {
		t.Fatal(err)
	}
	if got, want := c.readN(32, 3*time.Second), unhex(t, "0000002000100001000003e8000000007b22736571223a332c227473223a307d"); !bytes.Equal(got, want) {
		t.Fatalf("key push %x want %x", got, want)
	}
	c.send(unhex(t, "0000001500100001000000040000000868656c6c6f"))
	if got, want := c.readN(16, 3*time.Second), unhex(t, "00000010001000010000000400000008"); !bytes.Equal(got, want) {
		t.Fatalf("op4 reply %x want %x", got, want)
	}
	waitFor(t, 2*time.Second, "op 4 forwarded", func() bool { return len(g.logic.receivedCopy()) == 1 })
	if got := g.logic.receivedCopy()[0]; got != "k123:4:hello" {
		t.Fatalf("forwarded %q", got)
	}
	_ = codec.OpAuth
}
