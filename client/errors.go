package client

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrClosed is matched (errors.Is) by every error a request gets because the
// connection ended, whatever the cause.
var ErrClosed = errors.New("client: connection closed")

// errServerEOF is the cause when the server closes the socket between packets.
var errServerEOF = fmt.Errorf("client: server closed the connection: %w", io.EOF)

// CloseError is the cause when the server ends a WebSocket connection with a
// close frame.
type CloseError struct {
	Code   uint16 // 1005 when the frame carried no code
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("client: server sent websocket close %d", e.Code)
	}
	return fmt.Sprintf("client: server sent websocket close %d %q", e.Code, e.Reason)
}

// closedError is what requests get when the connection ends before their reply:
// it matches ErrClosed and unwraps to the cause.
type closedError struct{ cause error }

func (e *closedError) Error() string {
	if e.cause == nil {
		return "connection closed by Close"
	}
	return "connection closed: " + strings.TrimPrefix(e.cause.Error(), "client: ")
}

func (e *closedError) Is(target error) bool { return target == ErrClosed }
func (e *closedError) Unwrap() error        { return e.cause }
