package documents

import (
	"strings"
	"unicode"

	"github.com/penny-dev/penny/providers"
)

// Span is one chunk of a text: Text == source[Start:End] (byte offsets).
type Span struct {
	Heading string
	Text    string
	Start   int
	End     int
	Tokens  int
}

// Chunker splits text into spans of about Target tokens; neighbouring
// spans of one section share about Overlap tokens. Markdown is split at
// headings first (never across one), each span carrying its heading path
// ("Guide > Install"). Spans break at paragraphs, then sentences, then
// words, in that order of preference.
type Chunker struct {
	Target  int
	Overlap int
}

// unit is a sentence (or a run of words of an over-long sentence); para
// marks the last unit of a paragraph, the preferred place to cut.
type unit struct {
	start, end, tokens int
	para               bool
}

// Split returns the spans of text.
func (c Chunker) Split(text string, markdown bool) []Span {
	var out []Span
	for _, sec := range sections(text, markdown) {
		units := c.units(text, sec.start, sec.end)
		for _, g := range c.pack(units) {
			out = append(out, Span{Heading: sec.heading, Text: text[g.start:g.end], Start: g.start, End: g.end, Tokens: g.tokens})
		}
	}
	return out
}

type section struct {
	heading    string
	start, end int
}

// sections splits Markdown at ATX headings outside fenced code; plain text
// is one section.
func sections(text string, markdown bool) []section {
	if !markdown {
		return []section{{start: 0, end: len(text)}}
	}
	var out []section
	var path []string // heading text per level (index 0 = level 1)
	cur := section{}
	inFence := false
	for off := 0; off < len(text); {
		nl := strings.IndexByte(text[off:], '\n')
		lineEnd := len(text)
		if nl >= 0 {
			lineEnd = off + nl
		}
		line := strings.TrimRight(text[off:lineEnd], "\r")
		trimmed := strings.TrimLeft(line, " ")
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			inFence = !inFence
		} else if level, title, ok := atxHeading(line); ok && !inFence {
			cur.end = off
			if cur.end > cur.start {
				out = append(out, cur)
			}
			path = append(path[:min(level-1, len(path))], title)
			for len(path) < level { // skipped levels (# then ###)
				path = append(path[:len(path)-1], "", title)
			}
			cur = section{heading: joinPath(path), start: off}
		}
		off = lineEnd + 1
	}
	cur.end = len(text)
	if cur.end > cur.start {
		out = append(out, cur)
	}
	return out
}

func joinPath(p []string) string {
	var parts []string
	for _, s := range p {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " > ")
}

func atxHeading(line string) (int, string, bool) {
	if len(line)-len(strings.TrimLeft(line, " ")) > 3 {
		return 0, "", false
	}
	line = strings.TrimLeft(line, " ")
	level := 0
	for level < len(line) && line[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(line) && line[level] != ' ' && line[level] != '\t') {
		return 0, "", false
	}
	title := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(line[level:]), "#"))
	if title == "" {
		return 0, "", false
	}
	return level, title, true
}

// units breaks [start,end) into sentences, marking paragraph ends, and
// any sentence over Target into word runs.
func (c Chunker) units(text string, start, end int) []unit {
	var out []unit
	for _, p := range splitTrim(text, start, end, paragraphBreaks(text, start, end)) {
		for _, s := range splitTrim(text, p.start, p.end, sentenceBreaks(text, p.start, p.end)) {
			if s.tokens <= c.Target {
				out = append(out, s)
			} else {
				out = append(out, c.wordRuns(text, s)...)
			}
		}
		out[len(out)-1].para = true
	}
	return out
}

// splitTrim cuts [start,end) at the break offsets and trims each piece of
// surrounding white space, dropping empty pieces.
func splitTrim(text string, start, end int, breaks []int) []unit {
	var out []unit
	prev := start
	for _, b := range append(breaks, end) {
		s, e := prev, b
		for s < e && isSpace(text[s]) {
			s++
		}
		for e > s && isSpace(text[e-1]) {
			e--
		}
		if e > s {
			out = append(out, unit{start: s, end: e, tokens: providers.EstimateTokens(text[s:e])})
		}
		prev = b
	}
	return out
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\r' || b == '\t' }

func paragraphBreaks(text string, start, end int) []int {
	var out []int
	for i := start; i < end; {
		j := strings.Index(text[i:end], "\n\n")
		if j < 0 {
			break
		}
		out = append(out, i+j)
		i += j + 2
	}
	return out
}

func sentenceBreaks(text string, start, end int) []int {
	var out []int
	for i := start; i < end-1; i++ {
		if text[i] == '\n' || ((text[i] == '.' || text[i] == '!' || text[i] == '?') && isSpace(text[i+1])) {
			out = append(out, i+1)
		}
	}
	return out
}

// wordRuns splits an over-long sentence at spaces into runs of about
// Target tokens (a run with no space at all is cut at a rune boundary).
func (c Chunker) wordRuns(text string, u unit) []unit {
	maxBytes := c.Target * 4
	var out []unit
	for s := u.start; s < u.end; {
		e := min(s+maxBytes, u.end)
		if e < u.end {
			if sp := strings.LastIndexFunc(text[s:e], unicode.IsSpace); sp > 0 {
				e = s + sp
			} else {
				for e > s && e < len(text) && !utf8Start(text[e]) {
					e--
				}
			}
		}
		piece := splitTrim(text, s, e, nil)
		out = append(out, piece...)
		s = e
		for s < u.end && isSpace(text[s]) {
			s++
		}
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

type group struct{ start, end, tokens int }

// pack joins units greedily up to Target tokens, cutting at the last
// paragraph end when one leaves the group at least half full; each new
// group starts with the trailing units of the previous one that fit in
// Overlap.
func (c Chunker) pack(units []unit) []group {
	var out []group
	for i := 0; i < len(units); {
		j, tokens := i+1, units[i].tokens
		for j < len(units) && tokens+units[j].tokens <= c.Target {
			tokens += units[j].tokens
			j++
		}
		if j < len(units) {
			// Prefer a paragraph end in the second half of the group.
			for k, t := j, tokens; k-1 > i; k-- {
				if units[k-1].para && t >= c.Target/2 {
					j, tokens = k, t
					break
				}
				t -= units[k-1].tokens
			}
		}
		out = append(out, group{start: units[i].start, end: units[j-1].end, tokens: tokens})
		if j == len(units) {
			break
		}
		// Step back over units worth at most Overlap tokens, but always
		// move forward by at least one unit.
		next, shared := j, 0
		for next-1 > i && shared+units[next-1].tokens <= c.Overlap {
			next--
			shared += units[next].tokens
		}
		i = next
	}
	return out
}
