package main

import (
	"errors"
	"os"

	"github.com/BurntSushi/toml"

	"github.com/barrage/barrage/upstream/logic"
)

// cmdConfig prints the configuration in force (defaults, then file, env and
// flags applied) as TOML, ready to be saved and edited.
func cmdConfig(args []string) error {
	cfg, err := loadConfig("config", args, os.Getenv)
	if err != nil {
		return err
	}
	cfg.Gateway = cfg.Gateway.WithDefaults()
	if cfg.Logic.Heartbeat == 0 {
		cfg.Logic.Heartbeat = logic.DefaultHeartbeat
	}
	if cfg.Logic.MaxPushBody == 0 {
		cfg.Logic.MaxPushBody = logic.DefaultMaxPushBody
	}
	enc := toml.NewEncoder(os.Stdout)
	return errors.Join(enc.Encode(cfg))
}
