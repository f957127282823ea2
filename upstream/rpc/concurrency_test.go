package rpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage/barrage/upstream/logic"
)

// echoLogic answers from its arguments, so concurrent calls can check that
// each got its own reply (no crossed responses on shared pooled connections).
// It is a LogicCore and a PushCore.
type echoLogic struct{ calls atomic.Int64 }

func (e *echoLogic) Connect(_ context.Context, server, remote string, body []byte) (logic.ConnectReply, error) {
	e.calls.Add(1)
	if string(body) == "reject" {
		return logic.ConnectReply{}, &logic.AuthError{Reason: logic.ErrBadToken, Detail: remote}
	}
	return logic.ConnectReply{Key: server + "|" + remote + "|" + string(body), Mid: int64(len(body))}, nil
}
func (e *echoLogic) Disconnect(context.Context, int64, string, string) error {
	e.calls.Add(1)
	return nil
}
func (e *echoLogic) Heartbeat(context.Context, int64, string, string) error {
	e.calls.Add(1)
	return nil
}
func (e *echoLogic) RenewOnline(_ context.Context, server string, c logic.Online) (map[string]int32, error) {
	e.calls.Add(1)
	return map[string]int32{server: int32(c.Conns)}, nil
}
func (e *echoLogic) Receive(context.Context, int64, string, int32, []byte) error {
	e.calls.Add(1)
	return nil
}
func (e *echoLogic) PushKeys(context.Context, int32, []string, []byte) error {
	e.calls.Add(1)
	return nil
}
func (e *echoLogic) PushMids(context.Context, int32, []int64, []byte) error {
	e.calls.Add(1)
	return nil
}
func (e *echoLogic) PushRoom(_ context.Context, _, room string, _ int32, _ []byte) error {
	e.calls.Add(1)
	if room == "bad" {
		return fmt.Errorf("%w: room %q", logic.ErrBadRequest, room)
	}
	return nil
}
func (e *echoLogic) PushAll(context.Context, int32, int32, []byte) error { e.calls.Add(1); return nil }
func (e *echoLogic) OnlineTop(_ context.Context, typ string, limit int) ([]logic.RoomCount, error) {
	e.calls.Add(1)
	return []logic.RoomCount{{RoomID: typ, Count: int32(limit)}}, nil
}
func (e *echoLogic) OnlineRoom(_ context.Context, typ string, rooms []string) (map[string]int32, error) {
	e.calls.Add(1)
	out := make(map[string]int32, len(rooms))
	for _, r := range rooms {
		out[r] = int32(len(typ + r))
	}
	return out, nil
}
func (e *echoLogic) OnlineTotal(context.Context) (int64, int64, error) {
	e.calls.Add(1)
	return 7, 3, nil
}
func (e *echoLogic) KickKeys(context.Context, []string, string) error { e.calls.Add(1); return nil }
func (e *echoLogic) KickMids(context.Context, []int64, string) error  { e.calls.Add(1); return nil }

// echoGateway is a GatewayCore answering from its arguments.
type echoGateway struct{ calls atomic.Int64 }

func (g *echoGateway) PushKeys(int32, []string, []byte) error           { g.calls.Add(1); return nil }
func (g *echoGateway) BroadcastRoom(string, int32, int64, []byte) error { g.calls.Add(1); return nil }
func (g *echoGateway) Broadcast(int32, []byte, int) error               { g.calls.Add(1); return nil }
func (g *echoGateway) RoomCounts() map[string]int32 {
	g.calls.Add(1)
	return map[string]int32{"live://1": 1}
}
func (g *echoGateway) Kick(keys []string, mids []int64, _ string) int {
	g.calls.Add(1)
	return len(keys) + len(mids)
}

