package local

import (
	"strings"
	"unicode"

	snowball "github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
)

// Terms splits s into lower-cased words of letters and digits, drops
// English stop words and stems what is left (Snowball English). It is the
// text analysis of both the embedder and the extractive answerer.
func Terms(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if _, stop := stopWords[w]; stop {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

func stem(w string) string {
	if len(w) <= 3 {
		return w
	}
	env := snowball.NewEnv(w)
	english.Stem(env)
	return env.Current()
}

// stopWords is a compact English stop list (Lucene's plus question words,
// which carry no topic).
var stopWords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(`a an and are as at be but by for if in into is it no not of on or such
		that the their then there these they this to was will with what which who whom whose when where why how
		do does did done can could should would may might must shall i me my we our you your he she him her his its
		them from has have had been being am were so than too very s t about also any all each other some just`) {
		m[w] = struct{}{}
	}
	return m
}()
