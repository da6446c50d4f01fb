package local

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/penny-dev/penny/providers"
)

// ChatModel is the id of the built-in extractive answerer.
const ChatModel = "penny-local-extractive"

// NoModelAnswer is what chat says when there are no documents to answer
// from and no generative model is configured.
const NoModelAnswer = "No generative model is configured, so penny can only answer questions from your documents. " +
	"Upload a document and ask about it, or add a provider and restart penny: set OPENAI_API_KEY, ANTHROPIC_API_KEY, " +
	"or CLOUDFLARE_ACCOUNT_ID with CLOUDFLARE_API_TOKEN, or run Ollama on localhost:11434."

// UnavailableAnswer is what chat says, without documents, when models are
// configured but none could answer just now.
const UnavailableAnswer = "The configured models are unavailable right now, and penny's built-in offline provider can only answer " +
	"questions from your documents. Try again in a moment."

// NothingFoundAnswer is the answer when retrieval found no passage.
const NothingFoundAnswer = "I could not find anything about that in your documents."

const (
	// minScore is the least share of the question's weight a sentence
	// must cover; keepRatio keeps sentences within this share of the best.
	minScore           = 0.35
	keepRatio          = 0.75
	maxSentences       = 3
	maxPerPassage      = 2
	minSentenceLetters = 12
	// maxTitleWords: a line of at most this many words without a full
	// stop is a heading, not a statement.
	maxTitleWords = 8
)

type sentence struct {
	n, pos int // passage number, position in it
	text   string
	terms  map[string]struct{}
	score  float64
}

// answer builds an extractive answer: the sentences of the passages that
// best cover the question's terms, each followed by its [n]. A term counts
// by how rare it is among the candidate sentences (a word every sentence
// shares, such as the document's subject, says little), and only sentences
// scoring close to the best one are kept.
func answer(question string, passages []providers.Passage) string {
	if len(passages) == 0 {
		return NothingFoundAnswer
	}
	var all []sentence
	df := map[string]int{}
	for _, p := range passages {
		for pos, s := range Sentences(p.Text) {
			if !statement(s) {
				continue
			}
			terms := map[string]struct{}{}
			for _, t := range Terms(s) {
				terms[t] = struct{}{}
			}
			for t := range terms {
				df[t]++
			}
			all = append(all, sentence{n: p.N, pos: pos, text: s, terms: terms})
		}
	}
	weight := map[string]float64{}
	var total float64
	for _, t := range Terms(question) {
		if _, dup := weight[t]; dup {
			continue
		}
		weight[t] = math.Log(1 + float64(len(all)+1)/float64(df[t]+1))
		total += weight[t]
	}
	best := 0.0
	for i := range all {
		for t, w := range weight {
			if _, ok := all[i].terms[t]; ok {
				all[i].score += w / total
			}
		}
		best = max(best, all[i].score)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score > all[j].score })
	var picked []sentence
	perPassage := map[int]int{}
	for _, s := range all {
		if len(picked) == maxSentences || s.score < minScore || s.score < keepRatio*best {
			break
		}
		if perPassage[s.n] == maxPerPassage {
			continue
		}
		perPassage[s.n]++
		picked = append(picked, s)
	}
	if len(picked) == 0 {
		closest := ""
		for _, s := range Sentences(passages[0].Text) {
			if closest == "" || !statement(closest) {
				closest = s
			}
		}
		if closest == "" {
			return NothingFoundAnswer
		}
		return fmt.Sprintf("I found no passage that answers this directly. The closest is: %s [%d]", closest, passages[0].N)
	}
	// Read in document order: by passage, then position.
	sort.SliceStable(picked, func(i, j int) bool {
		if picked[i].n != picked[j].n {
			return picked[i].n < picked[j].n
		}
		return picked[i].pos < picked[j].pos
	})
	parts := make([]string, len(picked))
	for i, s := range picked {
		parts[i] = fmt.Sprintf("%s [%d]", s.text, s.n)
	}
	return strings.Join(parts, " ")
}

