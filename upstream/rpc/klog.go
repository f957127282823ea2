package rpc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/cloudwego/kitex/pkg/klog"
)

// UseSlog routes Kitex's own logging (one global logger in Kitex: listen
// addresses, connection errors, panics in handlers) to log, so a Barrage
// process writes one log format. Kitex's Info lines are routine ("server listen
// at ...") and go to Debug; Notice goes to Info. Call it once at start-up,
// before building servers or clients: Kitex's klog.SetLogger is not safe to
// call while Kitex is logging.
func UseSlog(log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	klog.SetLogger(&slogKitex{log: log.With("component", "kitex")})
}

// slogKitex implements klog.FullLogger over slog.
type slogKitex struct{ log *slog.Logger }

func kitexLevel(l klog.Level) slog.Level {
	switch l {
	case klog.LevelTrace, klog.LevelDebug, klog.LevelInfo:
		return slog.LevelDebug
	case klog.LevelNotice:
		return slog.LevelInfo
	case klog.LevelWarn:
		return slog.LevelWarn
	default: // Error, Fatal. Kitex's default logger exits on Fatal; here the
		// process goes on, and cmd/barrage decides when to stop.
		return slog.LevelError
	}
}

var bg = context.Background()

// retryNotice starts the WARN Kitex logs for every failed dial before it tries
// again (up to 6 per call). The call's own error reaches the caller, who
// decides what to log; one WARN per attempt would flood the log while a peer is
// down (job pushing to a gateway that died), so these go to Debug.
const retryNotice = "KITEX: auto retry retryable error"

func (k *slogKitex) emit(ctx context.Context, l klog.Level, msg string) {
	lv := kitexLevel(l)
	if lv == slog.LevelWarn && strings.HasPrefix(msg, retryNotice) {
		lv = slog.LevelDebug
	}
	k.log.Log(ctx, lv, msg)
}

func (k *slogKitex) Trace(v ...any)  { k.emit(bg, klog.LevelTrace, fmt.Sprint(v...)) }
func (k *slogKitex) Debug(v ...any)  { k.emit(bg, klog.LevelDebug, fmt.Sprint(v...)) }
func (k *slogKitex) Info(v ...any)   { k.emit(bg, klog.LevelInfo, fmt.Sprint(v...)) }
func (k *slogKitex) Notice(v ...any) { k.emit(bg, klog.LevelNotice, fmt.Sprint(v...)) }
func (k *slogKitex) Warn(v ...any)   { k.emit(bg, klog.LevelWarn, fmt.Sprint(v...)) }
func (k *slogKitex) Error(v ...any)  { k.emit(bg, klog.LevelError, fmt.Sprint(v...)) }
func (k *slogKitex) Fatal(v ...any)  { k.emit(bg, klog.LevelFatal, fmt.Sprint(v...)) }

func (k *slogKitex) Tracef(f string, v ...any)  { k.emit(bg, klog.LevelTrace, fmt.Sprintf(f, v...)) }
func (k *slogKitex) Debugf(f string, v ...any)  { k.emit(bg, klog.LevelDebug, fmt.Sprintf(f, v...)) }
func (k *slogKitex) Infof(f string, v ...any)   { k.emit(bg, klog.LevelInfo, fmt.Sprintf(f, v...)) }
func (k *slogKitex) Noticef(f string, v ...any) { k.emit(bg, klog.LevelNotice, fmt.Sprintf(f, v...)) }
func (k *slogKitex) Warnf(f string, v ...any)   { k.emit(bg, klog.LevelWarn, fmt.Sprintf(f, v...)) }
func (k *slogKitex) Errorf(f string, v ...any)  { k.emit(bg, klog.LevelError, fmt.Sprintf(f, v...)) }
func (k *slogKitex) Fatalf(f string, v ...any)  { k.emit(bg, klog.LevelFatal, fmt.Sprintf(f, v...)) }

func (k *slogKitex) CtxTracef(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelTrace, fmt.Sprintf(f, v...))
}
func (k *slogKitex) CtxDebugf(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelDebug, fmt.Sprintf(f, v...))
}
func (k *slogKitex) CtxInfof(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelInfo, fmt.Sprintf(f, v...))
}
func (k *slogKitex) CtxNoticef(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelNotice, fmt.Sprintf(f, v...))
}
func (k *slogKitex) CtxWarnf(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelWarn, fmt.Sprintf(f, v...))
}
func (k *slogKitex) CtxErrorf(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelError, fmt.Sprintf(f, v...))
}
func (k *slogKitex) CtxFatalf(ctx context.Context, f string, v ...any) {
	k.emit(ctx, klog.LevelFatal, fmt.Sprintf(f, v...))
}

// SetLevel and SetOutput are no-ops: the slog handler decides both.
func (k *slogKitex) SetLevel(klog.Level) {}
func (k *slogKitex) SetOutput(io.Writer) {}
