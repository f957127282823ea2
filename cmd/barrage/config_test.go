package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfigPrecedenceFileEnvFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "barrage.toml")
	if err := os.WriteFile(file, []byte(`
[gateway]
tcp_addr = ":4101"
ws_addr = ":4102"
batch_window = "20ms"
batch_fixed = true
[log]
level = "debug"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"BARRAGE_CONFIG":           file,
		"BARRAGE_GATEWAY_WS_ADDR":  ":5102",
		"BARRAGE_GATEWAY_MAX_BODY": "8192",
		"BARRAGE_LOGIC_JWT_SECRET": "env-secret",
	}
	cfg, err := loadConfig("t", []string{"-gateway.ws_addr", ":6102", "-http.addr", "127.0.0.1:7111"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		got, want any
	}{
		{"file only", cfg.Gateway.TCPAddr, ":4101"},
		{"flag beats env beats file", cfg.Gateway.WSAddr, ":6102"},
		{"env int", cfg.Gateway.MaxBody, 8192},
		{"duration from file", cfg.Gateway.BatchWindow, 20 * time.Millisecond},
		{"bool from file", cfg.Gateway.BatchFixed, true},
		{"env string", cfg.Logic.JWTSecret, "env-secret"},
		{"flag", cfg.HTTP.Addr, "127.0.0.1:7111"},
		{"file level", cfg.Log.Level, "debug"},
		{"default format", cfg.Log.Format, "text"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigErrorsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	_ = os.WriteFile(bad, []byte("[gateway]\nno_such_setting = 1\n"), 0o600)
	none := func(string) string { return "" }
	for _, args := range [][]string{
		{"-config", bad},
		{"-gateway.batch_window", "soon"},
		{"-gateway.max_body", "big"},
		{"stray"},
	} {
		if _, err := loadConfig("t", args, none); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := loadConfig("t", nil, func(k string) string {
		if k == "BARRAGE_GATEWAY_REUSE_PORT" {
			return "maybe"
		}
		return ""
	}); err == nil {
		t.Error("bad env bool accepted")
	}
}
