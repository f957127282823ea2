package logic

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/bytedance/sonic"
)

// goim's reply codes, carried in the JSON body ("code").
const (
	codeOK          = 0
	codeRequestErr  = -400
	codeServerErr   = -500
	contentTypeJSON = "application/json; charset=utf-8"
	// goim writes its 400 status before setting a content type, so net/http
	// sniffs the JSON body as plain text; clients may depend on it.
	contentTypeBindErr  = "text/plain; charset=utf-8"
	contentTypeNotFound = "text/plain"
	notFoundBody        = "404 page not found"
)

// NewHTTPHandler serves goim's HTTP push and online API (default port 3111):
//
//	POST /goim/push/keys?operation=1000&keys=k1&keys=k2   body = the message
//	POST /goim/push/mids?operation=1000&mids=1&mids=2
//	POST /goim/push/room?operation=1000&type=live&room=1000
//	POST /goim/push/all?operation=1000&speed=0
//	GET  /goim/online/top?type=live&limit=10
//	GET  /goim/online/room?type=live&rooms=1000&rooms=1001
//	GET  /goim/online/total
//	POST /goim/kick/keys?keys=k1&keys=k2                  body = the reason (Barrage)
//	POST /goim/kick/mids?mids=1&mids=2                    body = the reason (Barrage)
//
// Replies are goim's, byte for byte:
//
//   - success: 200, application/json, {"code":0,"message":""} plus "data" for
//     the online routes;
//   - a bad query (missing or unparsable parameter): status 400, Content-Type
//     text/plain (sic), {"code":-400,"message":"<gin's validator message>"};
//   - push/keys without keys: 200 {"code":-400,"message":""};
//   - logic failing (Delivery, Router or OnlineSource returned an error): status
//     200 with {"code":-500,"message":"<what failed>"}, goim's convention: the
//     code, not the status, tells a push client it failed;
//   - a push body over Config.MaxPushBody: status 413 with code -400 and the
//     limit in the message (goim has no limit);
//   - an unknown path, or a known path with the wrong method: 404 "404 page not
//     found" as text/plain (gin answers 404, not 405, and so do we).
func NewHTTPHandler(l *Logic, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	a := &httpAPI{l: l, log: log, maxBody: l.cfg.MaxPushBody}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /goim/push/keys", a.pushKeys)
	mux.HandleFunc("POST /goim/push/mids", a.pushMids)
	mux.HandleFunc("POST /goim/push/room", a.pushRoom)
	mux.HandleFunc("POST /goim/push/all", a.pushAll)
	mux.HandleFunc("GET /goim/online/top", a.onlineTop)
	mux.HandleFunc("GET /goim/online/room", a.onlineRoom)
	mux.HandleFunc("GET /goim/online/total", a.onlineTotal)
	mux.HandleFunc("POST /goim/kick/keys", a.kickKeys)
	mux.HandleFunc("POST /goim/kick/mids", a.kickMids)
	return exactRoutes{mux}
}

// exactRoutes serves a request only when it matches a route exactly, method
// and path. Everything else gets gin's 404, where ServeMux would answer 405
// for a wrong method, let GET routes answer HEAD, or redirect unclean paths.
type exactRoutes struct{ mux *http.ServeMux }

func (e exactRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := e.mux.Handler(r)
	if pattern == "" || pattern != r.Method+" "+r.URL.Path {
		w.Header().Set("Content-Type", contentTypeNotFound)
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, notFoundBody)
		return
	}
	h.ServeHTTP(w, r)
}

type httpAPI struct {
	l       *Logic
	log     *slog.Logger
	maxBody int64
}

// reply is goim's JSON envelope; Data is left out when nil.
type reply struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

type totalData struct {
	ConnCount int64 `json:"conn_count"`
	IPCount   int64 `json:"ip_count"`
}

func (a *httpAPI) pushKeys(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	op := b.int("operation", "Op", 32, false)
	keys := b.strs("keys", "Keys", false)
	body, ok := a.bind(w, r, b)
	if !ok {
		return
	}
	err := a.l.PushKeys(r.Context(), int32(op), keys, body)
	if errors.Is(err, ErrBadRequest) {
		// goim answers every failed key push with an empty message.
		a.write(w, http.StatusOK, contentTypeJSON, reply{Code: codeRequestErr})
		return
	}
	a.done(w, r, err, nil)
}

// kickKeys and kickMids are Barrage's: the body is the reason WebSocket
// clients see in their close frame (may be empty).
func (a *httpAPI) kickKeys(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	keys := b.strs("keys", "Keys", true)
	reason, ok := a.bind(w, r, b)
	if !ok {
		return
	}
	a.done(w, r, a.l.KickKeys(r.Context(), keys, string(reason)), nil)
}

