package redisstore

import (
	"github.com/barrage/barrage/internal/freeport"

	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The package's tests share one throwaway redis-server started by TestMain;
// each test writes under its own key prefix. Tests that kill Redis or need a
// cluster start their own servers.
var (
	sharedAddr string
	skipReason string // set when redis-server cannot run: every test skips with it
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the failure tests cause hundreds.
	redis.SetLogger(quietLogger{})
	dir, err := os.MkdirTemp("", "redisstore-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "redisstore tests: temp dir:", err)
		os.Exit(1)
	}
	var srv *redisProc
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipReason = "redis-server is not on PATH: install Redis (apt-get install redis-server) to run the redisstore tests"
	} else if srv, err = startRedis(freePort(), dir); err != nil {
		skipReason = "cannot start redis-server: " + err.Error()
	} else {
		sharedAddr = srv.addr()
	}
	if skipReason != "" {
		fmt.Fprintln(os.Stderr, "SKIP redisstore tests:", skipReason)
	}
	code := m.Run()
	if srv != nil {
		srv.stop()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// needRedis skips the test when TestMain could not start Redis.
func needRedis(tb testing.TB) {
	tb.Helper()
	if skipReason != "" {
		tb.Skip(skipReason)
	}
}

var prefixSeq atomic.Int64

// newStore returns a Store on the shared Redis under a key prefix of its own,
// so tests can run in parallel and never see each other's keys.
func newStore(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	needRedis(tb)
	cfg.Addrs = []string{sharedAddr}
	cfg.KeyPrefix = uniquePrefix(tb)
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// uniquePrefix is a key prefix no other test (or run, with -count) uses.
func uniquePrefix(tb testing.TB) string {
	return fmt.Sprintf("t%d-%d:%s:", time.Now().UnixNano(), prefixSeq.Add(1), tb.Name())
}

// redisProc is a redis-server child process.
type redisProc struct {
	cmd  *exec.Cmd
	port int
	args []string
}

func (p *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// startRedis runs a redis-server without persistence on port and waits until
// it answers PING.
func startRedis(port int, dir string, extra ...string) (*redisProc, error) {
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", ""}, extra...)
	p := &redisProc{port: port, args: args}
	return p, p.start()
}

func (p *redisProc) start() error {
	p.cmd = exec.Command("redis-server", p.args...)
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server on port %d: %w", p.port, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ping(p.addr()) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return fmt.Errorf("redis-server on port %d did not answer PING within 5s", p.port)
}

// stop kills the server and waits for it to exit.
func (p *redisProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// ping reports whether a server at addr answers PING, without go-redis.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// freePort returns a TCP port nobody listens on right now, outside the
// ephemeral range so no outgoing connection can take it before redis binds.
func freePort() int {
	p, err := freeport.Pick()
	if err != nil {
		panic(err)
	}
	return p
}

// countingHook counts round trips: single commands and pipelines.
type countingHook struct{ cmds, pipes atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipes.Add(1)
		return next(ctx, cmds)
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
