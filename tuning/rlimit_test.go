package tuning

import (
	"syscall"
	"testing"
)

func TestRaiseFileLimitReachesHardLimit(t *testing.T) {
	f, err := RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur != lim.Max || f.After != lim.Cur || f.Hard != lim.Max {
		t.Fatalf("limit %+v after raise, reported %+v", lim, f)
	}
}

func TestCaps(t *testing.T) {
	cases := []struct {
		after, want uint64
		capped      bool
	}{
		{20000, 19000, false},
		{20000, 19937, true},
		{1024, 5000, true},
		{10, 1, true},
		{1024, 0, false},
	}
	for _, c := range cases {
		err := FileLimit{After: c.after, Hard: c.after}.Caps(c.want)
		if (err != nil) != c.capped {
			t.Errorf("limit %d want %d: err %v", c.after, c.want, err)
		}
	}
}
