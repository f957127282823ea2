package bench

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// A small line-chart renderer: enough for a latency CDF on a log axis and a
// per-second time series, written as plain SVG a browser or an image viewer
// shows as it is. No module needed, and the output is stable text a test can
// read.

type point struct{ x, y float64 }

type series struct {
	name   string
	pts    []point
	dashed bool
	dots   bool // mark every point (short series)
}

// mark is a labelled point drawn on top of the lines (p99 = 12 ms).
type mark struct {
	at    point
	label string
}

type chart struct {
	title, subtitle string
	xLabel, yLabel  string
	logX            bool
	// Axis ranges; zero values are worked out from the data (y from 0).
	xMin, xMax, yMin, yMax float64
	xFmt, yFmt             func(float64) string
	series                 []series
	marks                  []mark
}

// Canvas geometry, in SVG user units (pixels at 100 %).
const (
	svgW, svgH                         = 880.0, 520.0
	padLeft, padRight, padTop, padBott = 90.0, 30.0, 82.0, 70.0
	// subtitleChars is about what fits on one line at 13 px across the plot.
	subtitleChars = 105
)

// palette: distinguishable colours, also in grey scale (dark first).
var palette = []string{"#1f4e9c", "#c4461b", "#2a8a3a", "#7b3fa0", "#b8860b", "#0f7f8c", "#a0306a", "#555555", "#6b8e23", "#d2691e"}

func (c *chart) bounds() {
	first := true
	var xmin, xmax, ymax float64
	for _, s := range c.series {
		for _, p := range s.pts {
			if c.logX && p.x <= 0 {
				continue
			}
			if first {
				xmin, xmax, ymax, first = p.x, p.x, p.y, false
				continue
			}
			xmin, xmax, ymax = math.Min(xmin, p.x), math.Max(xmax, p.x), math.Max(ymax, p.y)
		}
	}
	if c.xMin == 0 && c.xMax == 0 {
		c.xMin, c.xMax = xmin, xmax
		if c.logX {
			c.xMin = math.Pow(10, math.Floor(math.Log10(math.Max(xmin, 1e-3))))
			c.xMax = math.Pow(10, math.Ceil(math.Log10(math.Max(xmax, c.xMin*10))))
		}
	}
	if c.xMax <= c.xMin {
		c.xMax = c.xMin + 1
	}
	if c.yMax == 0 {
		c.yMax = niceCeil(ymax * 1.08)
	}
	if c.yMax <= c.yMin {
		c.yMax = c.yMin + 1
	}
}

func (c *chart) px(x float64) float64 {
	w := svgW - padLeft - padRight
	if c.logX {
		x = math.Max(x, c.xMin)
		return padLeft + w*(math.Log10(x)-math.Log10(c.xMin))/(math.Log10(c.xMax)-math.Log10(c.xMin))
	}
	return padLeft + w*(x-c.xMin)/(c.xMax-c.xMin)
}

func (c *chart) py(y float64) float64 {
	h := svgH - padTop - padBott
	y = math.Min(math.Max(y, c.yMin), c.yMax)
	return padTop + h*(1-(y-c.yMin)/(c.yMax-c.yMin))
}

// svg renders the chart.
func (c *chart) svg() []byte {
	c.bounds()
	if c.xFmt == nil {
		c.xFmt = fmtNum
	}
	if c.yFmt == nil {
		c.yFmt = fmtNum
	}
	var b strings.Builder
	height := svgH + c.legendBelowHeight()
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="13">`+"\n",
		svgW, height, svgW, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="26" font-size="17" font-weight="bold">%s</text>`+"\n", padLeft, esc(c.title))
	for i, line := range wrapText(c.subtitle, subtitleChars, 2) {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" fill="#444">%s</text>`+"\n", padLeft, 49+16*i, esc(line))
	}
	c.axes(&b)
	for i, s := range c.series {
		c.line(&b, s, palette[i%len(palette)])
	}
	// Dots on the line, each labelled unless the label would sit on the one
	// before (p99 and p99.9 are often a few pixels apart); the box in the
	// upper left lists them all.
	lastY := math.Inf(1)
	for _, m := range c.marks {
		x, y := c.px(m.at.x), c.py(m.at.y)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="black"/>`+"\n", x, y)
		if math.Abs(y-lastY) < 16 {
			continue
		}
		lastY = y
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="12" stroke="white" stroke-width="3" paint-order="stroke">%s</text>`+"\n",
			x-8, y+4, esc(strings.SplitN(m.label, " ", 2)[0]))
	}
	if len(c.marks) > 0 {
		const lineH = 18.0
		w := 0.0
		for _, m := range c.marks {
			w = math.Max(w, 7.5*float64(len(m.label)))
		}
		x0, y0 := padLeft+12, padTop+12
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="white" fill-opacity="0.9" stroke="#999"/>`+"\n",
			x0, y0, w+20, lineH*float64(len(c.marks))+10)
		for i, m := range c.marks {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x0+10, y0+5+lineH*float64(i+1)-4, esc(m.label))
		}
	}
	c.legend(&b)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func (c *chart) axes(b *strings.Builder) {
	left, right, top, bottom := padLeft, svgW-padRight, padTop, svgH-padBott
	grid := func(x1, y1, x2, y2 float64, strong bool) {
		col := "#e4e4e4"
		if strong {
			col = "#c8c8c8"
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x1, y1, x2, y2, col)
	}
	for _, t := range linearTicks(c.yMin, c.yMax) {
		y := c.py(t)
		grid(left, y, right, y, false)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+4, esc(c.yFmt(t)))
	}
	var xt []float64
	if c.logX {
		major, minor := logTicks(c.xMin, c.xMax)
		for _, t := range minor {
			grid(c.px(t), top, c.px(t), bottom, false)
		}
		for _, t := range major {
			grid(c.px(t), top, c.px(t), bottom, true)
		}
		xt = major
		if len(major) <= 4 { // few decades: label 2 and 5 as well
			xt = append(xt, minor...)
		}
	} else {
		xt = linearTicks(c.xMin, c.xMax)
		for _, t := range xt {
			grid(c.px(t), top, c.px(t), bottom, false)
		}
	}
	for _, t := range xt {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", c.px(t), bottom+20, esc(c.xFmt(t)))
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", left, top, right-left, bottom-top)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14">%s</text>`+"\n", (left+right)/2, svgH-18, esc(c.xLabel))
	fmt.Fprintf(b, `<text x="22" y="%.1f" text-anchor="middle" font-size="14" transform="rotate(-90 22 %.1f)">%s</text>`+"\n",
		(top+bottom)/2, (top+bottom)/2, esc(c.yLabel))
}

