package codec

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/bytedance/sonic"
)

// AuthBody is the JSON body of an op-7 auth packet. Token is Barrage's addition
// (a JWT); goim clients omit it.
type AuthBody struct {
	Mid      int64   `json:"mid"`
	Key      string  `json:"key"`
	RoomID   string  `json:"room_id"`
	Platform string  `json:"platform"`
	Accepts  []int32 `json:"accepts"`
	Token    string  `json:"token,omitempty"`
}

// ErrAuthBody is wrapped by every auth-body decoding error.
var ErrAuthBody = errors.New("codec: bad auth body")

// DecodeAuth parses an auth body. Unknown fields are ignored, as goim does.
func DecodeAuth(body []byte) (AuthBody, error) {
	var a AuthBody
	if len(body) == 0 {
		return a, fmt.Errorf("%w: empty", ErrAuthBody)
	}
	if err := sonic.ConfigStd.Unmarshal(body, &a); err != nil {
		return a, fmt.Errorf("%w: %v", ErrAuthBody, err)
	}
	return a, nil
}

// EncodeAuth renders an auth body (used by clients and tests).
func EncodeAuth(a AuthBody) ([]byte, error) {
	return sonic.ConfigStd.Marshal(&a)
}

// ForEachOp calls fn for each op in a comma-separated list such as "1000,1001"
// (the body of ops 14 and 16). Blanks around items are ignored. It does not allocate.
func ForEachOp(body []byte, fn func(op int32)) error {
	start := 0
	for i := 0; i <= len(body); i++ {
		if i < len(body) && body[i] != ',' {
			continue
		}
		item := trimSpace(body[start:i])
		start = i + 1
		if len(item) == 0 {
			continue
		}
		op, ok := parseInt32(item)
		if !ok {
			return fmt.Errorf("codec: bad op %q in op list", item)
		}
		fn(op)
	}
	return nil
}

// AppendOps renders ops as a comma-separated list.
func AppendOps(dst []byte, ops []int32) []byte {
	for i, op := range ops {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, int64(op), 10)
	}
	return dst
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func parseInt32(b []byte) (int32, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	// Overflow is checked per digit rather than by counting digits, so leading
	// zeros are accepted as strconv.ParseInt accepts them.
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
		if v > 1<<31 {
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	if v > 1<<31-1 {
		return 0, false
	}
	return int32(v), true
}
