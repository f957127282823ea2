package logic

import (
	"errors"
	"fmt"
	"strings"
)

// Reasons a connection is refused at Connect. Each comes wrapped in an
// *AuthError carrying the detail; test with errors.Is.
var (
	ErrBadAuthBody    = errors.New("logic: bad auth body")
	ErrTokenRequired  = errors.New("logic: token required")
	ErrBadToken       = errors.New("logic: bad token")
	ErrMidMismatch    = errors.New("logic: mid in auth body differs from the token's mid")
	ErrRoomNotAllowed = errors.New("logic: room not allowed by the token")
)

// Other errors.
var (
	// ErrBadRequest is wrapped by errors in a push or online call's arguments.
	ErrBadRequest = errors.New("logic: bad request")
	// ErrNoKeys is returned by PushKeys for an empty key list (it wraps
	// ErrBadRequest); goim's HTTP API answers it with code -400.
	ErrNoKeys = fmt.Errorf("%w: no keys to push to", ErrBadRequest)
	// ErrNoKickTargets is returned by KickKeys and KickMids for an empty list
	// (it wraps ErrBadRequest).
	ErrNoKickTargets = fmt.Errorf("%w: no keys or mids to kick", ErrBadRequest)
	// ErrNoDelivery is returned by pushes when New was given no Delivery.
	ErrNoDelivery = errors.New("logic: no delivery configured")
)

// AuthError is a refused connection: the client sent something wrong, as opposed
// to logic failing (a router error, for example, is returned bare). A gateway
// answers an AuthError by closing the connection.
type AuthError struct {
	Reason error  // one of ErrBadAuthBody, ErrTokenRequired, ErrBadToken, ErrMidMismatch, ErrRoomNotAllowed
	Detail string // what exactly was wrong
	Cause  error  // underlying error, may be nil
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap exposes both the reason and the cause to errors.Is and errors.As.
func (e *AuthError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Cause}
}

func reject(reason error, detail string, cause error) error {
	return &AuthError{Reason: reason, Detail: detail, Cause: cause}
}