// 50 goroutines x 100 calls over one client of each kind, every reply checked.
func TestConcurrentCalls(t *testing.T) {
	const goroutines, perG = 50, 100
	lc, gc := &echoLogic{}, &echoGateway{}
	ls, err := NewLogicServer("127.0.0.1:0", lc, quiet)
	start(t, ls, err)
	gs, err := NewGatewayServer("127.0.0.1:0", gc, nil, quiet)
	start(t, gs, err)
	logicC, err := NewLogicClient([]string{ls.Addr()}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer logicC.Close()
	pushC, err := NewPushClient([]string{ls.Addr()}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pushC.Close()
	gwC, err := NewGatewayClient(gs.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer gwC.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	var logicCalls, gwCalls atomic.Int64
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				if err := oneCall(ctx, g, i, logicC, pushC, gwC, &logicCalls, &gwCalls); err != nil {
					errs <- fmt.Errorf("goroutine %d call %d: %w", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := lc.calls.Load(), logicCalls.Load(); got != want {
		t.Errorf("logic served %d calls, clients made %d", got, want)
	}
	if got, want := gc.calls.Load(), gwCalls.Load(); got != want {
		t.Errorf("gateway served %d calls, clients made %d", got, want)
	}
}

func oneCall(ctx context.Context, g, i int, lc *LogicClient, pc *PushClient, gc *GatewayClient, logicCalls, gwCalls *atomic.Int64) error {
	tag := strconv.Itoa(g) + "." + strconv.Itoa(i)
	switch (g + i) % 8 {
	case 0:
		logicCalls.Add(1)
		rep, err := lc.Connect(ctx, "gw"+tag, "ip"+tag, []byte("body"+tag))
		if err != nil {
			return err
		}
		if want := "gw" + tag + "|ip" + tag + "|body" + tag; rep.Key != want {
			return fmt.Errorf("Connect key %q, want %q", rep.Key, want)
		}
	case 1:
		logicCalls.Add(1)
		_, err := lc.Connect(ctx, "gw", tag, []byte("reject"))
		var ae *logic.AuthError
		if !errors.As(err, &ae) || !errors.Is(err, logic.ErrBadToken) || ae.Detail != tag {
			return fmt.Errorf("rejected Connect = %v, want AuthError with detail %q", err, tag)
		}
	case 2:
		logicCalls.Add(1)
		global, err := lc.RenewOnline(ctx, "gw"+tag, logic.Online{Conns: int64(g*1000 + i)})
		if err != nil {
			return err
		}
		if global["gw"+tag] != int32(g*1000+i) || len(global) != 1 {
			return fmt.Errorf("RenewOnline = %v", global)
		}
	case 3:
		logicCalls.Add(2)
		if err := lc.Heartbeat(ctx, int64(g), tag, "gw"); err != nil {
			return err
		}
		if err := lc.Receive(ctx, int64(g), tag, 4, []byte(tag)); err != nil {
			return err
		}
	case 4:
		logicCalls.Add(2)
		if err := pc.PushRoom(ctx, "live", "bad", 1000, nil); !errors.Is(err, logic.ErrBadRequest) {
			return fmt.Errorf("bad PushRoom = %v, want ErrBadRequest", err)
		}
		if err := pc.PushRoom(ctx, "live", tag, 1000, []byte(tag)); err != nil {
			return err
		}
	case 5:
		logicCalls.Add(2)
		top, err := pc.OnlineTop(ctx, tag, i+1)
		if err != nil {
			return err
		}
		if len(top) != 1 || top[0].RoomID != tag || top[0].Count != int32(i+1) {
			return fmt.Errorf("OnlineTop = %v", top)
		}
		rooms, err := pc.OnlineRoom(ctx, "t", []string{tag})
		if err != nil {
			return err
		}
		if rooms[tag] != int32(len("t"+tag)) {
			return fmt.Errorf("OnlineRoom = %v", rooms)
		}
	case 6:
		gwCalls.Add(2)
		if err := gc.BroadcastRoom(ctx, "live://"+tag, 1000, int64(i), []byte(tag)); err != nil {
			return err
		}
		if err := gc.PushKeys(ctx, 1000, []string{tag}, []byte(tag)); err != nil {
			return err
		}
	case 7:
		gwCalls.Add(1)
		n, err := gc.Kick(ctx, make([]string, g), make([]int64, i), tag)
		if err != nil {
			return err
		}
		if n != g+i {
			return fmt.Errorf("Kick = %d, want %d", n, g+i)
		}
	}
	return nil
}
