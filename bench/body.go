package bench

import (
	"bytes"
	"strconv"
)

// The pushed message is JSON, so a person reading a capture can make sense of
// it: {"seq":N,"ts":UNIX_NANOS,"pad":"xxx"}. Receivers parse it by scanning for
// the two keys; at hundreds of thousands of deliveries per second per box an
// encoding/json decode per message would cost the load generator more CPU than
// the gateway spends delivering.

var (
	seqKey = []byte(`"seq":`)
	tsKey  = []byte(`"ts":`)
)

// AppendBody renders message seq, stamped ts (Unix nanoseconds), with pad
// padding bytes ("pad" is left out when pad is 0).
func AppendBody(dst []byte, seq, ts int64, pad int) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"ts":`...)
	dst = strconv.AppendInt(dst, ts, 10)
	if pad > 0 {
		dst = append(dst, `,"pad":"`...)
		for range pad {
			dst = append(dst, 'x')
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// ParseBody extracts seq and ts from a message made by AppendBody. ok is false
// when either is missing or is not a non-negative integer that fits an int64.
// It does not allocate.
func ParseBody(b []byte) (seq, ts int64, ok bool) {
	seq, ok = intAfter(b, seqKey)
	if !ok {
		return 0, 0, false
	}
	ts, ok = intAfter(b, tsKey)
	if !ok {
		return 0, 0, false
	}
	return seq, ts, true
}

// intAfter parses the digits right after key (blanks allowed in between).
func intAfter(b, key []byte) (int64, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	var n int64
	digits := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false // overflow
		}
		n = n*10 + d
		digits++
	}
	return n, digits > 0
}
