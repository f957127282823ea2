package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/barrage/barrage/upstream/kafkabus/kafkatest"
)

// readPartition reads n messages from one partition from the beginning.
func readPartition(t *testing.T, addr, topic string, partition, n int) []kafka.Message {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{addr}, Topic: topic, Partition: partition,
		MaxWait: time.Second, // kafka-go misbehaves with shorter waits under -race
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read partition %d after %d of %d messages: %v", partition, len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

// partitionCounts reads the high watermark of every partition.
func partitionCounts(t *testing.T, addr, topic string, parts int) []int64 {
	t.Helper()
	out := make([]int64, parts)
	for p := range parts {
		conn, err := kafka.DialLeader(context.Background(), "tcp", addr, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		out[p], err = conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestProducerWritesEveryKind(t *testing.T) {
	const topic, parts = "push", 3
	br := kafkatest.Start(t, topic, parts)
	p, err := NewProducer(Config{Brokers: []string{br.Addr}, Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	before := time.Now().UnixNano()
	const perRoom = 20
	rooms := []string{"live://1", "live://2", "live://3", "live://4", "live://5"}
	for seq := int64(1); seq <= perRoom; seq++ {
		for _, r := range rooms {
			if err := p.BroadcastRoom(ctx, r, 1000, seq, []byte(fmt.Sprintf("%s #%d", r, seq))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.PushKeys(ctx, "gw-a", 1001, []string{"k1", "k2"}, []byte("to keys")); err != nil {
		t.Fatal(err)
	}
	if err := p.Broadcast(ctx, 1002, []byte("to all"), 7); err != nil {
		t.Fatal(err)
	}
	counts := partitionCounts(t, br.Addr, topic, parts)
	var total int64
	for _, c := range counts {
		total += c
	}
	if want := int64(len(rooms)*perRoom + 2); total != want {
		t.Fatalf("topic holds %d messages (%v per partition), want %d", total, counts, want)
	}
	seen := make(map[ID]bool)
	roomPart := make(map[string]int)
	nextSeq := make(map[string]int64)
	for part := range parts {
		for _, km := range readPartition(t, br.Addr, topic, part, int(counts[part])) {
			var m Message
			if err := Decode(km.Value, &m); err != nil {
				t.Fatalf("partition %d offset %d: %v", part, km.Offset, err)
			}
			if seen[m.ID] {
				t.Fatalf("id %s twice", m.ID)
			}
			seen[m.ID] = true
			if string(km.Key) != m.Key() {
				t.Fatalf("kafka key %q, message key %q", km.Key, m.Key())
			}
			if m.Time < before || m.Time > time.Now().UnixNano() {
				t.Fatalf("send time %d outside the test", m.Time)
			}
			switch m.Kind {
			case KindRoom:
				if p0, ok := roomPart[m.Room]; ok && p0 != part {
					t.Fatalf("room %s in partitions %d and %d", m.Room, p0, part)
				}
				roomPart[m.Room] = part
				nextSeq[m.Room]++
				if m.Seq != nextSeq[m.Room] || string(m.Body) != fmt.Sprintf("%s #%d", m.Room, m.Seq) {
					t.Fatalf("room %s: got seq %d body %q, want seq %d (order within the partition)", m.Room, m.Seq, m.Body, nextSeq[m.Room])
				}
			case KindKeys:
				if m.Server != "gw-a" || strings.Join(m.Keys, ",") != "k1,k2" || m.Op != 1001 || string(m.Body) != "to keys" {
					t.Fatalf("keys push decoded as %+v", m)
				}
			case KindAll:
				if m.Speed != 7 || m.Op != 1002 || string(m.Body) != "to all" || string(km.Key) != AllKey {
					t.Fatalf("broadcast decoded as %+v", m)
				}
			}
		}
	}
	if len(roomPart) != len(rooms) {
		t.Fatalf("saw %d rooms, want %d", len(roomPart), len(rooms))
	}
}

// TestProducerFailsWhenKafkaGoes: the push API must answer an error, never a
// silent success, and within WriteTimeout.
func TestProducerFailsWhenKafkaGoes(t *testing.T) {
	br := kafkatest.Start(t, "push", 1)
	const timeout = 2 * time.Second
	p, err := NewProducer(Config{Brokers: []string{br.Addr}, Topic: "push", WriteTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	if err := p.BroadcastRoom(ctx, "live://1", 1000, 1, []byte("x")); err != nil {
		t.Fatalf("push while kafka is up: %v", err)
	}
	br.Close()
	for i := range 3 { // the first may fail on the broken connection, later ones on dialing
		t0 := time.Now()
		err := p.BroadcastRoom(ctx, "live://1", 1000, int64(i+2), []byte("x"))
		el := time.Since(t0)
		if err == nil {
			t.Fatalf("push %d succeeded with kafka closed", i)
		}
		if el > timeout+time.Second {
			t.Fatalf("push %d took %s to fail, WriteTimeout is %s", i, el, timeout)
		}
		if !strings.Contains(err.Error(), `topic "push"`) {
			t.Fatalf("error does not say what failed: %v", err)
		}
		t.Logf("push %d failed after %s: %v", i, el.Round(time.Millisecond), err)
	}
}

func TestProducerFailsWhenKafkaNeverWasThere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	p, err := NewProducer(Config{Brokers: []string{addr}, WriteTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t0 := time.Now()
	err = p.Broadcast(context.Background(), 1000, nil, 0)
	if err == nil {
		t.Fatal("push succeeded with no kafka")
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Fatalf("took %s to fail", el)
	}
	t.Logf("error: %v", err)
}

func TestProducerConfig(t *testing.T) {
	if _, err := NewProducer(Config{}); err == nil || !strings.Contains(err.Error(), "no brokers") {
		t.Fatalf("no brokers: err %v", err)
	}
	if _, err := NewProducer(Config{Brokers: []string{"x:1"}, RequiredAcks: 2}); err == nil {
		t.Fatal("RequiredAcks 2 accepted")
	}
	p, err := NewProducer(Config{Brokers: []string{"x:1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Config()
	if c.Topic != DefaultTopic || c.BatchTimeout != DefaultBatchTimeout || c.BatchSize != DefaultBatchSize ||
		c.WriteTimeout != DefaultWriteTimeout || c.RequiredAcks != AcksAll || c.MaxAttempts != DefaultMaxAttempts {
		t.Fatalf("defaults not applied: %+v", c)
	}
	err = p.PushKeys(context.Background(), "", 1000, []string{"k"}, nil)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("push to an empty server: err %v, want ErrMalformed", err)
	}
}

func TestCreateTopic(t *testing.T) {
	br := kafkatest.Start(t, "", 0)
	ctx := context.Background()
	if err := CreateTopic(ctx, []string{br.Addr}, "made", 6, 1); err != nil {
		t.Fatal(err)
	}
	if err := CreateTopic(ctx, []string{br.Addr}, "made", 6, 1); err != nil {
		t.Fatalf("creating an existing topic: %v", err)
	}
	conn, err := kafka.Dial("tcp", br.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ps, err := conn.ReadPartitions("made")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 6 {
		t.Fatalf("topic has %d partitions, want 6", len(ps))
	}
	if err := CreateTopic(ctx, []string{br.Addr}, "bad", 0, 1); err == nil {
		t.Fatal("0 partitions accepted")
	}
}
