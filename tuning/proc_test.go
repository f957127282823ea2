package tuning

import (
	"errors"
	"strings"
	"testing"
)

func TestReadSockstat(t *testing.T) {
	cases := []struct {
		body    string
		want    sockstat
		errHas  string
		missing bool
	}{
		{body: "sockets: used 31\nTCP: inuse 11 orphan 1 tw 1341 alloc 14 mem 162\nUDP: inuse 0 mem 0\n",
			want: sockstat{InUse: 11, Orphan: 1, TW: 1341, Alloc: 14, MemPages: 162}},
		{body: "sockets: used 31\n", errHas: "no TCP line"},
		{body: "TCP: inuse x mem 1\n", errHas: `TCP inuse "x" is not an integer`},
		{missing: true},
	}
	for _, c := range cases {
		files := map[string]string{}
		if !c.missing {
			files["net/sockstat"] = c.body
		}
		got, err := readSockstat(writeTree(t, files))
		switch {
		case c.missing:
			if !errors.Is(err, errMissing) {
				t.Errorf("missing sockstat: err %v", err)
			}
		case c.errHas != "":
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Errorf("%q: err %v, want %q", c.body, err, c.errHas)
			}
		case err != nil || got != c.want:
			t.Errorf("%q: %+v %v, want %+v", c.body, got, err, c.want)
		}
	}
}

func TestReadMeminfo(t *testing.T) {
	root := writeTree(t, map[string]string{"meminfo": "MemTotal:       24684096 kB\nSlab:             271104 kB\nHugePages_Total:       0\n"})
	m, err := readMeminfo(root, "MemTotal", "Slab", "HugePages_Total")
	if err != nil || m["MemTotal"] != 24684096*1024 || m["Slab"] != 271104*1024 || m["HugePages_Total"] != 0 {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := readMeminfo(root, "SUnreclaim"); err == nil || !strings.Contains(err.Error(), "no SUnreclaim line") {
		t.Errorf("absent field: %v", err)
	}
}

func TestReadSlabinfo(t *testing.T) {
	root := writeTree(t, map[string]string{"slabinfo": "slabinfo - version: 2.1\n" +
		"# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ...\n" +
		"TCP                  103    143   2368   13    8 : tunables    0    0    0 : slabdata     11     11      0\n"})
	m, err := readSlabinfo(root)
	if err != nil || m["TCP"] != (slabCache{Active: 103, ObjSize: 2368}) {
		t.Fatalf("%v %v", m, err)
	}
	got := cacheGrowth(map[string]slabCache{"TCP": {Active: 100, ObjSize: 2368}, "filp": {Active: 5, ObjSize: 192}},
		map[string]slabCache{"TCP": {Active: 300, ObjSize: 2368}, "filp": {Active: 6, ObjSize: 192}, "new": {Active: 100, ObjSize: 64}}, 200)
	if len(got) != 2 || got[0].Name != "TCP" || got[0].BytesPerSocket != 2368 || got[1].Name != "new" || got[1].ObjectsPerSocket != 0.5 {
		t.Errorf("cacheGrowth: %+v", got)
	}
}
