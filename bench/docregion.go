package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// The markers around the region of docs/BENCHMARKS.md that `barrage bench
// -suite standard -update-doc` owns. Everything between them is replaced on
// each run; everything outside is left byte for byte.
const (
	DocRegionBegin = "<!-- bench:standard:begin -->"
	DocRegionEnd   = "<!-- bench:standard:end -->"
)

// ReplaceDocRegion returns doc with the text between the markers replaced by
// content. Each marker must appear exactly once, begin before end.
func ReplaceDocRegion(doc []byte, content string) ([]byte, error) {
	begin, end := []byte(DocRegionBegin), []byte(DocRegionEnd)
	if n := bytes.Count(doc, begin); n != 1 {
		return nil, fmt.Errorf("bench: want exactly one %s marker, found %d", DocRegionBegin, n)
	}
	if n := bytes.Count(doc, end); n != 1 {
		return nil, fmt.Errorf("bench: want exactly one %s marker, found %d", DocRegionEnd, n)
	}
	i := bytes.Index(doc, begin) + len(begin)
	j := bytes.Index(doc, end)
	if j < i {
		return nil, fmt.Errorf("bench: %s comes before %s", DocRegionEnd, DocRegionBegin)
	}
	var out bytes.Buffer
	out.Grow(len(doc) + len(content))
	out.Write(doc[:i])
	out.WriteString("\n")
	out.WriteString(content)
	if len(content) > 0 && content[len(content)-1] != '\n' {
		out.WriteString("\n")
	}
	out.Write(doc[j:])
	return out.Bytes(), nil
}

// UpdateDocRegion rewrites the marked region of the file at path. The file is
// replaced atomically (a temporary file renamed over it), so an interrupted
// run leaves the old document.
func UpdateDocRegion(path, content string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("bench: -update-doc: %w", err)
	}
	out, err := ReplaceDocRegion(doc, content)
	if err != nil {
		return fmt.Errorf("bench: -update-doc %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("bench: -update-doc: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-doc-*")
	if err != nil {
		return fmt.Errorf("bench: -update-doc: %w", err)
	}
	_, werr := tmp.Write(out)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: -update-doc: write %s: %w", tmp.Name(), errorsOr(werr, cerr))
	}
	if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: -update-doc: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("bench: -update-doc: %w", err)
	}
	return nil
}
