package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/barrage/barrage/bench"
)

// cmdBench is `barrage bench`: the load-harness driver. It spawns the gateways
// (unless told to target a running stack) and the worker processes, and
// prints the report as a Markdown table; -suite runs the standard list of
// scenarios instead.
func cmdBench(args []string) error {
	sc, err := bench.ParseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find the barrage binary to spawn: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The command as typed, for the suite's report ("./bin/barrage bench -suite standard ...").
	env := bench.Env{Exe: exe, Stderr: os.Stderr, Log: log, Command: bench.ShellJoin(append([]string{os.Args[0], "bench"}, args...))}
	if sc.Suite != "" {
		err := bench.RunSuite(ctx, sc, env, os.Stdout)
		if err != nil && ctx.Err() != nil {
			return errors.New("bench: interrupted; the gateways and workers were stopped")
		}
		return err
	}
	rep, err := bench.Run(ctx, sc, env)
	if err != nil && ctx.Err() != nil {
		return errors.New("bench: interrupted; the gateways and workers were stopped")
	}
	if rep != nil {
		if werr := rep.WriteMarkdown(os.Stdout); werr != nil {
			err = errors.Join(err, werr)
		}
		if sc.JSONFile != "" {
			err = errors.Join(err, rep.AppendJSONLine(sc.JSONFile))
		}
		if sc.ChartsDir != "" {
			paths, cerr := rep.WriteCharts(sc.ChartsDir)
			err = errors.Join(err, cerr)
			if cerr == nil {
				log.Info("bench: charts written", "files", strings.Join(paths, ", "))
			}
		}
	}
	return err
}

// cmdBenchWorker is `barrage bench-worker`, spawned by cmdBench: it holds a
// share of the connections and talks to the driver over stdin and stdout.
func cmdBenchWorker(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("bench-worker: takes no arguments (it is spawned by barrage bench), got %v", args)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// SIGINT reaches the whole process group on Ctrl-C: leave the shutdown to
	// the driver, which closes stdin.
	signal.Ignore(os.Interrupt)
	return bench.RunWorker(context.Background(), os.Stdin, os.Stdout, log)
}
