package gateway

import (
	"bytes"
	"context"
	"errors"

	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/codec"
)

// maxRoomID bounds a room id sent by a client (op 12, 18, 20).
const maxRoomID = 256

// maxRoomsPerConn bounds the rooms one connection can be in through op 18.
const maxRoomsPerConn = 16

// maxAccepts bounds the push ops one connection subscribes to (op 14 and auth).
const maxAccepts = 64

var errTooManyOps = errors.New("more than 64 subscribed ops")

// maxAuthBacklog bounds what a client may send while its auth is in flight.
const maxAuthBacklog = 64 << 10

// readInbound handles what is buffered for sess. It runs on sess's loop, either
// from OnTraffic or after an auth completes. Replies are collected in loop.out
// and written once; on gnet.Close the caller closes the connection.
func (s *Server) readInbound(sess *session) gnet.Action {
	l := sess.loop
	l.out = l.out[:0]
	var act gnet.Action
	if sess.ws {
		act = s.readWS(sess)
	} else {
		act = s.readTCP(sess)
	}
	if len(l.out) > 0 && sess.state != stateClosed {
		if n, err := sess.c.Write(l.out); err == nil {
			s.metrics.bytesWritten.Add(float64(n))
		}
	}
	if act == gnet.None && s.overBacklog(sess) {
		return gnet.Close
	}
	return act
}

// overBacklog reports (and counts) a client that sends requests but does not
// read the replies: its unsent bytes are bounded like pushes are.
func (s *Server) overBacklog(sess *session) bool {
	if sess.state == stateClosed || sess.c.OutboundBuffered() <= s.cfg.MaxPendingBytes {
		return false
	}
	s.metrics.close(reasonSlowConsumer)
	s.log.Debug("closing connection: replies not read", "reason", reasonSlowConsumer,
		"remote", sess.c.RemoteAddr().String(), "key", sess.key)
	_ = sess.c.SetLinger(0)
	return true
}

func (s *Server) readTCP(sess *session) gnet.Action {
	c := sess.c
	if sess.state == stateAuthing {
		return s.checkBacklog(sess)
	}
	buf, _ := c.Peek(-1)
	used := 0
	act := gnet.None
	for act == gnet.None && sess.state != stateAuthing {
		p, n, err := codec.Decode(buf[used:], s.cfg.MaxBody)
		if err != nil {
			s.badInput(sess, decodeReason(err), err.Error())
			act = gnet.Close
			break
		}
		if n == 0 {
			break
		}
		used += n
		act = s.handlePacket(sess, p)
	}
	_, _ = c.Discard(used)
	return act
}

func (s *Server) checkBacklog(sess *session) gnet.Action {
	if sess.c.InboundBuffered() > maxAuthBacklog {
		s.badInput(sess, reasonBadFlood, "too much data sent before the auth reply")
		return gnet.Close
	}
	return gnet.None
}

// handlePacket answers one client packet.
func (s *Server) handlePacket(sess *session, p codec.Packet) gnet.Action {
	l := sess.loop
	if sess.state == stateHandshake {
		if p.Op != codec.OpAuth {
			s.badInput(sess, reasonBadNotAuthed, "first packet must be auth (op 7)")
			return gnet.Close
		}
		return s.startAuth(sess, p)
	}
	if sess.state != stateOpen {
		return gnet.Close
	}
	// Any well-formed packet proves the client alive and keeps its route fresh.
	l.wheel.set(sess, l.wheel.now+sess.heartbeat)
	s.refreshRoute(sess)
	switch p.Op {
	case codec.OpHeartbeat:
		start := s.replyStart(sess)
		l.out = codec.AppendHeartbeatReply(l.out, p.Ver, p.Seq, sess.primaryOnline())
		s.replyEnd(sess, start)
	case codec.OpChangeRoom:
		if !validRoom(p.Body) {
			s.badInput(sess, reasonBadRoom, "room id too long or not printable")
			return gnet.Close
		}
		if s.refusePinned(sess, p.Body) {
			return gnet.Close
		}
		s.changeRoom(sess, p.Body)
		s.echo(sess, p)
	case codec.OpJoinRoom, codec.OpLeaveRoom:
		if len(p.Body) == 0 || !validRoom(p.Body) {
			s.badInput(sess, reasonBadRoom, "room id empty, too long or not printable")
			return gnet.Close
		}
		if p.Op == codec.OpJoinRoom {
			if s.refusePinned(sess, p.Body) {
				return gnet.Close
			}
			if sess.roomIndex(string(p.Body)) < 0 && len(sess.rooms) >= maxRoomsPerConn {
				s.badInput(sess, reasonBadRoom, "too many rooms on one connection")
				return gnet.Close
			}
			s.joinRoom(sess, string(p.Body))
		} else {
			s.leaveRoom(sess, string(p.Body))
		}
		s.echo(sess, p)
	case codec.OpSub, codec.OpUnsub:
		sub := p.Op == codec.OpSub
		err := codec.ForEachOp(p.Body, func(op int32) {
			if sub {
				sess.addAccept(op)
			} else {
				sess.removeAccept(op)
			}
		})
		if err == nil && len(sess.accepts) > maxAccepts {
			err = errTooManyOps
		}
		if err != nil {
			s.badInput(sess, reasonBadOpList, err.Error())
			return gnet.Close
		}
		s.echo(sess, p)
	case codec.OpAuth:
		s.badInput(sess, reasonBadReauth, "auth sent on an authenticated connection")
		return gnet.Close
	default:
		// goim forwards op 4 (and any other op) to logic and answers with the same
		// op and an empty body.
		s.forward(sess, p)
		start := s.replyStart(sess)
		l.out = codec.AppendHeader(l.out, 0, p.Ver, codec.ReplyOp(p.Op), p.Seq)
		s.replyEnd(sess, start)
	}
	return gnet.None
}

