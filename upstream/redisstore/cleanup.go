package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// cleanupLockTTL bounds how long one logic instance owns the cleanup of a dead
// gateway; past it another instance may redo the (idempotent) work.
const cleanupLockTTL = time.Minute

// cleanupBatch is how many route-set members one cleanup round trip handles.
const cleanupBatch = 1000

// CleanupDeadGateways removes the routes of every gateway that registered
// before (it is in the seen set) but whose registry entry has been missing
// (expired, or deregistered) for CleanupGrace, and forgets the gateway. It
// returns the names whose routes it removed.
//
// Logic runs it periodically (every GatewayTTL); the grace is counted from the
// first run that finds the entry missing, so with the defaults a dead
// gateway's routes go between about 90 s and 150 s after its last heartbeat.
// A gateway that registers again before that keeps its routes. Several logic
// instances may run it at once: a lock per gateway keeps them from duplicating
// work, and every delete only removes a route still pointing at the dead
// gateway, so a key that moved to a live gateway is kept.
func (s *Store) CleanupDeadGateways(ctx context.Context) (removed []string, err error) {
	names, err := s.rdb.SMembers(ctx, s.keys.gateways()).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: cleanup dead gateways: list seen gateways: %w", err)
	}
	due, err := s.dueForCleanup(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("redisstore: cleanup dead gateways: %w", err)
	}
	var errs []error
	for _, name := range due {
		ok, err := s.cleanGateway(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("redisstore: cleanup dead gateway %q: %w", name, err))
			continue
		}
		if ok {
			removed = append(removed, name)
		}
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

// dueForCleanup marks the gateways among names whose registry entry is gone
// as missing (clearing every other mark) and returns those marked at least
// CleanupGrace ago.
func (s *Store) dueForCleanup(ctx context.Context, names []string) ([]string, error) {
	missing, err := s.missingOf(ctx, names)
	if err != nil {
		return nil, err
	}
	// Run even with nothing missing: the script also drops stale marks.
	args := make([]any, len(missing))
	for i, n := range missing {
		args[i] = n
	}
	p := s.rdb.Pipeline()
	mark := scriptGwMark.run(ctx, p, s.keys.gwMissing(), args...)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return nil, fmt.Errorf("mark %d missing gateways: %w", len(missing), err)
	}
	ages, err := mark.Int64Slice()
	if err != nil || len(ages) != len(missing) {
		return nil, fmt.Errorf("mark %d missing gateways: unexpected reply %v (%v)", len(missing), mark.Val(), err)
	}
	grace := s.cfg.CleanupGrace.Milliseconds()
	var due, fresh []string
	for i, age := range ages {
		switch {
		case age < 0:
			fresh = append(fresh, missing[i])
		case age >= grace:
			due = append(due, missing[i])
		}
	}
	// A gateway that registered between the existence check and the mark
	// would carry a mark while alive, and its next short absence would be
	// cleaned without a grace: take such marks back. (Its RegisterGateway
	// clears the mark after writing the entry, so either that clear comes
	// after our mark or this check sees the entry.)
	back, err := s.missingOf(ctx, fresh)
	if err != nil {
		return nil, err
	}
	if alive := without(fresh, back); len(alive) > 0 {
		if err := s.rdb.HDel(ctx, s.keys.gwMissing(), alive...).Err(); err != nil {
			return nil, fmt.Errorf("unmark %d gateways that came back: %w", len(alive), err)
		}
	}
	return due, nil
}

// missingOf returns the names among names whose registry entry is gone.
func (s *Store) missingOf(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	p := s.rdb.Pipeline()
	exists := make([]*redis.IntCmd, len(names))
	for i, n := range names {
		exists[i] = p.Exists(ctx, s.keys.gwInfo(n))
	}
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return nil, fmt.Errorf("check %d registry entries: %w", len(names), err)
	}
	var missing []string
	for i, e := range exists {
		if e.Val() == 0 {
			missing = append(missing, names[i])
		}
	}
	return missing, nil
}

// without returns the members of all that are not in drop.
func without(all, drop []string) []string {
	skip := make(map[string]bool, len(drop))
	for _, d := range drop {
		skip[d] = true
	}
	var out []string
	for _, a := range all {
		if !skip[a] {
			out = append(out, a)
		}
	}
	return out
}

// cleanGateway removes one dead gateway's routes. It reports false without an
// error when another logic instance holds the cleanup, or the gateway came
// back (registered again) or lost its mark before the work started.
//
// Order matters against a racing RegisterGatewayRevived (entry first, then
// mark, seen set and lock): the lock is taken before the re-check, so a
// gateway registering after the re-check sees the lock and reports revived.
func (s *Store) cleanGateway(ctx context.Context, name string) (bool, error) {
	lock := s.keys.gwCleanup(name)
	got, err := s.rdb.SetNX(ctx, lock, "1", cleanupLockTTL).Result()
	if err != nil {
		return false, fmt.Errorf("take the cleanup lock: %w", err)
	}
	if !got {
		return false, nil
	}
	// Re-check under the lock: another instance may have finished this
	// gateway, or it registered again, since dueForCleanup looked.
	p := s.rdb.Pipeline()
	alive := p.Exists(ctx, s.keys.gwInfo(name))
	age := scriptGwMarkAge.run(ctx, p, s.keys.gwMissing(), name)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		s.unlock(name)
		return false, fmt.Errorf("check it is still missing: %w", err)
	}
	if ms, _ := age.Int64(); alive.Val() > 0 || ms < 0 || ms < s.cfg.CleanupGrace.Milliseconds() {
		s.unlock(name)
		return false, nil
	}
	// Tell the gateway, should it come back, that its routes are gone.
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := s.rdb.Set(ctx, s.keys.gwCleaned(name), now, s.cfg.RouteTTL).Err(); err != nil {
		s.unlock(name)
		return false, fmt.Errorf("record the cleanup: %w", err)
	}
	if err := s.deleteSnapshot(ctx, name); err != nil {
		return false, err // the lock lapses; the next sweep resumes from the dead copy
	}
	if err := s.forget(ctx, name); err != nil {
		return false, err
	}
	return true, nil
}

