package tuning

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// TestMeasureSocketMemory runs a small measurement for its structure; set
// BARRAGE_MEASURE_PAIRS (e.g. 5000) to get figures worth quoting, as
// docs/TUNING.md does.
func TestMeasureSocketMemory(t *testing.T) {
	pairs := 200
	if s := os.Getenv("BARRAGE_MEASURE_PAIRS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("BARRAGE_MEASURE_PAIRS=%q: %v", s, err)
		}
		pairs = n
	}
	if _, err := os.Stat("/proc/net/sockstat"); err != nil {
		t.Skip("no /proc/net/sockstat on this system")
	}
	m, err := MeasureSocketMemory("/proc", pairs, []int{256, 4096, 16384})
	if err != nil {
		t.Fatal(err)
	}
	if m.Pairs != pairs || m.Sockets != 2*pairs || len(m.Queued) != 3 || m.Queued[1].FrameBytes != 4096 || m.PageSize <= 0 {
		t.Fatalf("unexpected shape: %+v", m)
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	t.Logf("%s", b)
}

func TestMeasureSocketMemoryRejectsBadInput(t *testing.T) {
	if _, err := MeasureSocketMemory("/proc", 0, nil); err == nil {
		t.Fatal("0 pairs accepted")
	}
	if _, err := MeasureSocketMemory(t.TempDir(), 1, nil); err == nil {
		t.Fatal("a /proc root without meminfo accepted")
	}
}
