package client

import (
	"net"
	"syscall"
	"testing"
)

// With LocalIP the socket asks for its port at connect time; without it the
// kernel's default applies and the option stays off.
func TestLocalIPSetsBindAddressNoPort(t *testing.T) {
	for _, tc := range []struct {
		localIP string
		want    int
	}{{"127.0.0.4", 1}, {"", 0}} {
		s := newFakeServer(t, TCP, authReply)
		c, _, _ := dialFake(t, s, func(o *Options) { o.LocalIP = tc.localIP })
		rc, err := c.nc.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var gerr error
		if err := rc.Control(func(fd uintptr) {
			got, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort)
		}); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		if got != tc.want {
			t.Errorf("LocalIP %q: IP_BIND_ADDRESS_NO_PORT = %d, want %d", tc.localIP, got, tc.want)
		}
	}
}
