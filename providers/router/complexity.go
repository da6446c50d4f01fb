package router

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/penny-dev/penny/providers"
)

// Tiers.
const (
	TierSmall  = "small"
	TierMedium = "medium"
	TierLarge  = "large"
)

var (
	codeBlockRE = regexp.MustCompile("```")
	codeLineRE  = regexp.MustCompile(`(?m)^\s*(func|def|class|import|package|public|private|SELECT|#include|const|let|var)\b|=>|\w+\([^)]*\)\s*\{`)
	mathRE      = regexp.MustCompile(`(?i)\d+\s*[\^*/=<>]\s*\d+|\b(integral|derivative|differentiate|equation|theorem|prove|proof|probability|probabilities|matrix|eigen\w*|polynomial|variance|regression|lemma|bayes\w*|logarithm|linear program)\b|[∑∫√π≤≥]`)
	// taskCues ask for generated text (an explanation, a summary, code):
	// more than a lookup.
	taskCues = []string{"summar", "explain", "write", "draft", "compare", "describe", "rewrite", "suggest", "outline",
		"create", "discuss", "propose", "identify", "solve", "consider", "paragraph", "pros and cons", "key takeaways",
		"risks", "why does", "why do ", "why might", "how does", "turn these"}
	// deepCues signal multi-step reasoning; strong ones weigh 2.
	strongCues = []string{"design", "prove", "proof", "derive", "architect", "root cause", "trade-off", "tradeoff",
		"step by step", "critique", "refactor"}
	deepCues = []string{"analy", "evaluate", "strateg", "optimi", "debug", "implication", "justif", "plan ", "recommend",
		"assess", "in detail", "comprehensive", "migrat", "scal", "hypothes", "consequence", "how would you",
		"how you would", "implement", "complexity", "formulate", "diagnos", "impact", "reason"}
	enumerationRE = regexp.MustCompile(`(?m)^\s*(\d+[.)]|[-*])\s+\S`)
)

func cues(text string, list []string) []string {
	var found []string
	for _, w := range list {
		if strings.Contains(text, w) {
			found = append(found, strings.TrimSpace(w))
		}
	}
	return found
}

// Classify sorts a chat request into small, medium or large from its
// features — length, code, math, a request for generated work, multi-step
// reasoning words, several requirements, questions or listed parts,
// conversation depth, retrieved context size — and says why. Scores: 0–1
// small, 2–3 medium, 4+ large.
func Classify(req providers.ChatRequest) (string, []string) {
	question := ""
	turns := 0
	for _, m := range req.Messages {
		if m.Role == "user" {
			question = m.Content
			turns++
		} else if m.Role == "assistant" {
			turns++
		}
	}
	score := 0
	var why []string
	add := func(n int, reason string) {
		score += n
		why = append(why, fmt.Sprintf("%s (+%d)", reason, n))
	}
	lower := strings.ToLower(question)
	tokens := providers.EstimateTokens(question)
	switch {
	case tokens > 400:
		add(3, fmt.Sprintf("long prompt, ~%d tokens", tokens))
	case tokens > 150:
		add(2, fmt.Sprintf("long prompt, ~%d tokens", tokens))
	case tokens > 60:
		add(1, fmt.Sprintf("medium-length prompt, ~%d tokens", tokens))
	}
	if codeBlockRE.MatchString(question) {
		add(2, "code block")
	} else if codeLineRE.MatchString(question) {
		add(1, "code")
	}
	if mathRE.MatchString(question) {
		add(2, "math")
	}
	if task := cues(lower, taskCues); len(task) > 0 {
		n := 2
		if len(task) > 1 {
			n = 3
		}
		add(n, "asks for generated work: "+strings.Join(task[:min(len(task), 3)], ", "))
	}
	strong, deep := cues(lower, strongCues), cues(lower, deepCues)
	if w := min(2*len(strong)+len(deep), 4); w > 0 {
		all := append(strong, deep...)
		add(w, "multi-step reasoning: "+strings.Join(all[:min(len(all), 4)], ", "))
	}
	if n := strings.Count(question, ",") + strings.Count(question, ";"); n >= 3 {
		add(1, fmt.Sprintf("several requirements (%d clauses)", n+1))
	}
	if q := strings.Count(question, "?"); q >= 3 {
		add(1, fmt.Sprintf("%d questions in one", q))
	}
	if n := len(enumerationRE.FindAllString(question, -1)); n >= 3 {
		add(2, fmt.Sprintf("%d listed parts", n))
	}
	if turns > 8 {
		add(1, fmt.Sprintf("deep conversation, %d turns", turns))
	}
	ctx := 0
	for _, p := range req.Passages {
		ctx += providers.EstimateTokens(p.Text)
	}
	if ctx > 6000 {
		add(2, fmt.Sprintf("large retrieved context, ~%d tokens", ctx))
	} else if ctx > 2500 {
		add(1, fmt.Sprintf("retrieved context, ~%d tokens", ctx))
	}
	tier := TierSmall
	switch {
	case score >= 4:
		tier = TierLarge
	case score >= 2:
		tier = TierMedium
	}
	if len(why) == 0 {
		why = []string{"short, plain request"}
	}
	return tier, append([]string{fmt.Sprintf("tier %s (complexity score %d)", tier, score)}, why...)
}
