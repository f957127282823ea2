// Package freeport hands out loopback TCP ports for servers that must be told
// their address before they bind: gnet engines, Kitex servers, redis-server
// and the gateway processes the bench harness spawns.
//
// Asking the kernel for port 0 and closing the listener is racy here: that
// port comes from the ephemeral range, so any outgoing connection made in the
// meantime (thousands in the gateway and bench tests, which run in parallel
// packages) can take it before the server binds. Pick chooses below the
// ephemeral range instead, where the kernel never assigns ports by itself, and
// checks the port binds before handing it out.
//
// It depends on the standard library only.
package freeport
