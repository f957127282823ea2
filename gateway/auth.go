package gateway

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/codec"
)

// authJob carries one auth from a loop to a worker and back.
type authJob struct {
	sess  *session
	seq   int32
	body  []byte
	start time.Time
	res   AuthResult
	err   error
}

// startAuth hands the auth body to logic on a worker; the loop goes on serving
// other connections and sess's later packets wait in its inbound buffer.
func (s *Server) startAuth(sess *session, p codec.Packet) gnet.Action {
	sess.ver = p.Ver
	sess.state = stateAuthing
	job := &authJob{sess: sess, seq: p.Seq, body: bytes.Clone(p.Body), start: time.Now()}
	remote := sess.c.RemoteAddr().String()
	l := sess.loop
	ok := s.submit(func(ctx context.Context) {
		job.res, job.err = s.logic.Connect(ctx, AuthRequest{Server: s.cfg.Name, RemoteAddr: remote, Body: job.body})
		l.post(item{kind: itemAuthDone, auth: job})
	})
	if !ok {
		s.metrics.close(reasonOverloaded)
		s.log.Warn("auth queue full, closing new connection", "remote", remote)
		return gnet.Close
	}
	return gnet.None
}

// finishAuth runs on the loop when logic has answered.
func (s *Server) finishAuth(l *loop, job *authJob) {
	sess := job.sess
	s.metrics.authLatency.Observe(time.Since(job.start).Seconds())
	if sess.state != stateAuthing {
		// The connection died while logic was deciding; undo logic's route.
		s.metrics.auth("abandoned")
		if _, taken := s.table.Get(job.res.Key); job.err == nil && !taken {
			// Only undo the route if no newer connection holds the key now.
			mid, key := job.res.Mid, job.res.Key
			s.submit(func(ctx context.Context) { _ = s.logic.Disconnect(ctx, mid, key) })
		}
		return
	}
	if job.err != nil {
		s.metrics.auth("rejected")
		s.log.Debug("auth rejected", "remote", sess.c.RemoteAddr().String(), "err", job.err)
		s.closeSession(sess, reasonAuthRejected, codec.WSClosePolicyViolation)
		return
	}
	res := job.res
	if res.RoomPinned && (len(res.Rooms) == 0 || !validRoom([]byte(res.Rooms[0]))) {
		// A pin that cannot be applied must not turn into "any room".
		s.metrics.auth("rejected")
		s.log.Warn("auth pins a missing or invalid room; connection refused", "key", res.Key, "rooms", res.Rooms)
		s.closeSession(sess, reasonAuthRejected, codec.WSClosePolicyViolation)
		return
	}
	s.metrics.auth("ok")
	sess.mid, sess.key = res.Mid, res.Key
	sess.accepts = append(sess.accepts[:0], res.Accepts[:min(len(res.Accepts), maxAccepts)]...)
	if old, replaced := s.table.Put(sess); replaced && old != sess {
		// goim semantics: the newest connection with a key wins.
		old.loop.post(item{kind: itemKick, targets: []*session{old}, reason: reasonDuplicateKey})
	}
	for _, room := range res.Rooms {
		if room == "" || len(sess.rooms) >= maxRoomsPerConn {
			continue
		}
		if !validRoom([]byte(room)) {
			s.log.Warn("auth named an invalid room, not joined", "key", sess.key, "room", room)
			continue
		}
		s.joinRoom(sess, strings.Clone(room))
	}
	if res.RoomPinned {
		// Rooms[0] was checked valid above, so it is the first room joined.
		sess.pinned = sess.rooms[0].ID()
	}
	sess.state = stateOpen
	l.addSession(sess)
	hb := res.Heartbeat
	if hb <= 0 {
		hb = s.cfg.HeartbeatTimeout
	}
	sess.heartbeat = s.ticks(hb)
	sess.lastRefresh = l.wheel.now
	l.wheel.set(sess, l.wheel.now+sess.heartbeat)

	l.out = l.out[:0]
	start := s.replyStart(sess)
	l.out = codec.AppendHeader(l.out, 0, sess.ver, codec.OpAuthReply, job.seq)
	s.replyEnd(sess, start)
	if _, err := sess.c.Write(l.out); err != nil {
		return
	}
	if s.overBacklog(sess) {
		_ = l.el.Close(sess.c)
		return
	}
	// Packets the client pipelined behind its auth are waiting; serve them now.
	if sess.c.InboundBuffered() > 0 {
		if s.readInbound(sess) == gnet.Close && sess.state != stateClosed {
			_ = l.el.Close(sess.c)
		}
	}
}