func (a *httpAPI) kickMids(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	mids := b.ints("mids", "Mids", 64, true)
	reason, ok := a.bind(w, r, b)
	if !ok {
		return
	}
	a.done(w, r, a.l.KickMids(r.Context(), mids, string(reason)), nil)
}

func (a *httpAPI) pushMids(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	op := b.int("operation", "Op", 32, false)
	mids := b.ints("mids", "Mids", 64, false)
	body, ok := a.bind(w, r, b)
	if !ok {
		return
	}
	a.done(w, r, a.l.PushMids(r.Context(), int32(op), mids, body), nil)
}

func (a *httpAPI) pushRoom(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	op := b.int("operation", "Op", 32, true)
	typ := b.str("type", "Type", true)
	room := b.str("room", "Room", true)
	body, ok := a.bind(w, r, b)
	if !ok {
		return
	}
	a.done(w, r, a.l.PushRoom(r.Context(), typ, room, int32(op), body), nil)
}

func (a *httpAPI) pushAll(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	op := b.int("operation", "Op", 32, true)
	speed := b.int("speed", "Speed", 32, false)
	body, ok := a.bind(w, r, b)
	if !ok {
		return
	}
	a.done(w, r, a.l.PushAll(r.Context(), int32(op), int32(speed), body), nil)
}

func (a *httpAPI) onlineTop(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	typ := b.str("type", "Type", true)
	limit := b.int("limit", "Limit", 0, true)
	if err := b.err(); err != nil {
		a.bindFailed(w, err)
		return
	}
	if limit < 0 { // goim panics here; ours is a plain bad request
		a.bindFailed(w, fmt.Errorf("limit must be positive, got %d", limit))
		return
	}
	top, err := a.l.OnlineTop(r.Context(), typ, int(limit))
	a.done(w, r, err, top)
}

func (a *httpAPI) onlineRoom(w http.ResponseWriter, r *http.Request) {
	b := newQueryBinder(r.URL.Query())
	typ := b.str("type", "Type", true)
	rooms := b.strs("rooms", "Rooms", true)
	if err := b.err(); err != nil {
		a.bindFailed(w, err)
		return
	}
	counts, err := a.l.OnlineRoom(r.Context(), typ, rooms)
	a.done(w, r, err, counts)
}

func (a *httpAPI) onlineTotal(w http.ResponseWriter, r *http.Request) {
	conns, ips, err := a.l.OnlineTotal(r.Context())
	a.done(w, r, err, totalData{ConnCount: conns, IPCount: ips})
}

// bind finishes query binding and reads the push body, answering the request
// itself when either fails. Like goim, the query is checked before the body is
// read.
func (a *httpAPI) bind(w http.ResponseWriter, r *http.Request, b *queryBinder) ([]byte, bool) {
	if err := b.err(); err != nil {
		a.bindFailed(w, err)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		status, msg := http.StatusOK, "read request body: "+err.Error()
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
			msg = fmt.Sprintf("request body larger than the %d-byte limit", tooBig.Limit)
		}
		a.write(w, status, contentTypeJSON, reply{Code: codeRequestErr, Message: msg})
		return nil, false
	}
	return body, true
}

func (a *httpAPI) bindFailed(w http.ResponseWriter, err error) {
	a.write(w, http.StatusBadRequest, contentTypeBindErr, reply{Code: codeRequestErr, Message: err.Error()})
}

// done answers a call into Logic: data on success, -400 for a bad argument,
// -500 with the error text when logic failed.
func (a *httpAPI) done(w http.ResponseWriter, r *http.Request, err error, data any) {
	switch {
	case err == nil:
		a.write(w, http.StatusOK, contentTypeJSON, reply{Code: codeOK, Data: data})
	case errors.Is(err, ErrBadRequest):
		a.write(w, http.StatusOK, contentTypeJSON, reply{Code: codeRequestErr, Message: err.Error()})
	default:
		a.log.WarnContext(r.Context(), "http api: request failed", "method", r.Method, "uri", r.RequestURI, "err", err)
		a.write(w, http.StatusOK, contentTypeJSON, reply{Code: codeServerErr, Message: err.Error()})
	}
}

func (a *httpAPI) write(w http.ResponseWriter, status int, contentType string, rep reply) {
	// ConfigStd matches encoding/json, which gin uses: sorted map keys and
	// escaped HTML characters.
	out, err := sonic.ConfigStd.Marshal(&rep)
	if err != nil { // only reachable through a bug in the reply types
		a.log.Error("http api: encode reply", "err", err)
		status, out = http.StatusInternalServerError, []byte(`{"code":-500,"message":"encode reply failed"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(out)
}
