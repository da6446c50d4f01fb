package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/seed"
)

// seedCmd fills the data dir with the demo instance (--demo) or removes
// it (--reset). The server must be stopped. The demo is made with the
// built-in provider only, whatever keys are set: nothing is billed, and
// its search index uses the built-in embedder.
func seedCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "fill the data dir with the demo instance (idempotent)")
	reset := fs.Bool("reset", false, "remove the demo instance: store, indexes and uploads (refused if other accounts exist)")
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	if *demo == *reset {
		return errors.New("usage: penny seed --demo | --reset")
	}
	ctx, cancel := signalContext()
	defer cancel()
	if *reset {
		if err := seed.Reset(ctx, cfg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed the demo instance from %s\n", cfg.DataDir)
		return nil
	}
	st, err := app.OpenIdleStore(cfg) // a clear error while serving
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	// The demo is built offline: configured providers would bill its
	// fifty questions, and the index would bind to their embedding model.
	cfg.Providers.OpenAIKey, cfg.Providers.AnthropicKey = "", ""
	cfg.Providers.CloudflareAccountID, cfg.Providers.CloudflareToken = "", ""
	cfg.Providers.OllamaURL, cfg.Providers.EmbedModel, cfg.Providers.ForceProvider = "off", "auto", ""
	cfg.Providers.Routes = nil
	cfg.Providers.ProbeInterval = 0
	if cfg.LogLevel == "info" {
		cfg.LogLevel = "warn" // the summary says what happened
	}
	a, err := app.New(ctx, cfg, app.NewLogger(cfg, stderr), version)
	if err != nil {
		return err
	}
	sum, err := seed.Demo(ctx, a)
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if sum.Already {
		fmt.Fprintf(stdout, "the demo instance is already in %s (penny seed --reset removes it)\n", cfg.DataDir)
		return nil
	}
	fmt.Fprintf(stdout, "demo instance ready in %s (%s): %d accounts, %d documents, %d chats with %d messages (%d rated), %d ledger entries over 30 days\n",
		cfg.DataDir, sum.Took.Round(1e6), sum.Users, sum.Documents, sum.Chats, sum.Messages, sum.Feedback, sum.LedgerEntries)
	fmt.Fprintf(stdout, "sign in as ada@%s (admin) or alan@%s (member), password %q\n", seed.Domain, seed.Domain, seed.Password)
	return nil
}
