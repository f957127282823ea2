// Package codec is the bytes on the wire: the goim-compatible packet format
// (16-byte big-endian header plus body), the auth body, op-9 batches, and the
// WebSocket framing Barrage needs for its own packets.
//
// It is pure: no I/O, no goroutines, no shared state, and it imports nothing
// of Barrage's. Decoders never allocate and never panic on any input (each has
// a fuzz target); encoders append to a caller-owned buffer so the hot path can
// reuse memory. A Frame is the immutable result of encoding one batch once so
// that it can be written by reference to any number of connections.
package codec
