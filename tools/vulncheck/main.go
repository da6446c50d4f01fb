// Command vulncheck runs govulncheck over penny and fails on any known
// vulnerability that penny's code can reach, unless allowed.txt lists it
// with the reason it does not apply.
//
// The vulnerability database is built from the golang.org/x/vulndb module,
// which the Go module proxy serves, with that module's own indexdb command:
// vuln.go.dev, where govulncheck looks by default, is not reachable from
// every build machine (it is not from ours).
//
//	go run ./tools/vulncheck [-vulndb version] [packages]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const govulncheck = "golang.org/x/vuln/cmd/govulncheck@v1.9.0"

func main() {
	log.SetFlags(0)
	log.SetPrefix("vulncheck: ")
	version := flag.String("vulndb", "latest", "version of the golang.org/x/vulndb module to build the database from")
	allowFile := flag.String("allow", "tools/vulncheck/allowed.txt", "findings that do not apply, one OSV id and its reason a line")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	if err := run(*version, *allowFile, pkgs); err != nil {
		log.Fatal(err)
	}
}

// run checks pkgs; the temporary database is removed whatever the outcome.
func run(version, allowFile string, pkgs []string) error {
	allowed, err := readAllowed(allowFile)
	if err != nil {
		return err
	}
	db, err := buildDB(version)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(db)) // the temporary directory buildDB made

	cmd := exec.Command("go", append([]string{"run", govulncheck, "-db", "file://" + db, "-format", "json"}, pkgs...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	found, err := reachable(out)
	if err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("govulncheck: %w", err)
	}
	var failing []string
	for _, id := range slices.Sorted(maps.Keys(found)) {
		if why, ok := allowed[id]; ok {
			fmt.Printf("allowed  %s  %s\n          (%s)\n", id, found[id], why)
			continue
		}
		fmt.Printf("FOUND    %s  %s\n", id, found[id])
		failing = append(failing, id)
	}
	for id := range allowed {
		if _, ok := found[id]; !ok {
			fmt.Printf("note: %s is allowed but no longer found; remove it from %s\n", id, allowFile)
		}
	}
	if len(failing) > 0 {
		return fmt.Errorf("%d known vulnerabilities reachable from penny's code: %s (see https://pkg.go.dev/vuln/<id>)", len(failing), strings.Join(failing, ", "))
	}
	fmt.Printf("vulncheck: no known vulnerability reachable beyond the %d allowed (database: golang.org/x/vulndb@%s)\n", len(allowed), version)
	return nil
}

// buildDB downloads the vulndb module and indexes its OSV records into a
// database directory govulncheck reads with -db file://.
func buildDB(version string) (string, error) {
	raw, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+version).Output()
	if err != nil {
		return "", fmt.Errorf("download golang.org/x/vulndb@%s: %w", version, stderrOf(err))
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(raw, &mod); err != nil {
		return "", err
	}
	out, err := os.MkdirTemp("", "vulndb-")
	if err != nil {
		return "", err
	}
	db := filepath.Join(out, "db")
	index := exec.Command("go", "run", "golang.org/x/vulndb/cmd/indexdb@"+mod.Version,
		"-vulns", filepath.Join(mod.Dir, "data", "osv"), "-out", db)
	index.Stdout, index.Stderr = os.Stderr, os.Stderr
	if err := index.Run(); err != nil {
		os.RemoveAll(out)
		return "", fmt.Errorf("index the vulnerability database: %w", err)
	}
	fmt.Printf("vulncheck: database from golang.org/x/vulndb@%s\n", mod.Version)
	return db, nil
}

// reachable reads govulncheck's JSON stream and returns, per OSV id, the
// first finding whose trace reaches a function (not only an imported
// package or a required module), as "module@version: function".
func reachable(r io.Reader) (map[string]string, error) {
	type frame struct{ Module, Version, Package, Function, Receiver string }
	type message struct {
		Finding *struct {
			OSV   string  `json:"osv"`
			Trace []frame `json:"trace"`
		} `json:"finding"`
	}
	found := map[string]string{}
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return found, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read govulncheck's output: %w", err)
		}
		if m.Finding == nil || len(m.Finding.Trace) == 0 || m.Finding.Trace[0].Function == "" {
			continue
		}
		if _, ok := found[m.Finding.OSV]; !ok {
			f := m.Finding.Trace[0]
			fn := f.Function
			if f.Receiver != "" {
				fn = f.Receiver + "." + fn
			}
			found[m.Finding.OSV] = fmt.Sprintf("%s@%s: %s.%s", f.Module, f.Version, f.Package, fn)
		}
	}
}

// readAllowed reads "GO-YYYY-NNNN  reason" lines; # starts a comment.
func readAllowed(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	allowed := map[string]string{}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, why, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(id, "GO-") || strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s:%d: want an OSV id (GO-...) and the reason it does not apply", path, i+1)
		}
		allowed[id] = strings.TrimSpace(why)
	}
	return allowed, nil
}

func stderrOf(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
