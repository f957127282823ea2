// Package shard keeps who is connected where: connection key -> connection,
// mid -> connections, and room -> members with a per-room online count, in
// lock-striped maps (a power-of-two number of stripes, each with its own lock).
//
// Rooms keep their members split by lane (the gateway's event-loop index), so each
// event loop can copy out exactly the members it owns and write to them itself.
// Copying into a caller-owned slice allocates nothing once the slice has grown, and
// no stripe lock is ever held by a caller while it writes to a socket: the lock
// covers the copy only.
//
// Lock order: a goroutine holds at most one stripe lock at a time; key, mid and
// room stripes are never nested. Callers must not call back into the Table while
// iterating (Rooms' callback runs under a read lock and must only read).
//
// shard imports nothing of Barrage's.
package shard
