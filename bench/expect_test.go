package bench

import (
	"testing"
)

// The pusher decides who gets push seq (RoomOf / UsersOf), the workers decide
// what each connection expects (ExpectedFor, slot, localSeq) without talking
// to each other. These tests replay every push of a run through the pusher's
// side and check that the workers' side agrees, connection by connection.
func TestPlanAccountingAgreesWithThePusher(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"hot-room", []string{"-conns", "7", "-rate", "10", "-duration", "3s"}},
		{"small-rooms, rooms divide conns", []string{"-scenario", "small-rooms", "-conns", "12", "-rooms", "4", "-rate", "10", "-duration", "2s"}},
		{"small-rooms, uneven rooms and a partial round", []string{"-scenario", "small-rooms", "-conns", "10", "-rooms", "3", "-rate", "7", "-duration", "1s"}},
		{"per-user, groups divide conns", []string{"-scenario", "per-user", "-conns", "20", "-users-per-push", "5", "-rate", "9", "-duration", "1s"}},
		{"per-user, a smaller last group", []string{"-scenario", "per-user", "-conns", "23", "-users-per-push", "5", "-rate", "13", "-duration", "1s"}},
		{"per-user, one user per push", []string{"-scenario", "per-user", "-conns", "4", "-users-per-push", "1", "-rate", "10", "-duration", "1s"}},
		{"churn: only steady members", []string{"-scenario", "churn", "-conns", "10", "-churn-conns", "3", "-rate", "5", "-duration", "1s"}},
		{"mixed", []string{"-scenario", "mixed", "-conns", "9", "-rate", "4", "-duration", "1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := ParseFlags(tt.args, discard{})
			if err != nil {
				t.Fatal(err)
			}
			plan, sent := sc.Plan(), sc.Messages()
			n := sc.SteadyConns()
			got := make([][]int64, n) // own seqs each connection receives, in push order
			for seq := range sent {
				var members []int
				switch plan.Kind {
				case PlanRoom:
					r := plan.RoomOf(seq)
					for g := range n {
						if g%max(plan.Rooms, 1) == r {
							members = append(members, g)
						}
					}
				case PlanUser:
					lo, hi := plan.UsersOf(seq)
					for g := lo; g < hi; g++ {
						members = append(members, g)
					}
				}
				for g := range n {
					stride, offset := plan.slot(g)
					local, mine := localSeq(seq, stride, offset)
					isMember := false
					for _, m := range members {
						isMember = isMember || m == g
					}
					if mine != isMember {
						t.Fatalf("seq %d, conn %d: the worker says mine=%v, the pusher says member=%v", seq, g, mine, isMember)
					}
					if mine {
						got[g] = append(got[g], local)
					}
				}
			}
			var total int64
			for g := range n {
				want := plan.ExpectedFor(g, sent)
				if int64(len(got[g])) != want {
					t.Errorf("conn %d receives %d pushes, ExpectedFor says %d", g, len(got[g]), want)
				}
				for i, local := range got[g] {
					if local != int64(i) { // own seqs are 0, 1, 2, ... in push order
						t.Errorf("conn %d: push %d has own seq %d", g, i, local)
					}
				}
				total += want
			}
			if total == 0 {
				t.Fatal("the plan expects nothing at all")
			}
		})
	}
}

func TestPlanExpectedFor(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
		g    int
		sent int64
		want int64
	}{
		{"one room gets all", Plan{Kind: PlanRoom, Rooms: 1, Conns: 5}, 3, 40, 40},
		{"room 2 of 4 after 10 pushes: seqs 2 and 6", Plan{Kind: PlanRoom, Rooms: 4, Conns: 8}, 6, 10, 2},
		{"room 1 of 4 after 10 pushes: 1, 5, 9", Plan{Kind: PlanRoom, Rooms: 4, Conns: 8}, 1, 10, 3},
		{"nothing sent", Plan{Kind: PlanRoom, Rooms: 4, Conns: 8}, 1, 0, 0},
		{"fewer pushes than rooms", Plan{Kind: PlanRoom, Rooms: 4, Conns: 8}, 3, 3, 0},
		{"user group 2 of 3 (conns 10,11 of 12, groups of 5)", Plan{Kind: PlanUser, Group: 5, Conns: 12}, 11, 9, 3},
		{"idle expects nothing", Plan{Kind: PlanNone, Conns: 5}, 1, 40, 0},
	}
	for _, tt := range tests {
		if got := tt.plan.ExpectedFor(tt.g, tt.sent); got != tt.want {
			t.Errorf("%s: ExpectedFor(%d, %d) = %d, want %d", tt.name, tt.g, tt.sent, got, tt.want)
		}
	}
}

func TestRoomName(t *testing.T) {
	if got := roomName("bench", 1, 0); got != "bench" {
		t.Errorf("one room = %q, want the base name", got)
	}
	if got := roomName("bench", 100, 7); got != "bench-7" {
		t.Errorf("room 7 of 100 = %q, want bench-7", got)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
