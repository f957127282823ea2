package tuning

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one indented JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report as JSON: %w", err)
	}
	return nil
}

// WriteText writes the report as a table, then why and how to fix every row
// that is not OK (every row when verbose), the sysctl.d lines, and a verdict.
func (r Report) WriteText(w io.Writer, verbose bool) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "barrage tune check: %d connections, role %s, %d process(es)", r.Conns, r.Role, r.Processes)
	if r.Role == RoleClient {
		fmt.Fprintf(ew, ", %d source IP(s)", r.SourceIPs)
	}
	fmt.Fprintf(ew, ", %d-byte frames, settings from %s\n\n", r.FrameBytes, r.ProcRoot)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tSETTING\tCURRENT\tRECOMMENDED")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.Status, row.Key, dash(row.Current), dash(row.Recommended))
	}
	_ = tw.Flush()

	var details []Row
	for _, row := range r.Rows {
		if verbose || row.Status != StatusOK {
			details = append(details, row)
		}
	}
	if len(details) > 0 {
		fmt.Fprintln(ew, "\nWhy, and how to fix:")
		for _, row := range details {
			fmt.Fprintf(ew, "\n%s %s\n", row.Status, row.Key)
			if row.Formula != "" {
				fmt.Fprintf(ew, "  rule: %s\n", row.Formula)
			}
			if row.Note != "" {
				fmt.Fprintf(ew, "  note: %s\n", row.Note)
			}
			if row.Fix != "" {
				fmt.Fprintf(ew, "  fix:  %s\n", row.Fix)
			}
		}
	}

	var lines []string
	for _, row := range r.Rows {
		if row.SysctlD != "" {
			lines = append(lines, row.SysctlD)
		}
	}
	if len(lines) > 0 {
		fmt.Fprintln(ew, "\nTo keep the changes across reboots, put these lines in /etc/sysctl.d/90-barrage.conf")
		fmt.Fprintln(ew, "and run `sysctl --system` (deploy/sysctl.d/90-barrage.conf has values for 1M connections):")
		for _, l := range lines {
			fmt.Fprintln(ew, "  "+l)
		}
	}

	fmt.Fprintf(ew, "\nResult: %s.\n", r.summary())
	if r.Failed() {
		fmt.Fprintf(ew, "FAIL: this host cannot hold %d connections until %s %s fixed (exit status 1).\n",
			r.Conns, strings.Join(r.Failures(), ", "), isAre(len(r.Failures())))
	} else if r.Warn > 0 {
		fmt.Fprintln(ew, "No FAIL: the connections fit; fix the WARN rows before production load.")
	}
	return ew.err
}

func (r Report) summary() string {
	parts := []string{}
	for _, p := range []struct {
		n int
		s Status
	}{{r.Fail, StatusFail}, {r.Warn, StatusWarn}, {r.OK, StatusOK}, {r.Skip, StatusSkip}, {r.Unknown, StatusUnknown}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.s))
		}
	}
	return strings.Join(parts, ", ")
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error so the rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	if _, err := e.w.Write(p); err != nil {
		e.err = fmt.Errorf("write report: %w", err)
	}
	return len(p), nil
}
