package gateway

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPushesAfterStopFailFast(t *testing.T) {
	g := startGateway(t, nil, nil)
	c := dialRaw(t, g.tcp)
	c.auth(1, "a", "live://1")
	_ = g.BroadcastRoom("live://1", 1000, 0, []byte("before"))
	c.packet(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.BroadcastRoom("live://1", 1000, 0, []byte("after")) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrStopped) {
			t.Fatalf("BroadcastRoom after Stop: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("BroadcastRoom after Stop did not return")
	}
	_ = g.Broadcast(1000, []byte("after"), 0)
	_ = g.Broadcast(1000, []byte("after"), 100)
	if _, conns, ips := g.Online(); conns != 0 || ips != 0 {
		t.Fatalf("Online after Stop = %d conns, %d ips; want 0, 0", conns, ips)
	}
}

// writeFrames must split bursts into writev calls of at most 1024 pieces:
// Linux rejects more and gnet would close the connection.
func TestWriteFramesChunksAtIovMax(t *testing.T) {
	c := &countingConn{}
	s := &session{c: c}
	frames := make([][]byte, 2500)
	for i := range frames {
		frames[i] = []byte{byte(i)}
	}
	n, err := writeFrames(s, frames)
	if err != nil || n != 2500 {
		t.Fatalf("wrote %d, %v", n, err)
	}
	if len(c.sizes) != 3 || c.sizes[0] != 1024 || c.sizes[1] != 1024 || c.sizes[2] != 452 {
		t.Fatalf("writev piece counts %v", c.sizes)
	}
}

type countingConn struct {
	discardConn
	sizes []int
}

func (c *countingConn) Writev(bs [][]byte) (int, error) {
	c.sizes = append(c.sizes, len(bs))
	return c.discardConn.Writev(bs)
}
