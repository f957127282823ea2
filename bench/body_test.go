package bench

import (
	"strings"
	"testing"
)

func TestBodyRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		seq, ts int64
		pad     int
	}{{0, 1, 0}, {41, 1763776000123456789, 0}, {7, 9, 300}} {
		b := AppendBody(nil, tt.seq, tt.ts, tt.pad)
		if tt.pad > 0 && !strings.Contains(string(b), `"pad":"`+strings.Repeat("x", tt.pad)+`"`) {
			t.Errorf("body %s lacks %d bytes of padding", b, tt.pad)
		}
		seq, ts, ok := ParseBody(b)
		if !ok || seq != tt.seq || ts != tt.ts {
			t.Errorf("ParseBody(%s) = %d, %d, %v", b, seq, ts, ok)
		}
	}
	if got := string(AppendBody(nil, 3, 4, 0)); got != `{"seq":3,"ts":4}` {
		t.Errorf("small body = %s", got)
	}
}

func TestParseBody(t *testing.T) {
	tests := []struct {
		in      string
		seq, ts int64
		ok      bool
	}{
		{`{"seq":12,"ts":34}`, 12, 34, true},
		{`{"ts":34,"pad":"x","seq":12}`, 12, 34, true},
		{`{"seq": 12, "ts":	34}`, 12, 34, true},
		{`{"seq":12}`, 0, 0, false},
		{`{"ts":34}`, 0, 0, false},
		{`{"seq":-1,"ts":34}`, 0, 0, false},
		{`{"seq":"12","ts":34}`, 0, 0, false},
		{`{"seq":12,"ts":99999999999999999999}`, 0, 0, false},
		{``, 0, 0, false},
	}
	for _, tt := range tests {
		seq, ts, ok := ParseBody([]byte(tt.in))
		if seq != tt.seq || ts != tt.ts || ok != tt.ok {
			t.Errorf("ParseBody(%s) = %d, %d, %v; want %d, %d, %v", tt.in, seq, ts, ok, tt.seq, tt.ts, tt.ok)
		}
	}
}

func TestParseBodyDoesNotAllocate(t *testing.T) {
	b := AppendBody(nil, 123456, 1763776000123456789, 64)
	if n := testing.AllocsPerRun(100, func() { ParseBody(b) }); n != 0 {
		t.Fatalf("ParseBody allocates %v times per call", n)
	}
}

func BenchmarkParseBody(b *testing.B) {
	body := AppendBody(nil, 123456, 1763776000123456789, 64)
	for b.Loop() {
		ParseBody(body)
	}
}
