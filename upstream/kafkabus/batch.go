package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"
)

// WriteBatch sends msgs in one call and waits until Kafka acknowledged all of
// them. Messages with the same Key land in one partition in slice order, which
// is how logic keeps a room's sequence numbers in partition order. IDs and
// times are filled in as Write does. On error the fate of each message is
// unknown (some may be stored): the error covers the whole batch.
func (p *Producer) WriteBatch(ctx context.Context, msgs []*Message) error {
	if len(msgs) == 0 {
		return nil
	}
	kms := make([]kafka.Message, len(msgs))
	now := p.now().UnixNano()
	for i, m := range msgs {
		if m.ID == (ID{}) {
			m.ID = p.ids.Next()
		}
		if m.Time == 0 {
			m.Time = now
		}
		value, err := AppendEncode(nil, m)
		if err != nil {
			return fmt.Errorf("kafkabus: %s push: %w", m.Kind, err)
		}
		kms[i] = kafka.Message{Key: []byte(m.Key()), Value: value}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.WriteTimeout)
	defer cancel()
	if err := p.w.WriteMessages(ctx, kms...); err != nil {
		return fmt.Errorf("kafkabus: write %d pushes to topic %q at %s: %w",
			len(msgs), p.cfg.Topic, strings.Join(p.cfg.Brokers, ","), firstWriteError(err))
	}
	return nil
}

// firstWriteError names the first failed message's error instead of kafka-go's
// "kafka write errors (n/m)".
func firstWriteError(err error) error {
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil {
				return fmt.Errorf("%d of %d failed, first: %w", we.Count(), len(we), e)
			}
		}
	}
	return err
}
