package cardhtml

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The chart is drawn in a fixed coordinate space; the SVG scales to the card.
const (
	chartWidth  = 480.0
	chartLeft   = 44.0
	chartRight  = 12.0
	chartTop    = 12.0
	chartBottom = 24.0
	maxXLabels  = 6
	maxSeries   = 8
)

// point is one data value of a chart.
type point struct {
	x, series string
	y         float64
}

// chart draws a VChart line, area or bar spec as an inline SVG, from its data
// values alone: no script, no styling from the spec.
func (r *renderer) chart(el map[string]any) {
	spec, _ := el["chart_spec"].(map[string]any)
	typ := str(spec["type"])
	if typ != "line" && typ != "bar" && typ != "area" {
		r.notice(fmt.Sprintf("chart type %s is not rendered by this console", describe(spec["type"])))
		return
	}
	pts := chartPoints(spec)
	if len(pts) == 0 {
		r.notice("chart has no numeric data to draw")
		return
	}
	var xs, series []string
	lo, hi := 0.0, 0.0
	for i, p := range pts {
		if !slices.Contains(xs, p.x) {
			xs = append(xs, p.x)
		}
		if !slices.Contains(series, p.series) && len(series) < maxSeries {
			series = append(series, p.series)
		}
		if i == 0 || p.y < lo {
			lo = min(p.y, 0)
		}
		hi = max(hi, p.y)
	}
	lo, hi, step := niceScale(lo, hi)
	height := chartWidth / aspect(str(el["aspect_ratio"]))
	plotW, plotH := chartWidth-chartLeft-chartRight, height-chartTop-chartBottom
	band := plotW / float64(len(xs))
	xAt := func(x string) float64 { return chartLeft + band*(float64(slices.Index(xs, x))+0.5) }
	yAt := func(y float64) float64 { return chartTop + plotH*(hi-y)/(hi-lo) }

	r.w(`<figure class="fc-chart">`)
	if title := text(field(spec, "title")); title != "" {
		r.w(`<figcaption>`)
		r.esc(title)
		r.w(`</figcaption>`)
	}
	r.w(fmt.Sprintf(`<svg viewBox="0 0 %s %s" role="img" data-chart-type="%s">`, num(chartWidth), num(height), typ))
	// Counted, not stepped by float: a huge range must not loop for ever.
	for k := 0; k <= 8; k++ {
		y := lo + step*float64(k)
		if !(y <= hi+step/2) {
			break
		}
		r.w(fmt.Sprintf(`<line class="fc-grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(chartLeft), num(yAt(y)), num(chartWidth-chartRight), num(yAt(y))))
		r.w(fmt.Sprintf(`<text class="fc-axis" x="%s" y="%s" text-anchor="end">%s</text>`, num(chartLeft-6), num(yAt(y)+4), num(y)))
	}
	every := (len(xs) + maxXLabels - 1) / maxXLabels
	for i, x := range xs {
		if i%every == 0 || i == len(xs)-1 {
			r.w(fmt.Sprintf(`<text class="fc-axis" x="%s" y="%s" text-anchor="middle">`, num(xAt(x)), num(height-6)))
			r.esc(x)
			r.w(`</text>`)
		}
	}
	for k, s := range series {
		var line []string
		for _, p := range pts {
			if p.series == s {
				line = append(line, num(xAt(p.x))+","+num(yAt(p.y)))
			}
		}
		cls := "fc-series fc-series-" + strconv.Itoa(k)
		switch typ {
		case "area":
			base := num(yAt(max(lo, 0)))
			first, last := strings.Split(line[0], ",")[0], strings.Split(line[len(line)-1], ",")[0]
			r.w(`<polygon class="` + cls + ` fc-area" points="` + first + "," + base + " " + strings.Join(line, " ") + " " + last + "," + base + `"/>`)
			fallthrough
		case "line":
			r.w(`<polyline class="` + cls + `" points="` + strings.Join(line, " ") + `"/>`)
		}
	}
	barW := band * 0.7 / float64(len(series))
	for _, p := range pts {
		k := slices.Index(series, p.series)
		if k < 0 {
			continue
		}
		cls := "fc-series-" + strconv.Itoa(k)
		if typ == "bar" {
			x := xAt(p.x) - band*0.35 + barW*float64(k)
			top, bottom := yAt(max(p.y, 0)), yAt(min(p.y, 0))
			r.w(fmt.Sprintf(`<rect class="fc-bar %s" x="%s" y="%s" width="%s" height="%s">`, cls, num(x), num(top), num(barW), num(bottom-top)))
		} else {
			r.w(fmt.Sprintf(`<circle class="fc-point %s" cx="%s" cy="%s" r="2.5">`, cls, num(xAt(p.x)), num(yAt(p.y))))
		}
		r.w(`<title>`)
		if p.series != "" {
			r.esc(p.series + " ")
		}
		r.esc(p.x + ": " + num(p.y))
		r.w(`</title>`)
		if typ == "bar" {
			r.w(`</rect>`)
		} else {
			r.w(`</circle>`)
		}
	}
	r.w(`</svg></figure>`)
}

// chartPoints reads the values of the spec's data (an array of data sets or
// one) through xField, yField and seriesField; a value without a number for
// yField is skipped.
func chartPoints(spec map[string]any) []point {
	xf, yf, sf := firstField(spec["xField"]), firstField(spec["yField"]), firstField(spec["seriesField"])
	sets, ok := spec["data"].([]any)
	if !ok {
		sets = []any{spec["data"]}
	}
	var pts []point
	for _, set := range sets {
		values, _ := field(set, "values").([]any)
		for _, v := range values {
			y, err := strconv.ParseFloat(str(field(v, yf)), 64)
			if err != nil || math.IsInf(y, 0) || math.IsNaN(y) {
				continue
			}
			pts = append(pts, point{x: str(field(v, xf)), series: str(field(v, sf)), y: y})
		}
	}
	return pts
}

// firstField is a field name given as a string or as a list of names.
func firstField(v any) string {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return str(l[0])
	}
	return str(v)
}

// niceScale widens [lo, hi] to round gridlines, about four of them.
func niceScale(lo, hi float64) (float64, float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

// aspect is the width over height of an aspect_ratio such as "2:1"; Feishu's
// default on desktop is 16:9.
func aspect(s string) float64 {
	w, h, ok := strings.Cut(s, ":")
	a, errA := strconv.Atoi(w)
	b, errB := strconv.Atoi(h)
	if !ok || errA != nil || errB != nil || a < 1 || b < 1 || a > 32 || b > 32 {
		return 16.0 / 9
	}
	return math.Min(4, math.Max(0.5, float64(a)/float64(b)))
}

// num writes a coordinate or value compactly.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }
