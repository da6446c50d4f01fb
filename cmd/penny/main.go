// Command penny is the self-hosted AI chat, document Q&A and
// OpenAI-compatible gateway. Run `penny help` for the commands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/penny-dev/penny/app"
	"github.com/penny-dev/penny/app/config"
	"github.com/penny-dev/penny/app/costs"
	"github.com/penny-dev/penny/app/httpapi"
	"github.com/penny-dev/penny/storage"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `penny — self-hosted AI chat and document Q&A that spends as little as it can

Usage:
  penny [serve] [flags]                     start the server (default)
  penny user create --email E [--admin]     create an account (password from
                                            PENNY_USER_PASSWORD or standard input)
  penny ingest [--collection NAME] PATH...   upload files and folders to a running penny
                                            (PENNY_URL, PENNY_API_KEY), with progress
  penny eval --dataset DIR [--split test]   retrieval quality (nDCG@10, recall@100) on a
                                            BEIR-layout dataset, in a temporary data dir
  penny costs report --month 2026-11 [--format md|csv]
                                            the month's savings report, from the ledger
  penny providers check                     ping every configured provider and make
                                            one tiny call each (billed, a few tokens)
  penny doctor                              check configuration, data dir, store, indexes
                                            and providers, and say what to fix
  penny backup --to FILE                    back up the store and uploads (while serving:
                                            through PENNY_URL with an admin's PENNY_API_KEY)
  penny restore --from FILE [--force]       restore a backup (server stopped)
  penny compact                             shrink the store file (server stopped)
  penny reindex                             rebuild the search indexes from the store
                                            (server stopped)
  penny seed --demo | --reset               a demo instance with users, chats, documents
                                            and 30 days of costs; or remove it
  penny migrate up | status                 apply (or list) the PostgreSQL schema migrations
                                            of scale-out mode (PENNY_DATABASE_URL)
  penny migrate-data --from DIR [--to URL]  copy an embedded install (data dir) into
                                            PostgreSQL, resumable, verified by checksums
  penny version                             print the version

Run "penny serve -h" for every setting; each flag also has a PENNY_*
environment variable (see docs/configuration.md).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stderr, getenv)
	case "user":
		err = user(args, stdin, stdout, stderr, getenv)
	case "eval":
		err = evalCmd(args, stdout, stderr, getenv)
	case "ingest":
		err = ingest(args, stdout, stderr, getenv)
	case "costs":
		err = costsCmd(args, stdout, stderr, getenv)
	case "providers":
		err = providersCmd(args, stdout, stderr, getenv)
	case "backup":
		err = backupCmd(args, stdout, stderr, getenv)
	case "restore":
		err = restoreCmd(args, stdout, stderr, getenv)
	case "compact":
		err = compactCmd(args, stdout, stderr, getenv)
	case "reindex":
		err = reindexCmd(args, stdout, stderr, getenv)
	case "doctor":
		err = doctorCmd(args, stdout, stderr, getenv)
	case "seed":
		err = seedCmd(args, stdout, stderr, getenv)
	case "migrate":
		err = migrateCmd(args, stdout, stderr, getenv)
	case "migrate-data":
		err = migrateDataCmd(args, stdout, stderr, getenv)
	case "version":
		fmt.Fprintf(stdout, "penny %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "penny: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "penny %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func serve(args []string, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args, getenv)
	if err != nil {
		return err
	}
	logger := app.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, logger, version)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = a.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return httpapi.Serve(ctx, a, ln)
}

func user(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: penny user create --email E [--admin]")
	}
	fs := flag.NewFlagSet("user create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "email of the new account (required)")
	admin := fs.Bool("admin", false, "make the account an admin")
	cfg, err := config.Load(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	if *email == "" {
		return fmt.Errorf("--email is required")
	}
	password := getenv("PENNY_USER_PASSWORD")
	if password == "" {
		fmt.Fprintln(stderr, "password (input is read from standard input):")
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	role := storage.RoleMember
	if *admin {
		role = storage.RoleAdmin
	}
	u, err := app.CreateUser(context.Background(), cfg, app.NewLogger(cfg, stderr), *email, password, role)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
	return nil
}

func providersCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("usage: penny providers check")
	}
	fs := flag.NewFlagSet("providers check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := config.Load(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	return app.CheckProviders(context.Background(), cfg, app.NewLogger(cfg, io.Discard), stdout)
}

func costsCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "report" {
		return fmt.Errorf("usage: penny costs report --month 2026-11 [--format md|csv]")
	}
	fs := flag.NewFlagSet("costs report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	monthFlag := fs.String("month", time.Now().UTC().Format("2006-01"), "month to report, YYYY-MM")
	format := fs.String("format", "md", "md or csv")
	cfg, err := config.Load(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	month, err := costs.ParseMonth(*monthFlag)
	if err != nil {
		return err
	}
	return app.CostsReport(context.Background(), cfg, month, *format, stdout)
}
