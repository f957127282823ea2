package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// cmdDevKafka is `barrage dev-kafka`: an in-memory Kafka-protocol broker (kfake,
// from franz-go) for the local multi-process stack and tests. It keeps nothing
// on disk and is not a production broker; deploy/ targets Apache Kafka.
func cmdDevKafka(args []string) error {
	fs := flag.NewFlagSet("dev-kafka", flag.ContinueOnError)
	port := fs.Int("port", 9092, "TCP port on 127.0.0.1")
	topics := fs.String("topics", "barrage-push", "comma-separated topics to create")
	partitions := fs.Int("partitions", 8, "partitions per topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := kfake.NewCluster(
		kfake.Ports(*port),
		kfake.SeedTopics(int32(*partitions), strings.Split(*topics, ",")...),
		kfake.DefaultNumPartitions(*partitions),
		kfake.AllowAutoTopicCreation(),
	)
	if err != nil {
		return fmt.Errorf("dev-kafka: %w", err)
	}
	defer c.Close()
	slog.Info("dev-kafka: Kafka-protocol broker (in memory, for development) listening", "addrs", c.ListenAddrs(),
		"topics", *topics, "partitions", *partitions)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
