package tuning

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"syscall"
	"time"
)

// SocketMemory is the kernel memory that idle TCP sockets hold on this host,
// as MeasureSocketMemory found it. Every "per socket" figure divides by
// Sockets, which is twice Pairs: a loopback connection has a socket at each
// end, and a gateway holds one of them per client.
type SocketMemory struct {
	Pairs   int `json:"pairs"`
	Sockets int `json:"sockets"`
	// SlabPerSocket is the growth of /proc/meminfo Slab: struct tcp_sock, the
	// socket inode, the file, the dentry, the epoll entry, ... It is not limited
	// by tcp_mem and not visible in any process's RSS.
	SlabPerSocket float64 `json:"slab_bytes_per_socket"`
	// UnreclaimPerSocket is the SUnreclaim share of it: memory the kernel cannot
	// drop under pressure while the socket is open.
	UnreclaimPerSocket float64 `json:"sunreclaim_bytes_per_socket"`
	// TCPMemIdlePerSocket is the growth of "mem" in /proc/net/sockstat (pages of
	// queued buffers and forward allocations, the quantity tcp_mem limits) for
	// freshly connected sockets, and TCPMemExchangedPerSocket after each end
	// sent and read a small message, as an authenticated connection has.
	TCPMemIdlePerSocket      float64 `json:"tcp_mem_idle_bytes_per_socket"`
	TCPMemExchangedPerSocket float64 `json:"tcp_mem_exchanged_bytes_per_socket"`
	// ObjectsPerSocket sums the object sizes in Caches. Unlike Slab, which
	// counts whole slab pages, it does not depend on free objects left in
	// partly used slabs by an earlier run, so repeated runs agree better.
	ObjectsPerSocket float64 `json:"slab_objects_bytes_per_socket,omitempty"`
	// Caches breaks the slab growth down by /proc/slabinfo cache (empty when
	// slabinfo is unreadable, which needs root). Similar caches may be merged
	// by the kernel and then appear under another name (kmalloc-*).
	Caches []CacheGrowth `json:"caches,omitempty"`
	// Queued is the TCP memory one unread frame costs, per frame size.
	Queued []QueuedFrame `json:"queued"`
	// PageSize converts sockstat pages to bytes.
	PageSize int `json:"page_size"`
}

// CacheGrowth is one slab cache's growth during a measurement.
type CacheGrowth struct {
	Name             string  `json:"name"`
	ObjSize          int64   `json:"obj_size"`
	ObjectsPerSocket float64 `json:"objects_per_socket"`
	BytesPerSocket   float64 `json:"bytes_per_socket"`
}

// QueuedFrame is the sockstat memory held while one frame of FrameBytes sits
// unread in each pair (in the receiver's queue; on loopback the sender's copy
// is freed as soon as it is acknowledged). Its ratio to FrameBytes is the
// skb overhead (truesize) that tcp_mem and tcp_wmem count.
type QueuedFrame struct {
	FrameBytes    int     `json:"frame_bytes"`
	BytesPerFrame float64 `json:"tcp_mem_bytes_per_frame"`
}

// DefaultFrameSizes are the frames MeasureSocketMemory queues: a single chat
// line, a typical batch, and a batch at 16 KiB.
var DefaultFrameSizes = []int{256, 4096, 16384}

// settle lets delayed ACKs (up to 40 ms), per-CPU slab caches and RCU-freed
// objects catch up before a reading.
const settle = 250 * time.Millisecond

type reading struct {
	mem  map[string]int64
	ss   sockstat
	slab map[string]slabCache
}

func read(procRoot string) (reading, error) {
	mem, err := readMeminfo(procRoot, "Slab", "SUnreclaim")
	if err != nil {
		return reading{}, err
	}
	ss, err := readSockstat(procRoot)
	if err != nil {
		return reading{}, err
	}
	slab, _ := readSlabinfo(procRoot) // optional: unreadable without root
	return reading{mem: mem, ss: ss, slab: slab}, nil
}

