package client

import (
	"errors"
	"syscall"
)

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h (Linux 4.2+).
const ipBindAddressNoPort = 24

// bindNoPort is the Dialer.Control used with Options.LocalIP. Binding a source
// address normally picks the local port at bind time, from ports free for
// every destination, and never reuses one held by a TIME_WAIT socket. With
// IP_BIND_ADDRESS_NO_PORT the port is picked at connect time for the full
// address pair, so one source address can hold ~28k connections to each
// server port, and loopback TIME_WAIT ports are reused (net.ipv4.tcp_tw_reuse
// is 2, loopback only, by default): a load generator can run again at once
// from the same addresses.
func bindNoPort(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	if errors.Is(serr, syscall.ENOPROTOOPT) {
		return nil // kernel before 4.2: the option is an optimisation, dial without it
	}
	return serr
}
