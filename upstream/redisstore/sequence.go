package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// NextRoomSeqs reserves counts[room] consecutive sequence numbers of each room
// and returns each room's first: one pipelined INCRBY per room, one round trip
// per node, however many rooms the batch holds (logic numbers all pending room
// pushes at once).
func (s *Store) NextRoomSeqs(ctx context.Context, counts map[string]int64) (map[string]int64, error) {
	cmds := make(map[string]*redis.IntCmd, len(counts))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for room, n := range counts {
			if n <= 0 {
				return fmt.Errorf("redisstore: reserve %d sequence numbers of room %q: n must be positive", n, room)
			}
			cmds[room] = p.IncrBy(ctx, s.keys.seq(room), n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redisstore: reserve sequence numbers of %d rooms: %w", len(counts), err)
	}
	first := make(map[string]int64, len(counts))
	for room, cmd := range cmds {
		first[room] = cmd.Val() - counts[room] + 1
	}
	return first, nil
}
