package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig_Precedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "probity.conf")
	os.WriteFile(file, []byte("# comment\naddr = 127.0.0.1:7000\nlog-level = warn\ndata = \"/srv/from file\"\norigin = file.example/log\n"), 0o600)
	env := map[string]string{"PROBITY_CONFIG": file, "PROBITY_ADDR": "127.0.0.1:7001", "PROBITY_LOG_FORMAT": "text"}
	set, flags := flagSet("serve", serverFlags...)
	if err := set.Parse([]string{"-addr", "127.0.0.1:7002"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(set, flags, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"flag beats env and file", cfg.Addr, "127.0.0.1:7002"},
		{"env beats default", cfg.LogFormat, "text"},
		{"file beats default", cfg.LogLevel, "warn"},
		{"quoted file value", cfg.Data, "/srv/from file"},
		{"file origin", cfg.Origin, "file.example/log"},
		{"derived db", cfg.DB, filepath.Join("/srv/from file", "probity.db")},
		{"derived key file", cfg.KeyFile, filepath.Join("/srv/from file", "ledger.key")},
		{"config file recorded", cfg.ConfigFile, file},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	t.Run("Defaults", func(t *testing.T) {
		set, flags := flagSet("serve", serverFlags...)
		set.Parse(nil)
		cfg, err := loadConfig(set, flags, func(string) string { return "" }, map[string]string{"data": "probity-demo"})
		if err != nil || cfg.Addr != "127.0.0.1:8080" || cfg.Data != "probity-demo" || cfg.DB != filepath.Join("probity-demo", "probity.db") || cfg.LogLevel != "info" {
			t.Fatalf("%+v %v", cfg, err)
		}
	})
}

func TestLoadConfig_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o600)
		return p
	}
	long := strings.Repeat("k", 40)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"ErrAddr", []string{"-addr", "localhost"}, nil, `invalid value "localhost" for -addr`},
		{"ErrPort", []string{"-addr", "127.0.0.1:99999"}, nil, "port"},
		{"ErrLogLevel", nil, map[string]string{"PROBITY_LOG_LEVEL": "loud"}, "PROBITY_LOG_LEVEL: must be one of"},
		{"ErrOrigin", []string{"-origin", "has space"}, nil, "origin"},
		{"ErrShortToken", nil, map[string]string{"PROBITY_BOOTSTRAP_ADMIN_TOKEN": "short"}, "at least 32"},
		{"ErrSameTokens", nil, map[string]string{"PROBITY_BOOTSTRAP_ADMIN_TOKEN": long, "PROBITY_LEDGER_AUDITOR_TOKEN": long}, "must differ"},
		{"ErrTLSHalf", []string{"-tls-cert", "c.pem"}, nil, "given together"},
		{"ErrMissingFile", []string{"-config", filepath.Join(dir, "nope.conf")}, nil, "no such file"},
		{"ErrFileUnknownKey", []string{"-config", write("a.conf", "adr = x\n")}, nil, `line 1: unknown setting "adr"`},
		{"ErrFileNoEquals", []string{"-config", write("b.conf", "\n\naddr\n")}, nil, "line 3: expected name = value"},
		{"ErrFileDuplicate", []string{"-config", write("c.conf", "addr=1.2.3.4:1\naddr=1.2.3.4:2\n")}, nil, "set twice"},
		{"ErrFileBadValue", []string{"-config", write("d.conf", "log-format = xml\n")}, nil, "log-format (in"},
		{"ErrFileBadQuote", []string{"-config", write("e.conf", `data = "unterminated\"`+"\n")}, nil, "bad quoted value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, flags := flagSet("serve", serverFlags...)
			if err := set.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			_, err := loadConfig(set, flags, func(k string) string { return tc.env[k] }, nil)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadConfig = %v; want a usage error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), long) {
				t.Fatalf("error shows a secret: %v", err)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("addr = 127.0.0.1:8080\n# c\ndata=\"x y\"\n"))
	f.Add([]byte("=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := parseConfig(b)
		if err != nil {
			return
		}
		known := map[string]bool{}
		for _, o := range options() {
			known[o.name] = true
		}
		for k := range vals {
			if !known[k] || k == "config" {
				t.Fatalf("accepted unknown setting %q", k)
			}
		}
	})
}
