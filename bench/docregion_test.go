package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const docFixture = `# Benchmarks

Hand-written introduction.

<!-- bench:standard:begin -->
old results
<!-- bench:standard:end -->

## Hand-written analysis, kept as it is
`

func TestReplaceDocRegion(t *testing.T) {
	out, err := ReplaceDocRegion([]byte(docFixture), "### Standard suite\n\n| a | b |\n")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(docFixture, "old results\n", "### Standard suite\n\n| a | b |\n", 1)
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	// Running again with the same content changes nothing; a missing final
	// newline is supplied.
	again, err := ReplaceDocRegion(out, "### Standard suite\n\n| a | b |")
	if err != nil || string(again) != want {
		t.Fatalf("second replacement = %q, %v", again, err)
	}
}

func TestReplaceDocRegionErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"no markers", "# Benchmarks\n", "exactly one <!-- bench:standard:begin -->"},
		{"no end", DocRegionBegin + "\n", "exactly one <!-- bench:standard:end -->"},
		{"two begins", DocRegionBegin + DocRegionBegin + DocRegionEnd, "found 2"},
		{"end first", DocRegionEnd + "\n" + DocRegionBegin, "comes before"},
	}
	for _, tt := range tests {
		if _, err := ReplaceDocRegion([]byte(tt.doc), "x"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestUpdateDocRegion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(path, []byte(docFixture), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := UpdateDocRegion(path, "new results\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), DocRegionBegin+"\nnew results\n"+DocRegionEnd) ||
		!strings.HasSuffix(string(got), "## Hand-written analysis, kept as it is\n") || strings.Contains(string(got), "old results") {
		t.Fatalf("updated document:\n%s", got)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode after update = %v, %v; want 0640 kept", st.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// A document without markers is left alone, with an error saying why.
	if err := os.WriteFile(path, []byte("# none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateDocRegion(path, "x"); err == nil || !strings.Contains(err.Error(), "marker") {
		t.Fatalf("no markers: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "# none\n" {
		t.Fatalf("document changed despite the error: %q", got)
	}
}
