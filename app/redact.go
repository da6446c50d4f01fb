package app

import (
	"fmt"
	"log/slog"
	"strings"
)

// Redactor removes the configured secrets (provider keys, tokens, database
// passwords) from text: a provider that echoes its key in an error message
// must not put it in penny's log or answers.
type Redactor struct{ r *strings.Replacer }

// minSecret is the shortest value redacted (shorter ones would blank out
// ordinary words).
const minSecret = 6

// NewRedactor redacts each of secrets.
func NewRedactor(secrets []string) Redactor {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= minSecret {
			pairs = append(pairs, s, "[redacted]")
		}
	}
	if len(pairs) == 0 {
		return Redactor{}
	}
	return Redactor{r: strings.NewReplacer(pairs...)}
}

// String returns s without the secrets.
func (x Redactor) String(s string) string {
	if x.r == nil {
		return s
	}
	return x.r.Replace(s)
}

// redactAttr is a slog ReplaceAttr that redacts strings, errors and
// Stringers (the message too).
func redactAttr(x Redactor) func([]string, slog.Attr) slog.Attr {
	if x.r == nil {
		return nil
	}
	return func(_ []string, a slog.Attr) slog.Attr {
		switch a.Value.Kind() {
		case slog.KindString:
			a.Value = slog.StringValue(x.String(a.Value.String()))
		case slog.KindAny:
			switch v := a.Value.Any().(type) {
			case error:
				a.Value = slog.StringValue(x.String(v.Error()))
			case fmt.Stringer:
				a.Value = slog.StringValue(x.String(v.String()))
			case []string:
				out := make([]string, len(v))
				for i, s := range v {
					out[i] = x.String(s)
				}
				a.Value = slog.AnyValue(out)
			}
		}
		return a
	}
}
