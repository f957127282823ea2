package main

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/barrage/barrage/gateway"
	"github.com/barrage/barrage/upstream/logic"
)

// The Grafana dashboard and docs/OBSERVABILITY.md name only metrics the code
// registers, and the docs name all of them.

// describer records the names of every metric registered through it.
type describer struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names[m[1]] = true
		}
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return true }

// registeredNames lists every metric any role registers.
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	d := &describer{names: map[string]bool{}}
	gcfg := gateway.Config{Registerer: d}
	if _, err := gateway.New(gcfg, gatewayLogic{l: logic.New(logic.Config{}, nil, nil, nil, nil, quiet())}); err != nil {
		t.Fatal(err)
	}
	newLogicMetrics(d)
	newMeteredStore(failingStore{}, d)
	newRegistryMetrics(d)
	d.MustRegister(newProducerCollector(&scriptedProducer{}), newJobCollector(fixedJob{}))
	mfs, err := newRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		d.names[mf.GetName()] = true
	}
	return d.names
}

var metricInExpr = regexp.MustCompile(`\b(?:barrage|go|process)_[a-z0-9_]+`)

func TestDashboardNamesOnlyRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/grafana/barrage.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr       string `json:"expr"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("deploy/grafana/barrage.json: %v", err)
	}
	if dash.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want a current Grafana's (>= 36)", dash.SchemaVersion)
	}
	hasDS := false
	for _, v := range dash.Templating.List {
		hasDS = hasDS || v.Name == "DS_PROMETHEUS" && v.Type == "datasource"
	}
	if !hasDS {
		t.Error("no DS_PROMETHEUS datasource variable")
	}
	known := registeredNames(t)
	ids := map[int]bool{}
	var used []string
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: no targets or not on ${DS_PROMETHEUS}", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: target not on ${DS_PROMETHEUS}", p.Title)
			}
			for _, name := range metricInExpr.FindAllString(tg.Expr, -1) {
				used = append(used, name)
				base := name
				for _, suf := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(name, suf); ok && known[b] {
						base = b
					}
				}
				if !known[base] {
					t.Errorf("panel %q: %s is not a metric any role registers", p.Title, name)
				}
			}
		}
	}
	if len(used) < 40 {
		t.Errorf("only %d metric references found: is the expression regexp still right?", len(used))
	}
}

// Every barrage_* metric is documented.
func TestObservabilityDocListsEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../../docs/OBSERVABILITY.md")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for name := range registeredNames(t) {
		if strings.HasPrefix(name, "barrage_") && !strings.Contains(string(doc), "`"+name+"`") {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("docs/OBSERVABILITY.md does not mention: %s", strings.Join(missing, ", "))
	}
}
