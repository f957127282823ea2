package plan

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Group is a set of rooms the planner treats alike: the same message rate and,
// for explicit groups, the same size. A Zipf distribution becomes one group per
// decade of rank (rank 1, 2-10, 11-100, ...), whose rooms differ in size: their
// deliveries only depend on Members (the sum), and their latency is set by the
// largest room, MaxSize.
type Group struct {
	// Label names the group in the output, e.g. "50x2000@10" or "zipf 2-10".
	Label string `json:"label"`
	// Rooms is how many rooms the group has.
	Rooms float64 `json:"rooms"`
	// Members is the viewers in all the group's rooms together.
	Members float64 `json:"members"`
	// MaxSize is the members of the group's largest room.
	MaxSize float64 `json:"max_size"`
	// Rate is the messages per second pushed into each room.
	Rate float64 `json:"rate"`
	// DefaultRate is true when the spec gave no rate: Estimate fills Rate from
	// Input.Rate.
	DefaultRate bool `json:"default_rate"`
}

// maxRooms bounds a spec so that a typo (1e12 rooms) fails fast instead of
// running out of memory or time.
const maxRooms = 100_000_000

// ParseGroups parses explicit room groups: a comma-separated list of
// COUNTxSIZE or COUNTxSIZE@RATE, e.g. "1x100000@200,50x2000,10000x20@1".
// COUNT rooms of SIZE viewers each; RATE messages per second per room (without
// it, the default rate applies).
func ParseGroups(spec string) ([]Group, error) {
	var groups []Group
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		g, err := parseGroup(item)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("room groups %q: empty; want COUNTxSIZE[@RATE],... e.g. 1x100000@40,50x2000", spec)
	}
	return groups, nil
}

func parseGroup(item string) (Group, error) {
	bad := func(why string) error {
		return fmt.Errorf("room group %q: %s; want COUNTxSIZE or COUNTxSIZE@RATE, e.g. 50x2000@10", item, why)
	}
	body, rateText, hasRate := strings.Cut(item, "@")
	countText, sizeText, ok := strings.Cut(strings.ToLower(body), "x")
	if !ok {
		return Group{}, bad("no 'x' between the room count and the room size")
	}
	count, err := strconv.ParseInt(strings.TrimSpace(countText), 10, 64)
	if err != nil || count < 1 || count > maxRooms {
		return Group{}, bad(fmt.Sprintf("room count %q is not a whole number from 1 to %d", countText, maxRooms))
	}
	size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 10, 64)
	if err != nil || size < 1 || size > maxRooms {
		return Group{}, bad(fmt.Sprintf("room size %q is not a whole number from 1 to %d", sizeText, maxRooms))
	}
	g := Group{
		Label:       item,
		Rooms:       float64(count),
		Members:     float64(count) * float64(size),
		MaxSize:     float64(size),
		DefaultRate: !hasRate,
	}
	if hasRate {
		g.Rate, err = parseRate(rateText)
		if err != nil {
			return Group{}, bad(err.Error())
		}
	}
	return g, nil
}

func parseRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) {
		return 0, fmt.Errorf("rate %q is not a number of messages per second >= 0", s)
	}
	return r, nil
}

// Zipf is a power-law room-size distribution: the room of rank k holds a share
// of the viewers proportional to 1/k^S.
type Zipf struct {
	// Rooms is the number of rooms. Required.
	Rooms int `json:"rooms"`
	// S is the exponent. Default 1.1 (a few huge rooms, a long tail).
	S float64 `json:"s"`
	// Viewers spread over the rooms. Default 0: the planner's viewers minus
	// those in explicit groups.
	Viewers float64 `json:"viewers,omitempty"`
	// Rate is the messages per second per room. Default 0 with HasRate false:
	// the planner's default rate.
	Rate    float64 `json:"rate,omitempty"`
	HasRate bool    `json:"-"`
}

