package plan

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseGroups(t *testing.T) {
	got, err := ParseGroups(" 1x100000@200, 50X2000 ,10000x20@0.5,")
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{
		{Label: "1x100000@200", Rooms: 1, Members: 100000, MaxSize: 100000, Rate: 200},
		{Label: "50X2000", Rooms: 50, Members: 100000, MaxSize: 2000, DefaultRate: true},
		{Label: "10000x20@0.5", Rooms: 10000, Members: 200000, MaxSize: 20, Rate: 0.5},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseGroupsErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"", "empty"},
		{" , ", "empty"},
		{"50y2000", "no 'x' between"},
		{"ax2000", `room count "a"`},
		{"0x2000", `room count "0"`},
		{"-1x2000", `room count "-1"`},
		{"50x", `room size ""`},
		{"50x0", `room size "0"`},
		{"50x2.5", `room size "2.5"`},
		{"50x2000@", `rate ""`},
		{"50x2000@-3", `rate "-3"`},
		{"50x2000@fast", `rate "fast"`},
		{"1x100,200000000x1", "from 1 to 100000000"},
	} {
		_, err := ParseGroups(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseGroups(%q) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
		if err != nil && tc.spec != "" && !strings.Contains(err.Error(), "e.g.") {
			t.Errorf("ParseGroups(%q) error %q gives no example of the right form", tc.spec, err)
		}
	}
}

func TestParseZipf(t *testing.T) {
	z, err := ParseZipf("rooms=3, s=1, viewers=110, rate=2")
	if err != nil {
		t.Fatal(err)
	}
	if z != (Zipf{Rooms: 3, S: 1, Viewers: 110, Rate: 2, HasRate: true}) {
		t.Errorf("got %+v", z)
	}
	z, err = ParseZipf("rooms=1000")
	if err != nil || z.S != 1.1 || z.HasRate || z.Viewers != 0 {
		t.Errorf("defaults: got %+v, %v; want s=1.1, no rate, no viewers", z, err)
	}
	for _, tc := range []struct{ spec, want string }{
		{"s=1.1", "rooms=N is required"},
		{"rooms=0", `rooms "0"`},
		{"rooms=10,s=0", `s "0"`},
		{"rooms=10,s=abc", `s "abc"`},
		{"rooms=10,viewers=-5", `viewers "-5"`},
		{"rooms=10,rate=x", `rate "x"`},
		{"rooms=10,alpha=2", `unknown key "alpha"`},
		{"rooms=10,rooms=20", "rooms given twice"},
		{"rooms", "is not key=value"},
	} {
		_, err := ParseZipf(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseZipf(%q) = %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
}

func TestZipfGroups(t *testing.T) {
	// 110 viewers over 3 rooms, s = 1: H = 1 + 1/2 + 1/3 = 11/6, so the rooms
	// hold 110 x 6/11 x (1, 1/2, 1/3) = 60, 30, 20. Tiers: rank 1; ranks 2-3.
	gs, err := Zipf{Rooms: 3, S: 1}.Groups(110)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 {
		t.Fatalf("got %d groups, want 2: %+v", len(gs), gs)
	}
	near(t, "rank 1 members", gs[0].Members, 60, 1e-9)
	near(t, "rank 1 max", gs[0].MaxSize, 60, 1e-9)
	near(t, "ranks 2-3 rooms", gs[1].Rooms, 2, 0)
	near(t, "ranks 2-3 members", gs[1].Members, 50, 1e-9)
	near(t, "ranks 2-3 max", gs[1].MaxSize, 30, 1e-9)
	if gs[0].Label != "zipf rank 1" || gs[1].Label != "zipf ranks 2-3" || !gs[1].DefaultRate {
		t.Errorf("labels/rates: %+v", gs)
	}

	// Tiers are decades of rank, and the members add up to the viewers.
	gs, err = Zipf{Rooms: 1234, S: 1.1, Rate: 3, HasRate: true}.Groups(1e6)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	total := 0.0
	for _, g := range gs {
		labels = append(labels, g.Label)
		total += g.Members
		if g.Rate != 3 || g.DefaultRate {
			t.Errorf("%s: rate %g default %v, want 3 from the spec", g.Label, g.Rate, g.DefaultRate)
		}
	}
	want := []string{"zipf rank 1", "zipf ranks 2-10", "zipf ranks 11-100", "zipf ranks 101-1000", "zipf ranks 1001-1234"}
	if !reflect.DeepEqual(labels, want) {
		t.Errorf("tiers %v, want %v", labels, want)
	}
	near(t, "members", total, 1e6, 1e-3)

	// viewers=V in the spec wins over the planner's viewers; none at all fails.
	gs, _ = Zipf{Rooms: 1, S: 1, Viewers: 7}.Groups(1000)
	near(t, "spec viewers", gs[0].Members, 7, 0)
	if _, err := (Zipf{Rooms: 5, S: 1}).Groups(0); err == nil || !strings.Contains(err.Error(), "no viewers") {
		t.Errorf("zipf without viewers: %v", err)
	}
}

func TestParseRoomsCSV(t *testing.T) {
	csv := "size,rate\n# the hot room\n100000,200\n\n2000\n2000\n20, 1\n2000,\n20,1\n"
	got, err := ParseRoomsCSV(strings.NewReader(csv), "rooms.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{
		{Label: "rooms.csv: size 100000@200", Rooms: 1, Members: 100000, MaxSize: 100000, Rate: 200},
		{Label: "rooms.csv: size 2000", Rooms: 3, Members: 6000, MaxSize: 2000, DefaultRate: true},
		{Label: "rooms.csv: size 20@1", Rooms: 2, Members: 40, MaxSize: 20, Rate: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, tc := range []struct{ csv, want string }{
		{"", "no rooms"},
		{"size\n", "no rooms"},
		{"100\nabc\n", `line 2: room size "abc"`},
		{"100\n0\n", `line 2: room size "0"`},
		{"100,1,2\n", "line 1: 3 fields"},
		{"100,-1\n", `line 1: rate "-1"`},
		{"100\n\"unterminated\n", "rooms.csv"},
	} {
		_, err := ParseRoomsCSV(strings.NewReader(tc.csv), "rooms.csv")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRoomsCSV(%q) = %v, want an error containing %q", tc.csv, err, tc.want)
		}
	}
}
