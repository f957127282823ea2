package bench

import (
	"github.com/barrage/barrage/internal/freeport"

	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// gatewayReadyTimeout bounds the wait for a spawned gateway to answer HTTP.
const gatewayReadyTimeout = 15 * time.Second

// gatewayProc is a `barrage run` the driver spawned, on free loopback ports.
type gatewayProc struct {
	cmd           *exec.Cmd
	tcp, ws, http string
	exited        chan struct{} // closed when the process has been waited for
	waitErr       error         // valid once exited is closed
	stopTimeout   time.Duration
}

// startGateway runs `exe run` with log level warn on the given loopback
// addresses plus extra flags (which come last, so they can override
// anything), and waits until its HTTP API answers.
func startGateway(ctx context.Context, exe, tcp, ws, httpAddr string, extra []string, stderr io.Writer) (*gatewayProc, error) {
	g := &gatewayProc{tcp: tcp, ws: ws, http: httpAddr, exited: make(chan struct{}), stopTimeout: 10 * time.Second}
	args := []string{"run",
		"-gateway.tcp_addr", g.tcp, "-gateway.ws_addr", g.ws, "-http.addr", g.http, "-log.level", "warn"}
	args = append(args, extra...)
	g.cmd = exec.Command(exe, args...)
	g.cmd.Stdout = stderr // the driver's stdout is for the report
	g.cmd.Stderr = stderr
	// The gateway must not outlive a driver that is killed.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start gateway %s: %w", exe, err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.exited)
	}()
	if err := g.waitReady(ctx); err != nil {
		_ = g.stop()
		return nil, err
	}
	return g, nil
}

func (g *gatewayProc) pid() int { return g.cmd.Process.Pid }

// waitReady polls the online API until it answers 200.
func (g *gatewayProc) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, gatewayReadyTimeout)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	url := "http://" + g.http + "/goim/online/total"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-g.exited:
			return fmt.Errorf("bench: the gateway exited before it was ready (flags %v): %v", g.cmd.Args[1:], g.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("bench: the gateway did not answer GET %s within %s: %v", url, gatewayReadyTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits for a graceful exit, then kills.
func (g *gatewayProc) stop() error {
	select {
	case <-g.exited:
		return fmt.Errorf("bench: the gateway had already exited: %v", g.waitErr)
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
		var ee *exec.ExitError
		if g.waitErr != nil && !errors.As(g.waitErr, &ee) {
			return g.waitErr
		}
		return nil
	case <-time.After(g.stopTimeout):
		_ = g.cmd.Process.Kill()
		<-g.exited
		return fmt.Errorf("bench: the gateway did not stop within %s of SIGTERM and was killed", g.stopTimeout)
	}
}

// freeLoopbackAddrs returns n distinct free ports on 127.0.0.1, chosen outside
// the ephemeral range so the fleet's own client connections cannot take one
// before the gateway binds it.
func freeLoopbackAddrs(n int) ([]string, error) {
	addrs, err := freeport.Addrs(n)
	if err != nil {
		return nil, fmt.Errorf("bench: find a free port: %w", err)
	}
	return addrs, nil
}
