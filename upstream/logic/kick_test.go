package logic

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestKickRoutesPerServer(t *testing.T) {
	ctx := context.Background()
	router := NewMemoryRouter()
	router.Add(ctx, 1, "a", "gw-1")
	router.Add(ctx, 1, "b", "gw-2")
	router.Add(ctx, 2, "c", "gw-1")
	d := &fakeDelivery{failServers: map[string]bool{"gw-2": true}}
	l := New(Config{}, router, d, nil, nil, quietLog())

	err := l.KickMids(ctx, []int64{1, 3}, "banned")
	if !errors.Is(err, errDeliveryDown) || !strings.Contains(err.Error(), `"gw-2"`) {
		t.Fatalf("KickMids err = %v, want the gw-2 failure named", err)
	}
	want := []call{
		{Kind: "kick", Server: "gw-1", Keys: []string{"a"}, Body: "banned"},
		{Kind: "kick", Server: "gw-2", Keys: []string{"b"}, Body: "banned"},
	}
	if got := d.take(); callsString(got) != callsString(want) {
		t.Fatalf("KickMids calls (gw-1 must be kicked although gw-2 fails):\n%swant:\n%s", callsString(got), callsString(want))
	}
	if err := l.KickKeys(ctx, []string{"c", "nosuch"}, ""); err != nil {
		t.Fatalf("KickKeys: %v", err)
	}
	want = []call{{Kind: "kick", Server: "gw-1", Keys: []string{"c"}}}
	if got := d.take(); callsString(got) != callsString(want) {
		t.Fatalf("KickKeys calls:\n%swant:\n%s", callsString(got), callsString(want))
	}
}

func TestKickRejectsBadArguments(t *testing.T) {
	l := New(Config{}, nil, &fakeDelivery{}, nil, nil, quietLog())
	ctx := context.Background()
	for name, err := range map[string]error{
		"no keys":          l.KickKeys(ctx, nil, "x"),
		"no mids":          l.KickMids(ctx, []int64{}, "x"),
		"reason too long":  l.KickKeys(ctx, []string{"k"}, strings.Repeat("r", MaxKickReason+1)),
		"reason not UTF-8": l.KickMids(ctx, []int64{1}, "\xff\xfe"),
	} {
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
		}
	}
	if err := l.KickKeys(ctx, []string{"k"}, strings.Repeat("r", MaxKickReason)); err != nil {
		t.Errorf("a reason of exactly MaxKickReason bytes: %v", err)
	}
}