// wsReserve is room left in front of a reply for its WebSocket header.
const wsReserve = 10

// replyStart begins a reply packet in loop.out; append the packet, then call
// replyEnd with the returned offset.
func (s *Server) replyStart(sess *session) int {
	l := sess.loop
	start := len(l.out)
	if sess.ws {
		l.out = append(l.out, make([]byte, wsReserve)...)
	}
	return start
}

// replyEnd frames the packet appended since replyStart for WebSocket: one
// packet per binary frame, as goim sends replies.
func (s *Server) replyEnd(sess *session, start int) {
	if !sess.ws {
		return
	}
	l := sess.loop
	pktLen := len(l.out) - start - wsReserve
	var hdr [wsReserve]byte
	h := codec.AppendWSHeader(hdr[:0], codec.WSOpBinary, true, pktLen)
	copy(l.out[start+len(h):], l.out[start+wsReserve:])
	copy(l.out[start:], h)
	l.out = l.out[:start+len(h)+pktLen]
}

// echo answers p with its reply op and its own body (ops 12, 14, 16, 18, 20).
func (s *Server) echo(sess *session, p codec.Packet) {
	l := sess.loop
	start := s.replyStart(sess)
	l.out = codec.AppendPacket(l.out, p.Ver, codec.ReplyOp(p.Op), p.Seq, p.Body)
	s.replyEnd(sess, start)
}

func validRoom(b []byte) bool {
	if len(b) > maxRoomID {
		return false
	}
	for _, c := range b {
		if c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// refusePinned reports (and counts) a pinned connection naming another room
// in op 12 or 18.
func (s *Server) refusePinned(sess *session, id []byte) bool {
	if sess.mayEnter(id) {
		return false
	}
	s.badInput(sess, reasonBadRoomPinned, "token pins the connection to room "+sess.pinned)
	return true
}

// changeRoom is op 12: leave every room, then join id (empty: stay out).
func (s *Server) changeRoom(sess *session, id []byte) {
	if len(sess.rooms) == 1 && sess.rooms[0].ID() == string(id) {
		return
	}
	for _, r := range sess.rooms {
		s.table.Leave(r, sess)
	}
	clear(sess.rooms)
	sess.rooms = sess.rooms[:0]
	if len(id) > 0 {
		s.joinRoom(sess, string(id))
	}
}

func (s *Server) joinRoom(sess *session, id string) {
	if sess.roomIndex(id) >= 0 {
		return
	}
	sess.rooms = append(sess.rooms, s.table.Join(id, sess))
}

func (s *Server) leaveRoom(sess *session, id string) {
	i := sess.roomIndex(id)
	if i < 0 {
		return
	}
	s.table.Leave(sess.rooms[i], sess)
	sess.rooms = append(sess.rooms[:i], sess.rooms[i+1:]...)
}

func (s *Server) forward(sess *session, p codec.Packet) {
	mid, key, op := sess.mid, sess.key, p.Op
	body := bytes.Clone(p.Body)
	s.metrics.received.Inc()
	s.submit(func(ctx context.Context) {
		if err := s.logic.Receive(ctx, mid, key, op, body); err != nil {
			s.log.Warn("logic receive failed", "mid", mid, "key", key, "op", op, "err", err)
		}
	})
}

func (s *Server) refreshRoute(sess *session) {
	l := sess.loop
	refresh := s.ticks(s.cfg.RouteRefresh)
	if l.wheel.now-sess.lastRefresh < refresh {
		return
	}
	sess.lastRefresh = l.wheel.now
	mid, key := sess.mid, sess.key
	s.submit(func(ctx context.Context) {
		if err := s.logic.Heartbeat(ctx, mid, key); err != nil {
			s.log.Warn("logic heartbeat failed", "mid", mid, "key", key, "err", err)
		}
	})
}

// badInput counts and logs a protocol violation; the caller closes.
func (s *Server) badInput(sess *session, reason, detail string) {
	s.metrics.close(reason)
	s.log.Debug("closing connection: bad input", "reason", reason, "detail", detail,
		"remote", sess.c.RemoteAddr().String(), "ws", sess.ws, "key", sess.key)
	if sess.ws && sess.state != stateUpgrading {
		code := codec.WSCloseProtocolError
		switch reason {
		case reasonBadWSTooLarge, reasonBadPackLenLarge:
			code = codec.WSCloseTooBig
		case reasonBadNotAuthed, reasonBadRoomPinned:
			code = codec.WSClosePolicyViolation
		}
		sess.loop.out = codec.AppendWSClose(sess.loop.out, code, reason)
	}
}

// closeSession closes sess from loop work outside OnTraffic (timeouts, slow
// consumers, kicks, rejected auths). WebSocket clients get a close frame first
// unless wsCode is 0 (the caller sent its own).
func (s *Server) closeSession(sess *session, reason string, wsCode uint16) {
	if sess.state == stateClosed {
		return
	}
	s.metrics.close(reason)
	s.log.Debug("closing connection", "reason", reason, "remote", sess.c.RemoteAddr().String(),
		"ws", sess.ws, "key", sess.key, "mid", sess.mid)
	if reason == reasonSlowConsumer {
		// Drop the backlog now: a reset frees the kernel's send queue too, where a
		// graceful close would keep it until the stalled client reads it.
		_ = sess.c.SetLinger(0)
	} else if sess.ws && sess.state != stateUpgrading && wsCode != 0 {
		var buf [128]byte
		_, _ = sess.c.Write(codec.AppendWSClose(buf[:0], wsCode, reason))
	}
	_ = sess.loop.el.Close(sess.c)
}
