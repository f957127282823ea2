package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/barrage/barrage/codec"
)

// maxUpgradeRequest bounds the HTTP upgrade request head.
const maxUpgradeRequest = 8 << 10

var errNotSub = ws.RejectConnectionError(ws.RejectionStatus(http.StatusNotFound), ws.RejectionReason("only GET /sub is served"))

// upgrader accepts exactly what goim's comet accepts: GET /sub, version 13.
var upgrader = ws.Upgrader{
	OnRequest: func(uri []byte) error {
		if string(uri) != "/sub" {
			return errNotSub
		}
		return nil
	},
}

var headEnd = []byte("\r\n\r\n")

// upgrade waits for the whole request head, then answers it with gobwas/ws.
func (s *Server) upgrade(sess *session) gnet.Action {
	c := sess.c
	buf, _ := c.Peek(-1)
	end := bytes.Index(buf, headEnd)
	if end < 0 {
		if len(buf) > maxUpgradeRequest {
			s.badInput(sess, reasonBadUpgrade, "upgrade request head too large")
			return gnet.Close
		}
		return gnet.None
	}
	head := buf[:end+len(headEnd)]
	var resp bytes.Buffer
	rw := struct {
		*bytes.Reader
		*bufio.Writer
	}{bytes.NewReader(head), bufio.NewWriterSize(&resp, 256)}
	_, err := upgrader.Upgrade(rw)
	_ = rw.Flush()
	_, _ = c.Discard(len(head))
	if err != nil && resp.Len() == 0 {
		// gobwas answers what it can parse; garbage gets a plain 400 from us.
		resp.WriteString("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	}
	sess.loop.out = append(sess.loop.out, resp.Bytes()...)
	if err != nil {
		s.badInput(sess, reasonBadUpgrade, err.Error())
		return gnet.Close
	}
	sess.state = stateHandshake
	return s.readFrames(sess)
}

func (s *Server) readWS(sess *session) gnet.Action {
	switch sess.state {
	case stateUpgrading:
		return s.upgrade(sess)
	case stateAuthing:
		return s.checkBacklog(sess)
	}
	return s.readFrames(sess)
}

var errTruncated = errors.New("websocket frame ends inside a packet")

// readFrames handles whole client frames; each data frame carries whole packets.
func (s *Server) readFrames(sess *session) gnet.Action {
	c := sess.c
	buf, _ := c.Peek(-1)
	used := 0
	act := gnet.None
	maxPayload := s.cfg.MaxBody + codec.HeaderLen
	for act == gnet.None && sess.state != stateAuthing && sess.state != stateClosed {
		f, err := codec.DecodeWSFrame(buf[used:], maxPayload, true)
		if err != nil {
			s.badInput(sess, decodeReason(err), err.Error())
			act = gnet.Close
			break
		}
		if f.Total == 0 {
			break
		}
		frame := buf[used : used+f.Total]
		used += f.Total
		payload := frame[f.PayloadStart:]
		codec.Unmask(payload, f.Mask)
		switch f.Opcode {
		case codec.WSOpBinary, codec.WSOpText, codec.WSOpContinuation:
			act = s.dataFrame(sess, f, payload, maxPayload)
		case codec.WSOpPing:
			sess.loop.out = codec.AppendWSFrame(sess.loop.out, codec.WSOpPong, payload)
		case codec.WSOpPong:
		case codec.WSOpClose:
			code, _, err := codec.WSClosePayload(payload)
			if err != nil {
				s.badInput(sess, reasonBadWSProtocol, err.Error())
			} else {
				s.metrics.close(reasonClientClose)
				code = echoCloseCode(code)
				sess.loop.out = codec.AppendWSClose(sess.loop.out, code, "")
			}
			act = gnet.Close
		}
	}
	_, _ = c.Discard(used)
	return act
}

// dataFrame handles a binary, text or continuation frame. An unfragmented
// frame (the common case) is decoded in place; the fragments of a message
// (RFC 6455 5.4) are copied into a per-loop buffer kept only until the last
// one arrives, so they cost nothing on connections that never fragment.
// Control frames may come between fragments and are answered at once.
func (s *Server) dataFrame(sess *session, f codec.WSFrame, payload []byte, maxPayload int) gnet.Action {
	l := sess.loop
	var held []byte
	fragmenting := false
	if len(l.frags) > 0 { // almost always empty: no lookup per frame
		held, fragmenting = l.frags[sess]
	}
	switch {
	case f.Opcode == codec.WSOpContinuation && !fragmenting:
		s.badInput(sess, reasonBadWSFragmented, "continuation frame with no fragmented message in progress")
		return gnet.Close
	case f.Opcode != codec.WSOpContinuation && fragmenting:
		s.badInput(sess, reasonBadWSFragmented, "new data frame before the fragmented message ended")
		return gnet.Close
	case f.Fin && !fragmenting:
		return s.framePackets(sess, payload)
	}
	if len(held)+len(payload) > maxPayload {
		s.badInput(sess, reasonBadWSTooLarge, "fragmented message exceeds the frame limit")
		return gnet.Close
	}
	held = append(held, payload...)
	if !f.Fin {
		l.frags[sess] = held
		return gnet.None
	}
	delete(l.frags, sess)
	return s.framePackets(sess, held)
}

func (s *Server) framePackets(sess *session, payload []byte) gnet.Action {
	for len(payload) > 0 && sess.state != stateAuthing {
		p, n, err := codec.Decode(payload, s.cfg.MaxBody)
		if err != nil {
			s.badInput(sess, decodeReason(err), err.Error())
			return gnet.Close
		}
		if n == 0 {
			s.badInput(sess, reasonBadWSTruncated, errTruncated.Error())
			return gnet.Close
		}
		payload = payload[n:]
		if act := s.handlePacket(sess, p); act != gnet.None {
			return act
		}
	}
	if len(payload) > 0 {
		// Packets pipelined behind auth in the same frame: not worth keeping.
		s.badInput(sess, reasonBadWSProtocol, "packets after auth in the same websocket frame")
		return gnet.Close
	}
	return gnet.None
}

// echoCloseCode is the code answered to a client's close frame: its own when the
// code may appear on the wire (RFC 6455 7.4), 1000 when it sent none, else 1002.
func echoCloseCode(code uint16) uint16 {
	switch {
	case code == 1005:
		return codec.WSCloseNormal
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return code
	}
	return codec.WSCloseProtocolError
}
