package logic

import (
	"net/url"
	"strconv"
	"strings"
)

// queryBinder reads query parameters the way goim's gin handlers do
// (c.BindQuery into a struct with `form` and `binding:"required"` tags), so
// that error replies match goim byte for byte:
//
//   - fields are read in declaration order and the first unparsable number
//     stops binding with strconv's own message;
//   - a scalar takes the parameter's first value, and an empty number is 0;
//   - only when every field parsed are the required tags checked; each zero
//     required field (0, "", or an absent list) adds the validator's line
//     "Key: 'Type' Error:Field validation for 'Type' failed on the 'required' tag",
//     lines joined by "\n".
//
// Call the readers in the order of goim's struct fields, then err().
type queryBinder struct {
	q       url.Values
	parse   error
	missing []string // Go field names of empty required fields
}

func newQueryBinder(q url.Values) *queryBinder { return &queryBinder{q: q} }

// int reads a signed integer of the given bit size (0 = int) named param; field
// is the Go field name goim's validator reports.
func (b *queryBinder) int(param, field string, bits int, required bool) int64 {
	vs, ok := b.q[param]
	if b.parse != nil || !ok {
		b.require(field, required, false)
		return 0
	}
	v, err := parseInt(vs[0], bits)
	if err != nil {
		b.parse = err
		return 0
	}
	b.require(field, required, v != 0)
	return v
}

// ints reads every value of a repeated integer parameter.
func (b *queryBinder) ints(param, field string, bits int, required bool) []int64 {
	vs, ok := b.q[param]
	if b.parse != nil || !ok {
		b.require(field, required, false)
		return nil
	}
	out := make([]int64, len(vs))
	for i, s := range vs {
		v, err := parseInt(s, bits)
		if err != nil {
			b.parse = err
			return nil
		}
		out[i] = v
	}
	b.require(field, required, true)
	return out
}

// str reads a string parameter's first value.
func (b *queryBinder) str(param, field string, required bool) string {
	vs, ok := b.q[param]
	if b.parse != nil || !ok {
		b.require(field, required, false)
		return ""
	}
	b.require(field, required, vs[0] != "")
	return vs[0]
}

// strs reads every value of a repeated string parameter. Present but empty
// ("rooms=") counts as given, as gin's required check on a slice only rejects
// an absent one.
func (b *queryBinder) strs(param, field string, required bool) []string {
	vs, ok := b.q[param]
	if b.parse != nil || !ok {
		b.require(field, required, false)
		return nil
	}
	b.require(field, required, true)
	return vs
}

func (b *queryBinder) require(field string, required, present bool) {
	if required && !present {
		b.missing = append(b.missing, field)
	}
}

// err is the binding error goim would report, or nil.
func (b *queryBinder) err() error {
	if b.parse != nil {
		return b.parse
	}
	if len(b.missing) == 0 {
		return nil
	}
	var s strings.Builder
	for i, f := range b.missing {
		if i > 0 {
			s.WriteByte('\n')
		}
		s.WriteString("Key: '")
		s.WriteString(f)
		s.WriteString("' Error:Field validation for '")
		s.WriteString(f)
		s.WriteString("' failed on the 'required' tag")
	}
	return bindError(s.String())
}

type bindError string

func (e bindError) Error() string { return string(e) }

func parseInt(s string, bits int) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseInt(s, 10, bits)
}