// statement reports whether a sentence can be part of an answer: long
// enough, not a question (an FAQ's heading is not its answer), and not a
// title — a short line without a full stop.
func statement(s string) bool {
	if letters(s) < minSentenceLetters || strings.HasSuffix(s, "?") {
		return false
	}
	last := s[len(s)-1]
	return last == '.' || last == '!' || last == ';' || len(strings.Fields(s)) > maxTitleWords
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// Sentences splits text into sentences: at ., ! or ? followed by a space,
// and at line breaks that end a block (Markdown lists and headings are
// lines). A line break inside a sentence — hard-wrapped text, the lines of
// a PDF page — is read as a space. Markdown markers at the start of a line
// are dropped.
func Sentences(text string) []string {
	var out []string
	for _, line := range logicalLines(text) {
		start := 0
		for i := 0; i < len(line); i++ {
			c := line[i]
			if (c == '.' || c == '!' || c == '?') && (i+1 == len(line) || line[i+1] == ' ') {
				if s := strings.TrimSpace(line[start : i+1]); s != "" {
					out = append(out, s)
				}
				start = i + 1
			}
		}
		if s := strings.TrimSpace(line[start:]); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// logicalLines joins the physical lines of text that continue one
// another: a line continues the previous one when the previous does not
// end a sentence and this one starts in lower case or with a digit, and
// neither is a Markdown block line (heading, list item, quote, table,
// fence) nor blank.
func logicalLines(text string) []string {
	var out []string
	prevBlock := true
	for _, raw := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(raw)
		block := markdownBlock(trimmed)
		line := strings.TrimSpace(strings.TrimLeft(trimmed, "#>*-+|` "))
		if n := len(out); n > 0 && line != "" && !block && !prevBlock && continues(out[n-1], line) {
			out[n-1] += " " + line
			continue
		}
		out = append(out, line)
		prevBlock = block || line == ""
	}
	return out
}

// markdownBlock reports whether a trimmed line starts a Markdown block of
// its own.
func markdownBlock(line string) bool {
	if line == "" {
		return false
	}
	switch line[0] {
	case '#', '>', '*', '-', '+', '|', '`', '~':
		return true
	}
	if i := strings.IndexAny(line, ".)"); i > 0 && i <= 3 && i+1 < len(line) && line[i+1] == ' ' {
		if _, err := strconv.Atoi(line[:i]); err == nil {
			return true // "1. item"
		}
	}
	return false
}

// continues reports whether next reads as the rest of prev's sentence.
func continues(prev, next string) bool {
	if prev == "" {
		return false
	}
	switch prev[len(prev)-1] {
	case '.', '!', '?', ':':
		return false
	}
	r, _ := utf8.DecodeRuneInString(next)
	return unicode.IsLower(r) || unicode.IsDigit(r) || r == '(' || r == '"' || r == '\''
}

func lastUserMessage(msgs []providers.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content
		}
	}
	return ""
}

// Chat answers a document question extractively, or explains that no
// generative model is configured.
func (p *Provider) Chat(ctx context.Context, req providers.ChatRequest) (providers.ChatResponse, error) {
	if err := ctx.Err(); err != nil {
		return providers.ChatResponse{}, err
	}
	text := NoModelAnswer
	if p.fallback {
		text = UnavailableAnswer
	}
	if req.Retrieval {
		text = answer(lastUserMessage(req.Messages), req.Passages)
	}
	in := 0
	for _, m := range req.Messages {
		in += providers.EstimateTokens(m.Content)
	}
	for _, ps := range req.Passages {
		in += providers.EstimateTokens(ps.Text)
	}
	return providers.ChatResponse{Text: text, Usage: providers.Usage{InputTokens: in, OutputTokens: providers.EstimateTokens(text)}}, nil
}

// ChatStream delivers the same answer word by word.
func (p *Provider) ChatStream(ctx context.Context, req providers.ChatRequest, onDelta func(string) error) (providers.ChatResponse, error) {
	resp, err := p.Chat(ctx, req)
	if err != nil {
		return resp, err
	}
	words := strings.SplitAfter(resp.Text, " ")
	for _, w := range words {
		if err := ctx.Err(); err != nil {
			return providers.ChatResponse{}, err
		}
		if err := onDelta(w); err != nil {
			return providers.ChatResponse{}, err
		}
	}
	return resp, nil
}
