package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/barrage/barrage/gateway"
	"github.com/barrage/barrage/upstream/logic"
)

// Config is the one configuration of every role. Each field documents its
// default; zero values mean the default. It loads from a TOML file, then
// BARRAGE_* environment variables, then flags, each overriding the one before.
//
// Every leaf setting has the same three names: TOML key gateway.tcp_addr,
// environment BARRAGE_GATEWAY_TCP_ADDR, flag -gateway.tcp_addr.
type Config struct {
	Gateway gateway.Config `toml:"gateway"`
	Logic   logic.Config   `toml:"logic"`
	HTTP    HTTPConfig     `toml:"http"`
	Log     LogConfig      `toml:"log"`
	// Distributed mode only (barrage gateway, logic, job).
	Redis RedisConfig `toml:"redis"`
	Kafka KafkaConfig `toml:"kafka"`
	RPC   RPCConfig   `toml:"rpc"`
	Admin AdminConfig `toml:"admin"`
	Tune  TuneConfig  `toml:"tune"`
}

// TuneConfig states what the host is meant to hold, so start-up can say when a
// limit is in the way (docs/TUNING.md).
type TuneConfig struct {
	// TargetConns is the connections this process is meant to hold; at start a
	// gateway warns, with the numbers, when the open-file limit caps it. Default 0 (no check).
	TargetConns int `toml:"target_conns"`
}

// HTTPConfig is logic's HTTP listener: the goim push and online API, /metrics
// and /debug/pprof.
type HTTPConfig struct {
	// Addr is the listen address. Default ":3111" (goim's).
	Addr string `toml:"addr"`
}

// LogConfig configures log/slog.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string `toml:"level"`
	// Format is text or json. Default text.
	Format string `toml:"format"`
}

func (c *Config) setDefaults() {
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = ":3111"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	c.setDistributedDefaults()
}

// logger builds the process logger from the log settings.
func (c *Config) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.Log.Format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log.format: %q is neither text nor json", c.Log.Format)
}

// loadConfig reads -config FILE (or BARRAGE_CONFIG), then the environment, then
// the flags in args.
func loadConfig(name string, args []string, env func(string) string) (*Config, error) {
	cfg := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	file := fs.String("config", env("BARRAGE_CONFIG"), "TOML configuration file (env BARRAGE_CONFIG)")
	leaves := settings(reflect.ValueOf(cfg).Elem(), "")
	setByFlag := map[string]string{}
	for _, l := range leaves {
		l := l
		fs.Func(l.key, l.help(), func(v string) error {
			setByFlag[l.key] = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *file != "" {
		md, err := toml.DecodeFile(*file, cfg)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", *file, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, fmt.Errorf("config file %s: unknown settings %v", *file, und)
		}
	}
	for _, l := range leaves {
		if v := env(l.env()); v != "" {
			if err := l.set(v); err != nil {
				return nil, fmt.Errorf("environment %s: %w", l.env(), err)
			}
		}
	}
	for _, l := range leaves {
		if v, ok := setByFlag[l.key]; ok {
			if err := l.set(v); err != nil {
				return nil, fmt.Errorf("flag -%s: %w", l.key, err)
			}
		}
	}
	cfg.setDefaults()
	return cfg, nil
}

// setting is one leaf of Config.
type setting struct {
	key string // gateway.tcp_addr
	v   reflect.Value
}

func (s setting) env() string {
	return "BARRAGE_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(s.key))
}

func (s setting) help() string {
	return fmt.Sprintf("%s (%s, env %s)", s.key, s.v.Type(), s.env())
}

var durationType = reflect.TypeOf(time.Duration(0))

func (s setting) set(v string) error {
	switch {
	case s.v.Type() == durationType:
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		s.v.SetInt(int64(d))
	case s.v.Kind() == reflect.String:
		s.v.SetString(v)
	case s.v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		s.v.SetBool(b)
	case s.v.CanInt():
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		s.v.SetInt(n)
	case s.v.Kind() == reflect.Slice && s.v.Type().Elem().Kind() == reflect.String:
		// Lists come comma-separated from the environment and flags.
		var items []string
		for _, it := range strings.Split(v, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		s.v.Set(reflect.ValueOf(items))
	default:
		return errors.New("unsupported setting type " + s.v.Type().String())
	}
	return nil
}

// settings lists the TOML-tagged leaves of a struct, depth first.
func settings(v reflect.Value, prefix string) []setting {
	var out []setting
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		key := prefix + tag
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			out = append(out, settings(v.Field(i), key+".")...)
			continue
		}
		out = append(out, setting{key: key, v: v.Field(i)})
	}
	return out
}