func (c *chart) line(b *strings.Builder, s series, color string) {
	if len(s.pts) == 0 {
		return
	}
	var pts strings.Builder
	for _, p := range s.pts {
		if c.logX && p.x <= 0 {
			continue
		}
		if pts.Len() > 0 {
			pts.WriteByte(' ')
		}
		fmt.Fprintf(&pts, "%.1f,%.1f", c.px(p.x), c.py(p.y))
	}
	dash := ""
	if s.dashed {
		dash = ` stroke-dasharray="8 5"`
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="2.2" stroke-linejoin="round"%s points="%s"/>`+"\n", color, dash, pts.String())
	if s.dots {
		for _, p := range s.pts {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", c.px(p.x), c.py(p.y), color)
		}
	}
}

// legendLineH is the height of one legend entry.
const legendLineH = 19.0

// legendBelowHeight is the room a legend under the plot needs: charts with
// more than two lines (the suite's CDF) would hide data under a box inside.
func (c *chart) legendBelowHeight() float64 {
	if len(c.series) <= 2 {
		return 0
	}
	return legendLineH*float64(len(c.series)) + 10
}

// legend goes in the plot's lower right corner over a white box (one or two
// lines: a time series and its offered rate), or under the plot.
func (c *chart) legend(b *strings.Builder) {
	if len(c.series) < 2 && (len(c.series) == 0 || c.series[0].name == "") {
		return
	}
	width := 0.0
	for _, s := range c.series {
		width = math.Max(width, 7.2*float64(len([]rune(s.name))))
	}
	width += 50
	h := legendLineH*float64(len(c.series)) + 10
	x0, y0 := svgW-padRight-width-10, svgH-padBott-h-10
	if below := c.legendBelowHeight(); below > 0 {
		x0, y0 = padLeft, svgH
	} else {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="white" fill-opacity="0.9" stroke="#999"/>`+"\n", x0, y0, width, h)
	}
	for i, s := range c.series {
		y := y0 + 5 + legendLineH*float64(i) + legendLineH/2
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="8 5"`
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.5"%s/>`+"\n",
			x0+8, y, x0+36, y, palette[i%len(palette)], dash)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x0+42, y+4, esc(s.name))
	}
}

// linearTicks are round values from lo to hi, about six of them.
func linearTicks(lo, hi float64) []float64 {
	step := niceStep((hi - lo) / 6)
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, math.Round(t/step)*step)
	}
	return out
}

// logTicks are the decades (major) and their 2x and 5x (minor) within [lo, hi].
func logTicks(lo, hi float64) (major, minor []float64) {
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		if d >= lo*(1-1e-9) && d <= hi*(1+1e-9) {
			major = append(major, d)
		}
		for _, m := range []float64{2, 5} {
			if v := m * d; v > lo && v < hi {
				minor = append(minor, v)
			}
		}
	}
	return major, minor
}

// niceStep rounds up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// niceCeil rounds up to a value linearTicks ends on.
func niceCeil(x float64) float64 {
	if x <= 0 {
		return 1
	}
	step := niceStep(x / 6)
	return math.Ceil(x/step) * step
}

// fmtNum prints 0.5, 20, 1.5k, 400k, 2M.
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

func esc(s string) string { return html.EscapeString(s) }

// wrapText breaks s at blanks into at most maxLines lines of about width
// characters; the last line takes the rest, cut with "..." if too long.
func wrapText(s string, width, maxLines int) []string {
	var lines []string
	for s != "" {
		if len(lines) == maxLines-1 || len(s) <= width {
			if len(s) > width+width/4 {
				s = s[:width+width/4-3] + "..."
			}
			return append(lines, s)
		}
		cut := strings.LastIndexByte(s[:width], ' ')
		if cut <= 0 {
			cut = width
		}
		lines = append(lines, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	return lines
}
