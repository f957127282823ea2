package plan

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.9g, want %.9g (+-%g)", what, got, want, tol)
	}
}

// The gateway's defaults: 256 messages or 64 KiB per batch.
func batching(w float64, fixed, paced bool) Batching {
	return Batching{Window: w, MaxMessages: 256, MaxBytes: 64 << 10, Fixed: fixed, Paced: paced}
}

func TestMessagesPerWrite(t *testing.T) {
	goim := Batching{Window: 1, MaxMessages: 20, MaxBytes: 64 << 10, Fixed: true}
	for _, tc := range []struct {
		name         string
		b            Batching
		rate, packet float64
		want         float64
	}{
		// adaptive, random: rW + e^-rW; 40 msg/s x 50 ms: 2 + e^-2 = 2 + 0.135335
		{"busy room adaptive", batching(0.05, false, false), 40, 52, 2.135335283},
		// 1 msg/s x 50 ms: 0.05 + e^-0.05 = 0.05 + 0.951229 = 1.001229
		{"quiet room adaptive", batching(0.05, false, false), 1, 52, 1.001229424},
		// paced: max(1, rW) = 2, what the bench's 234 frames for 480 messages showed (2.05)
		{"bench paced", batching(0.05, false, true), 40, 52, 2},
		// paced, 10 msg/s x 50 ms = 0.5 -> every message alone
		{"paced quiet", batching(0.05, false, true), 10, 52, 1},
		// fixed, random: 1 + rW = 41, capped at 20
		{"goim fixed capped", goim, 40, 52, 20},
		// fixed, random, 10 msg/s x 1 s window: 1 + 10 = 11 (< 20)
		{"goim fixed uncapped", goim, 10, 52, 11},
		// byte cap: 1016-byte packets, ceil(65536/1016) = ceil(64.5) = 65 < 256
		{"byte cap", batching(1, false, false), 1000, 1016, 65},
		{"no messages", batching(0.05, false, false), 0, 52, 0},
		// window 0: every message alone
		{"no window", batching(0, false, false), 40, 52, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "m", tc.b.MessagesPerWrite(tc.rate, tc.packet), tc.want, 1e-6)
		})
	}
}

func TestWaitP99(t *testing.T) {
	goim := Batching{Window: 1, MaxMessages: 20, MaxBytes: 64 << 10, Fixed: true}
	for _, tc := range []struct {
		name string
		b    Batching
		rate float64
		want float64 // seconds
	}{
		// busy (rT = 2 >= 1): 0.99 T = 0.0495
		{"busy adaptive", batching(0.05, false, false), 40, 0.0495},
		// quiet (rT = 0.05): T - 0.01/r = 0.05 - 0.01 = 0.04
		{"quiet adaptive", batching(0.05, false, false), 1, 0.04},
		// very quiet (rT = 0.005 < 0.01): under 1 % of messages wait at all
		{"very quiet adaptive", batching(0.05, false, false), 0.1, 0},
		// goim: a batch fills in 20 / 40 = 0.5 s < 1 s, its first message waits 0.5 s
		{"goim fixed", goim, 40, 0.5},
		// goim at 10 msg/s: 20 / 10 = 2 s > 1 s window
		{"goim fixed slow", goim, 10, 1},
		// paced 40 msg/s: 25 ms apart < 50 ms, the window is waited in full
		{"paced busy", batching(0.05, false, true), 40, 0.05},
		// paced 10 msg/s: 100 ms apart >= 50 ms, nobody waits
		{"paced quiet", batching(0.05, false, true), 10, 0},
		// capped adaptive: 256 messages at 1000 msg/s fill in 0.256 s < 1 s: 0.99 x 0.256
		{"capped", batching(1, false, false), 1000, 0.25344},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "wait", tc.b.WaitP99(tc.rate, 52), tc.want, 1e-9)
		})
	}
}

func TestWriteAndWireBytes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      float64
		ws     bool
		packet float64
		want   float64
	}{
		{"tcp 2 x 52", 2, false, 52, 104},
		// WS: 2 + (16 + 104): payload 120 <= 125 takes a 2-byte header
		{"ws 2 x 52", 2, true, 52, 122},
		// WS: payload 16 + 1040 = 1056 needs the 16-bit length: 4 + 1056
		{"ws 20 x 52", 20, true, 52, 1060},
		// WS: payload 16 + 70000 > 65535 needs the 64-bit length: 10 + 70016
		{"ws huge", 1, true, 70000, 70026},
	} {
		near(t, tc.name, WriteBytes(tc.m, tc.packet, tc.ws), tc.want, 1e-9)
	}
	// one segment: 104 + 66; three segments of <= 1448: 3000 + 3 x 66
	near(t, "wire 104", WireBytes(104, 1448, 66), 170, 1e-9)
	near(t, "wire 3000", WireBytes(3000, 1448, 66), 3198, 1e-9)
	near(t, "wire 0", WireBytes(0, 1448, 66), 0, 0)
}

func TestQueuedBytes(t *testing.T) {
	// docs/TUNING.md: 256, 2,048 and 3,072-byte frames hold one 4 KiB page,
	// 3,584 and 4,096 two, 16,384 five.
	for n, pages := range map[float64]float64{256: 1, 2048: 1, 3072: 1, 3520: 1, 3521: 2, 3584: 2, 4096: 2, 16384: 5, 0: 0} {
		near(t, "queued", QueuedBytes(n), pages*4096, 0)
	}
}

func TestDefaultCostsReproduceTheirAnchors(t *testing.T) {
	c := DefaultCosts()
	// slope: (6.9 - 4.1) us / (1040 - 104) B = 2.8 / 936 us/B = 2.991453 ns/B
	near(t, "ns per byte", c.ByteNS, 2.991452991, 1e-8)
	// fixed: 4.1 - 104 x 0.002991453 = 4.1 - 0.311111 = 3.788889 us
	near(t, "fixed us", c.WriteUS, 3.788888889, 1e-8)
	near(t, "2-message write", c.WriteCostUS(104), 4.1, 1e-9)
	near(t, "20-message write", c.WriteCostUS(1040), 6.9, 1e-9)
	for _, k := range []string{"user_kb_per_conn", "kernel_kb_per_socket", "process_base_mb", "write_fixed_us",
		"write_ns_per_byte", "heartbeat_read_us", "ingest_us_per_message"} {
		if c.Sources[k] == "" {
			t.Errorf("default cost %s has no source", k)
		}
	}
}

func TestReached(t *testing.T) {
	near(t, "one process", reached(500, 1), 1, 0)
	// a 2-member room over 2 processes: 2 x (1 - (1/2)^2) = 1.5
	near(t, "2 over 2", reached(2, 2), 1.5, 1e-12)
	// a room of 1000 over 60 processes reaches all of them
	near(t, "1000 over 60", reached(1000, 60), 60, 1e-5)
	near(t, "empty room", reached(0, 60), 0, 0)
}
