package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/barrage/barrage/client"
	"github.com/barrage/barrage/codec"
)

// Dial a gateway over WebSocket, print every push, and keep the connection
// alive with a heartbeat every 30 s. (Not run: it needs a gateway.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, client.Options{
		Transport: client.WebSocket,
		Addr:      "127.0.0.1:3102",
		Auth: codec.AuthBody{
			Mid:      123,
			Key:      "k123",
			RoomID:   "live://1000",
			Platform: "web",
			Accepts:  []int32{1000, 1001},
		},
		Heartbeat: 30 * time.Second,
		OnPush: func(p codec.Packet) {
			// p.Body is reused after this returns: copy what you keep.
			fmt.Printf("push op %d: %s\n", p.Op, p.Body)
		},
		OnClose: func(err error) {
			if err != nil {
				slog.Warn("connection ended", "err", err)
			}
		},
	})
	if err != nil {
		slog.Error("dial", "err", err)
		return
	}
	defer conn.Close()

	if err := conn.JoinRoom(ctx, "live://2000"); err != nil {
		slog.Error("join room", "err", err)
		return
	}
	online, err := conn.Heartbeat(ctx)
	if err != nil {
		slog.Error("heartbeat", "err", err)
		return
	}
	fmt.Println("online in live://1000:", online)
	<-ctx.Done()
}