// MeasureSocketMemory opens pairs connected loopback TCP socket pairs (the
// accepted end included), leaves them idle, and reports the kernel memory
// they hold from procRoot's meminfo, net/sockstat and slabinfo before and
// after. It then queues one frame of each of frameSizes (nil means
// DefaultFrameSizes) in every pair to price queued data. The figures are
// host-wide deltas: other activity on the box is noise, so use thousands of
// pairs and compare several runs. It needs 2*pairs+16 open files.
func MeasureSocketMemory(procRoot string, pairs int, frameSizes []int) (SocketMemory, error) {
	if pairs <= 0 {
		return SocketMemory{}, fmt.Errorf("measure: pairs must be positive, got %d", pairs)
	}
	if frameSizes == nil {
		frameSizes = DefaultFrameSizes
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(2*pairs+16) {
		return SocketMemory{}, fmt.Errorf("measure: %d pairs need %d open files, the limit is %d "+
			"(raise it or use fewer pairs)", pairs, 2*pairs+16, lim.Cur)
	}
	res := SocketMemory{Pairs: pairs, Sockets: 2 * pairs, PageSize: syscall.Getpagesize()}
	before, err := read(procRoot)
	if err != nil {
		return res, fmt.Errorf("measure: %w", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("measure: listen on loopback: %w", err)
	}
	defer ln.Close()
	dialed, accepted, err := openPairs(ln, pairs)
	defer func() {
		// Close the accepted ends first so TIME_WAIT lands on them and does not
		// hold ephemeral ports that later runs need.
		for _, c := range accepted {
			_ = c.Close()
		}
		for _, c := range dialed {
			_ = c.Close()
		}
	}()
	if err != nil {
		return res, err
	}

	time.Sleep(settle)
	idle, err := read(procRoot)
	if err != nil {
		return res, fmt.Errorf("measure: %w", err)
	}
	n := float64(res.Sockets)
	res.SlabPerSocket = float64(idle.mem["Slab"]-before.mem["Slab"]) / n
	res.UnreclaimPerSocket = float64(idle.mem["SUnreclaim"]-before.mem["SUnreclaim"]) / n
	page := float64(res.PageSize)
	res.TCPMemIdlePerSocket = float64(idle.ss.MemPages-before.ss.MemPages) * page / n
	res.Caches = cacheGrowth(before.slab, idle.slab, n)
	for _, cg := range res.Caches {
		res.ObjectsPerSocket += cg.BytesPerSocket
	}

	// A small message each way, read at once: the state of an authenticated
	// connection between heartbeats.
	if err := exchange(dialed, accepted, 128); err != nil {
		return res, err
	}
	time.Sleep(settle)
	exch, err := read(procRoot)
	if err != nil {
		return res, fmt.Errorf("measure: %w", err)
	}
	res.TCPMemExchangedPerSocket = float64(exch.ss.MemPages-before.ss.MemPages) * page / n

	for _, size := range frameSizes {
		q, err := queueFrame(procRoot, dialed, accepted, size)
		if err != nil {
			return res, err
		}
		res.Queued = append(res.Queued, q)
	}
	return res, nil
}

// openPairs dials pairs connections to ln and accepts each.
func openPairs(ln net.Listener, pairs int) (dialed, accepted []net.Conn, err error) {
	type acc struct {
		conns []net.Conn
		err   error
	}
	done := make(chan acc, 1)
	go func() {
		var a acc
		for len(a.conns) < pairs {
			c, err := ln.Accept()
			if err != nil {
				a.err = fmt.Errorf("measure: accept connection %d: %w", len(a.conns)+1, err)
				break
			}
			a.conns = append(a.conns, c)
		}
		done <- a
	}()
	d := net.Dialer{Timeout: 5 * time.Second}
	for i := 0; i < pairs; i++ {
		c, derr := d.Dial("tcp", ln.Addr().String())
		if derr != nil {
			err = fmt.Errorf("measure: dial connection %d of %d: %w", i+1, pairs, derr)
			_ = ln.Close() // unblocks the accept loop
			break
		}
		dialed = append(dialed, c)
	}
	a := <-done
	if err == nil && a.err != nil {
		err = a.err
	}
	if err != nil {
		return dialed, a.conns, err
	}
	// Pair each accepted end with its dialer by address, so exchange and
	// queueFrame talk to the right peer whatever the accept order.
	at := make(map[string]int, len(dialed))
	for i, c := range dialed {
		at[c.LocalAddr().String()] = i
	}
	ordered := make([]net.Conn, len(dialed))
	for _, c := range a.conns {
		i, ok := at[c.RemoteAddr().String()]
		if !ok || ordered[i] != nil {
			return dialed, a.conns, fmt.Errorf("measure: accepted a connection from %s that this test did not dial",
				c.RemoteAddr())
		}
		ordered[i] = c
	}
	return dialed, ordered, nil
}

// exchange sends size bytes from each dialed end to its peer and back.
func exchange(dialed, accepted []net.Conn, size int) error {
	buf := make([]byte, size)
	for i := range dialed {
		if err := roundTrip(dialed[i], accepted[i], buf); err != nil {
			return fmt.Errorf("measure: exchange on pair %d: %w", i, err)
		}
		if err := roundTrip(accepted[i], dialed[i], buf); err != nil {
			return fmt.Errorf("measure: exchange on pair %d: %w", i, err)
		}
	}
	return nil
}

func roundTrip(from, to net.Conn, buf []byte) error {
	deadline := time.Now().Add(5 * time.Second)
	_ = from.SetDeadline(deadline)
	_ = to.SetDeadline(deadline)
	if _, err := from.Write(buf); err != nil {
		return err
	}
	_, err := io.ReadFull(to, buf)
	return err
}

// queueFrame writes one frame from every accepted end (the gateway's side),
// leaves it unread, reads the TCP memory, then drains it.
func queueFrame(procRoot string, dialed, accepted []net.Conn, size int) (QueuedFrame, error) {
	base, err := readSockstat(procRoot)
	if err != nil {
		return QueuedFrame{}, fmt.Errorf("measure: %w", err)
	}
	frame := make([]byte, size)
	for i, c := range accepted {
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(frame); err != nil {
			return QueuedFrame{}, fmt.Errorf("measure: queue a %d-byte frame on pair %d: %w", size, i, err)
		}
	}
	time.Sleep(settle)
	held, err := readSockstat(procRoot)
	if err != nil {
		return QueuedFrame{}, fmt.Errorf("measure: %w", err)
	}
	var errs []error
	for i, c := range dialed {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, frame); err != nil {
			errs = append(errs, fmt.Errorf("measure: drain the %d-byte frame on pair %d: %w", size, i, err))
			break
		}
	}
	pages := held.MemPages - base.MemPages
	return QueuedFrame{
		FrameBytes:    size,
		BytesPerFrame: float64(pages) * float64(syscall.Getpagesize()) / float64(len(accepted)),
	}, errors.Join(errs...)
}

// cacheGrowth lists the slab caches that grew by at least 0.05 objects per
// socket, largest first.
func cacheGrowth(before, after map[string]slabCache, sockets float64) []CacheGrowth {
	if before == nil || after == nil {
		return nil
	}
	var out []CacheGrowth
	for name, a := range after {
		objs := float64(a.Active-before[name].Active) / sockets
		if objs < 0.05 {
			continue
		}
		out = append(out, CacheGrowth{Name: name, ObjSize: a.ObjSize, ObjectsPerSocket: objs,
			BytesPerSocket: objs * float64(a.ObjSize)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BytesPerSocket > out[j].BytesPerSocket })
	return out
}