// ParseZipf parses "rooms=N,s=1.1[,viewers=V][,rate=R]".
func ParseZipf(spec string) (Zipf, error) {
	z := Zipf{S: 1.1}
	bad := func(why string) error {
		return fmt.Errorf("zipf %q: %s; want rooms=N,s=EXPONENT[,viewers=V][,rate=MSGS_PER_S], e.g. rooms=1000,s=1.1", spec, why)
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok {
			return z, bad(fmt.Sprintf("%q is not key=value", kv))
		}
		if seen[k] {
			return z, bad(fmt.Sprintf("%s given twice", k))
		}
		seen[k] = true
		switch k {
		case "rooms":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxRooms {
				return z, bad(fmt.Sprintf("rooms %q is not a whole number from 1 to %d", v, maxRooms))
			}
			z.Rooms = n
		case "s":
			s, err := strconv.ParseFloat(v, 64)
			if err != nil || s <= 0 || s > 10 {
				return z, bad(fmt.Sprintf("s %q is not an exponent above 0 and at most 10", v))
			}
			z.S = s
		case "viewers":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return z, bad(fmt.Sprintf("viewers %q is not a whole number >= 1", v))
			}
			z.Viewers = float64(n)
		case "rate":
			r, err := parseRate(v)
			if err != nil {
				return z, bad(err.Error())
			}
			z.Rate, z.HasRate = r, true
		default:
			return z, bad(fmt.Sprintf("unknown key %q", k))
		}
	}
	if z.Rooms == 0 {
		return z, bad("rooms=N is required")
	}
	return z, nil
}

// Groups spreads viewers over the Zipf rooms and returns one group per decade
// of rank. The room of rank k gets viewers x k^-S / H, H = sum of j^-S for j
// in 1..Rooms, so the sizes add up to viewers exactly (fractions of a viewer
// are kept: they are expectations).
func (z Zipf) Groups(viewers float64) ([]Group, error) {
	if z.Viewers > 0 {
		viewers = z.Viewers
	}
	if viewers <= 0 {
		return nil, errors.New("zipf: no viewers to spread over the rooms: give viewers=N in --zipf or --viewers above the members of --rooms")
	}
	h := 0.0
	for k := 1; k <= z.Rooms; k++ {
		h += math.Pow(float64(k), -z.S)
	}
	var groups []Group
	for lo := 1; lo <= z.Rooms; {
		hi := min(max(1, (lo-1)*10), z.Rooms) // tiers: 1, 2-10, 11-100, ...
		share := 0.0
		for k := lo; k <= hi; k++ {
			share += math.Pow(float64(k), -z.S)
		}
		label := fmt.Sprintf("zipf rank %d", lo)
		if hi > lo {
			label = fmt.Sprintf("zipf ranks %d-%d", lo, hi)
		}
		groups = append(groups, Group{
			Label:       label,
			Rooms:       float64(hi - lo + 1),
			Members:     viewers * share / h,
			MaxSize:     viewers * math.Pow(float64(lo), -z.S) / h,
			Rate:        z.Rate,
			DefaultRate: !z.HasRate,
		})
		lo = hi + 1
	}
	return groups, nil
}

// ParseRoomsCSV reads one room per line, "SIZE" or "SIZE,RATE" (blank lines,
// '#' comments and a header line are skipped), and merges rooms of equal size
// and rate into groups, in order of first appearance.
func ParseRoomsCSV(r io.Reader, name string) ([]Group, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	type key struct {
		size    int64
		rate    float64
		hasRate bool
	}
	index := map[key]int{}
	var groups []Group
	for rec := 0; ; rec++ {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rooms file %s: %w", name, err)
		}
		if len(fields) == 0 || (len(fields) == 1 && strings.TrimSpace(fields[0]) == "") {
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(fields) > 2 {
			return nil, fmt.Errorf("rooms file %s line %d: %d fields; want SIZE or SIZE,RATE", name, line, len(fields))
		}
		size, err := strconv.ParseInt(strings.TrimSpace(fields[0]), 10, 64)
		if err != nil || size < 1 || size > maxRooms {
			if rec == 0 && err != nil {
				continue // a header such as "size,rate"
			}
			return nil, fmt.Errorf("rooms file %s line %d: room size %q is not a whole number from 1 to %d", name, line, fields[0], maxRooms)
		}
		k := key{size: size}
		if len(fields) == 2 && strings.TrimSpace(fields[1]) != "" {
			k.rate, err = parseRate(fields[1])
			if err != nil {
				return nil, fmt.Errorf("rooms file %s line %d: %w", name, line, err)
			}
			k.hasRate = true
		}
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			label := fmt.Sprintf("%s: size %d", name, size)
			if k.hasRate {
				label += fmt.Sprintf("@%g", k.rate)
			}
			groups = append(groups, Group{Label: label, MaxSize: float64(size), Rate: k.rate, DefaultRate: !k.hasRate})
		}
		groups[i].Rooms++
		groups[i].Members += float64(size)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("rooms file %s: no rooms; want one SIZE or SIZE,RATE per line", name)
	}
	return groups, nil
}
