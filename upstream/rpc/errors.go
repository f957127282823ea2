package rpc

import (
	"errors"
	"fmt"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/barrage/barrage/upstream/kitex_gen/logicrpc"
	"github.com/barrage/barrage/upstream/kitex_gen/pushrpc"
	"github.com/barrage/barrage/upstream/logic"
)

// rejectReasons maps logic's reason sentinels to the stable codes that cross
// the wire in AuthRejected.reason (see upstream/idl/logic.thrift). Codes, not
// error texts, so rewording a message never breaks an older peer.
var rejectReasons = []struct {
	code string
	err  error
}{
	{"bad_auth_body", logic.ErrBadAuthBody},
	{"token_required", logic.ErrTokenRequired},
	{"bad_token", logic.ErrBadToken},
	{"mid_mismatch", logic.ErrMidMismatch},
	{"room_not_allowed", logic.ErrRoomNotAllowed},
}

// ErrRejected is the Reason of an *logic.AuthError rebuilt from a rejection
// whose code this build does not know (a newer logic added one): still a
// rejection, the gateway closes the connection.
var ErrRejected = errors.New("logic: connection rejected")

// toAuthRejected turns a logic rejection into the thrift exception. The cause
// cannot cross the wire as an error, so its text joins the detail: the
// client's rebuilt AuthError then prints the same message.
func toAuthRejected(ae *logic.AuthError) *logicrpc.AuthRejected {
	code := "rejected"
	for _, r := range rejectReasons {
		if errors.Is(ae.Reason, r.err) {
			code = r.code
			break
		}
	}
	detail := ae.Detail
	if ae.Cause != nil {
		if detail != "" {
			detail += ": "
		}
		detail += ae.Cause.Error()
	}
	return &logicrpc.AuthRejected{Reason: code, Detail: detail}
}

// fromAuthRejected rebuilds the *logic.AuthError a remote logic returned.
func fromAuthRejected(ex *logicrpc.AuthRejected) *logic.AuthError {
	ae := &logic.AuthError{Reason: ErrRejected, Detail: ex.Detail}
	for _, r := range rejectReasons {
		if ex.Reason == r.code {
			ae.Reason = r.err
			return ae
		}
	}
	if ex.Reason != "rejected" && ex.Reason != "" {
		ae.Reason = fmt.Errorf("%w (%s)", ErrRejected, ex.Reason)
	}
	return ae
}

// toBadRequest turns a logic.ErrBadRequest error into the thrift exception and
// any other error into a remote failure.
func toBadRequest(err error) error {
	if err != nil && errors.Is(err, logic.ErrBadRequest) {
		return &pushrpc.BadRequest{Message: err.Error()}
	}
	return remoteError(err)
}

// BadRequestError is a PushAPI call the server refused for its arguments (the
// HTTP API's code -400). errors.Is(err, logic.ErrBadRequest) holds, and so does
// errors.Is(err, logic.ErrNoKeys) for an empty key list. Message is the
// server's text, the same as the HTTP API's message.
type BadRequestError struct{ Message string }

func (e *BadRequestError) Error() string { return e.Message }

// Is makes errors.Is match logic's sentinels for a remote bad request.
func (e *BadRequestError) Is(target error) bool {
	switch target {
	case logic.ErrBadRequest:
		return true
	case logic.ErrNoKeys:
		return e.Message == logic.ErrNoKeys.Error()
	}
	return false
}

// fromPushError turns what a PushAPI call returned into the error PushClient
// reports: a BadRequest exception becomes *BadRequestError, anything else is
// wrapped with the method name.
func fromPushError(method string, err error) error {
	var bad *pushrpc.BadRequest
	if errors.As(err, &bad) {
		return &BadRequestError{Message: bad.Message}
	}
	return callError("push api", method, err)
}

// codeFailed is the biz status code of a server-side failure (the HTTP API's
// -500 counterpart).
const codeFailed = 500

// RemoteError is a call the server received and failed: the core returned an
// error that is neither a rejection nor a bad request (Redis or Kafka down, a
// stopped gateway, ...). Message is the server's error text. Any other error
// from a client means the call did not get through (connection refused,
// timeout) and the server may or may not have run it (after a timeout).
type RemoteError struct {
	Code    int32  // codeFailed today
	Message string // the server-side error text
}

func (e *RemoteError) Error() string { return e.Message }

// remoteError turns a core's failure into a Kitex biz status error. Kitex sends
// it in the TTHeader instead of as a thrift application exception, so the
// server does not log every failed call at ERROR (the caller gets the error
// and decides), and the client can tell it from a transport failure.
func remoteError(err error) error {
	if err == nil {
		return nil
	}
	return kerrors.NewBizStatusError(codeFailed, err.Error())
}