// unlock releases a cleanup lock early. A failure only leaves the lock to
// lapse after cleanupLockTTL.
func (s *Store) unlock(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WriteTimeout)
	defer cancel()
	_ = s.rdb.Del(ctx, s.keys.gwCleanup(name)).Err()
}

// deleteSnapshot renames the gateway's routes set to its dead copy and deletes
// the routes listed there. Routes recorded afterwards under the same name (a
// gateway restarted before the cleanup ran; its connections arrive before its
// first registration) land in a fresh routes set and are kept, and so is any
// listed route that was recorded again since the snapshot (same key, or a
// revived gateway's heartbeat). A dead copy left by a cleanup that failed
// half-way is finished first, so the rename does not overwrite it.
func (s *Store) deleteSnapshot(ctx context.Context, name string) error {
	routes, dead := s.keys.gwRoutes(name), s.keys.gwRoutesDead(name)
	if err := s.deleteCopy(ctx, name); err != nil {
		return err
	}
	// RENAMENX names two keys; their {gw:<name>} hash tag puts them in one
	// cluster slot, so it is atomic on a cluster too.
	err := s.rdb.RenameNX(ctx, routes, dead).Err()
	if redis.HasErrorPrefix(err, "no such key") { // "ERR no such key"; HasErrorPrefix drops "ERR "
		return nil // no routes recorded (or all removed by disconnects)
	}
	if err != nil {
		return fmt.Errorf("snapshot its routes set: %w", err)
	}
	if s.afterSnapshot != nil {
		s.afterSnapshot(name)
	}
	return s.deleteCopy(ctx, name)
}

// deleteCopy deletes the routes listed in the gateway's dead copy, then the
// copy. Nothing else writes the copy, so SSCAN sees every member once.
func (s *Store) deleteCopy(ctx context.Context, name string) error {
	dead := s.keys.gwRoutesDead(name)
	var cursor uint64
	for {
		members, next, err := s.rdb.SScan(ctx, dead, cursor, "", cleanupBatch).Result()
		if err != nil {
			return fmt.Errorf("scan its routes snapshot: %w", err)
		}
		if err := s.deleteRoutesOf(ctx, name, members); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if err := s.rdb.Del(ctx, dead).Err(); err != nil {
		return fmt.Errorf("delete its routes snapshot: %w", err)
	}
	return nil
}

// deleteRoutesOf deletes the key routes and mid fields named by route-set
// members ("<mid>|<key>") that still point at server, except those recorded
// again in server's current routes set since the snapshot: one round trip to
// check, one to delete.
func (s *Store) deleteRoutesOf(ctx context.Context, server string, members []string) error {
	if len(members) == 0 {
		return nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	again, err := s.rdb.SMIsMember(ctx, s.keys.gwRoutes(server), args...).Result()
	if err != nil {
		return fmt.Errorf("check %d routes against its current routes set: %w", len(members), err)
	}
	p := s.rdb.Pipeline()
	n := 0
	for i, m := range members {
		mid, key, ok := splitNum(m)
		if !ok || again[i] {
			continue
		}
		scriptRouteDelIf.run(ctx, p, s.keys.route(key), server)
		if mid != 0 {
			scriptMidDelIf.run(ctx, p, s.keys.mid(mid), key, server)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("delete %d routes: %w", n, err)
	}
	return nil
}

// forget drops a cleaned gateway from the seen set and the missing marks and
// releases the lock. The name leaves the seen set before the entry is checked
// again: a gateway registering meanwhile either adds itself back after that
// or wrote its entry before the check, which then puts the name back. Its
// counts are deleted only if it did not come back.
func (s *Store) forget(ctx context.Context, name string) error {
	p := s.rdb.Pipeline()
	p.SRem(ctx, s.keys.gateways(), name)
	p.HDel(ctx, s.keys.gwMissing(), name)
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("forget it: %w", err)
	}
	back, err := s.rdb.Exists(ctx, s.keys.gwInfo(name)).Result()
	if err != nil {
		return fmt.Errorf("check the registry entry again: %w", err)
	}
	p = s.rdb.Pipeline()
	if back > 0 {
		p.SAdd(ctx, s.keys.gateways(), name)
	} else {
		p.Del(ctx, s.keys.online(name))
		p.ZRem(ctx, s.keys.onlineIndex(), name)
	}
	p.Del(ctx, s.keys.gwCleanup(name))
	if _, err := execPipe(ctx, s.rdb, p); err != nil {
		return fmt.Errorf("forget it: %w", err)
	}
	return nil
}
